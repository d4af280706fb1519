#pragma once
// One connection's bytes, plain TCP or mutual TLS, behind one interface, so the HTTP/2 session
// is compiled once rather than once per stream type. A virtual call per read or write of up to
// 16 KiB costs nothing next to the syscall.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <tuple>

#include "dataplane/proxy/tcp_stats.h"

namespace meshctl::dataplane::proxy {

class ByteStream {
 public:
  using error_code = boost::system::error_code;
  virtual ~ByteStream() = default;
  virtual boost::asio::awaitable<std::tuple<error_code, std::size_t>> read_some(boost::asio::mutable_buffer b) = 0;
  virtual boost::asio::awaitable<std::tuple<error_code, std::size_t>> write(boost::asio::const_buffer b) = 0;
  virtual void close() = 0;
  virtual boost::asio::any_io_executor executor() = 0;
  // Where the connection's bytes are counted as they move (tcp_read_bytes_total,
  // tcp_write_bytes_total); null counts nothing. The series outlives every connection.
  TcpStats::Series* counts = nullptr;
};

template <class S>
class ByteStreamOf final : public ByteStream {
 public:
  explicit ByteStreamOf(S s) : s_(std::move(s)) {}
  boost::asio::awaitable<std::tuple<error_code, std::size_t>> read_some(boost::asio::mutable_buffer b) override {
    auto r = co_await s_.async_read_some(b, boost::asio::as_tuple(boost::asio::use_awaitable));
    if (counts) counts->read_bytes.fetch_add(std::get<1>(r), std::memory_order_relaxed);
    co_return r;
  }
  boost::asio::awaitable<std::tuple<error_code, std::size_t>> write(boost::asio::const_buffer b) override {
    auto r = co_await boost::asio::async_write(s_, b, boost::asio::as_tuple(boost::asio::use_awaitable));
    if (counts) counts->write_bytes.fetch_add(std::get<1>(r), std::memory_order_relaxed);
    co_return r;
  }
  void close() override {
    error_code ignored;
    s_.lowest_layer().close(ignored);
  }
  boost::asio::any_io_executor executor() override { return s_.get_executor(); }
  S& stream() { return s_; }

 private:
  S s_;
};

using TcpByteStream = ByteStreamOf<boost::asio::ip::tcp::socket>;
using TlsByteStream = ByteStreamOf<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>>;

}  // namespace meshctl::dataplane::proxy

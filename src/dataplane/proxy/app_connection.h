#pragma once
// A plaintext connection whose bytes are counted from the kernel's own totals (TCP_INFO) when it
// closes, so the HTTP/1 paths, which read through Beast's buffers, pay nothing per read or write
// for tcp_read_bytes_total and tcp_write_bytes_total.

#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "dataplane/proxy/tcp_stats.h"

namespace meshctl::dataplane::proxy {

// Adds what the kernel received on `s` and what the peer acknowledged to `count`.
void add_kernel_byte_counts(const boost::asio::ip::tcp::socket& s, TcpSeriesGuard& count);

// A kept-alive connection to an application: counted open while the object holds it, its bytes
// added when it closes (explicitly or by destruction).
class AppConnection {
 public:
  AppConnection(boost::asio::ip::tcp::socket s, std::unique_ptr<TcpSeriesGuard> count)
      : sock(std::move(s)), count_(std::move(count)) {}
  AppConnection(AppConnection&&) = default;
  AppConnection& operator=(AppConnection&& other) {
    close();
    sock = std::move(other.sock);
    count_ = std::move(other.count_);
    return *this;
  }
  ~AppConnection() { close(); }

  void close() {
    if (count_ && sock.is_open()) add_kernel_byte_counts(sock, *count_);
    count_.reset();
    boost::system::error_code ignored;
    sock.close(ignored);
  }

  boost::asio::ip::tcp::socket sock;

 private:
  std::unique_ptr<TcpSeriesGuard> count_;
};

}  // namespace meshctl::dataplane::proxy

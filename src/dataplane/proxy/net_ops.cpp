#include "dataplane/proxy/net_ops.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace meshctl::dataplane::proxy {
namespace {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using boost::system::error_code;
using tcp = asio::ip::tcp;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
}  // namespace

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(nothrow);
}

asio::awaitable<bool> wait_readable(tcp::socket& s, std::chrono::steady_clock::time_point deadline) {
  asio::steady_timer timer(s.get_executor());
  timer.expires_at(deadline);
  auto r = co_await (s.async_wait(tcp::socket::wait_read, nothrow) || timer.async_wait(nothrow));
  if (r.index() != 0) co_return false;
  co_return !std::get<0>(std::get<0>(r));
}

asio::awaitable<error_code> connect_with_timeout(tcp::socket& s, const core::net::SocketAddress& to,
                                                 std::chrono::milliseconds timeout) {
  error_code ec;
  const auto addr = asio::ip::make_address(to.ip, ec);
  if (ec) co_return ec;
  asio::steady_timer timer(s.get_executor(), timeout);
  auto r = co_await (s.async_connect(tcp::endpoint(addr, static_cast<unsigned short>(to.port)), nothrow) ||
                     timer.async_wait(nothrow));
  if (r.index() != 0) co_return error_code(asio::error::timed_out);
  ec = std::get<0>(std::get<0>(r));
  if (!ec) s.set_option(tcp::no_delay(true), ec);
  co_return ec;
}

asio::awaitable<error_code> handshake_with_timeout(TlsStream& tls, asio::ssl::stream_base::handshake_type type) {
  asio::steady_timer timer(tls.get_executor(), kTlsHandshakeTimeout);
  auto r = co_await (tls.async_handshake(type, nothrow) || timer.async_wait(nothrow));
  if (r.index() != 0) co_return error_code(asio::error::timed_out);
  co_return std::get<0>(std::get<0>(r));
}

asio::ssl::context adopt(const std::shared_ptr<SSL_CTX>& ctx) {
  SSL_CTX_up_ref(ctx.get());
  return asio::ssl::context(ctx.get());
}

std::string status_cause(const error_code& ec) { return ec == asio::error::timed_out ? "timed out" : ec.message(); }

}  // namespace meshctl::dataplane::proxy

#pragma once
// Socket steps every part of the proxy takes with a deadline: connect, TLS handshake, waiting
// for bytes. Errors come back as values, never exceptions.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "core/net/socket_address.h"

namespace meshctl::dataplane::proxy {

using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

inline constexpr std::chrono::milliseconds kTlsHandshakeTimeout{10000};

boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds d);

// True when `s` has bytes (or EOF) to read before `deadline`.
boost::asio::awaitable<bool> wait_readable(boost::asio::ip::tcp::socket& s,
                                           std::chrono::steady_clock::time_point deadline);

boost::asio::awaitable<boost::system::error_code> connect_with_timeout(boost::asio::ip::tcp::socket& s,
                                                                       const core::net::SocketAddress& to,
                                                                       std::chrono::milliseconds timeout);

boost::asio::awaitable<boost::system::error_code> handshake_with_timeout(
    TlsStream& tls, boost::asio::ssl::stream_base::handshake_type type);

// Asio's context adopts the handle it is given; the identity keeps its own reference.
boost::asio::ssl::context adopt(const std::shared_ptr<SSL_CTX>& ctx);

// "timed out" or the error's message, for logs and the proxy's error header.
std::string status_cause(const boost::system::error_code& ec);

}  // namespace meshctl::dataplane::proxy

#pragma once
// Where the proxy's HTTP requests go, and the connections they ride. Between proxies, requests
// of every HTTP version travel as streams of a few long-lived HTTP/2 connections over mutual TLS
// (one per peer proxy and worker); HTTP/1 requests carry `meshctl-orig-proto: HTTP/1.1` and are
// restored to HTTP/1.1 on the far side. Toward an application (or an unmeshed endpoint) the
// request goes out in the version it arrived in: HTTP/1.1 over kept-alive connections, h2c over
// one multiplexed connection.
//
// Connections and pools belong to the worker thread that made them (a request and the
// connections it uses share a worker), so nothing here locks on the request path.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/identity/identity_client.h"
#include "core/net/socket_address.h"
#include "dataplane/proxy/h2_session.h"
#include "dataplane/proxy/http1.h"
#include "dataplane/proxy/tcp_stats.h"

namespace meshctl::dataplane::proxy {

// Headers the proxies add for each other and remove before the application sees the request.
inline constexpr std::string_view kOrigProtoHeader = "meshctl-orig-proto";
inline constexpr std::string_view kTargetPortHeader = "meshctl-target-port";
inline constexpr std::string_view kProxyErrorHeader = "meshctl-proxy-error";

// Where one request goes.
struct Hop {
  core::net::SocketAddress addr;  // what to dial
  // The peer proxy's identity: mutual TLS and HTTP/2 to it. Empty: plaintext to an application.
  std::string identity;
  int target_port = 0;  // the application port behind the peer proxy
  std::string tcp_labels;  // tcp_* labels of a connection opened for this hop
};

class HttpForwarder {
 public:
  using IdentityFn = std::function<std::shared_ptr<const core::identity::CertifiedIdentity>()>;
  HttpForwarder(IdentityFn identity, TcpStats& tcp, std::chrono::milliseconds connect_timeout);
  ~HttpForwarder();

  // Sends one request along `hop` and returns the answer once its head arrived (or the proxy's
  // own error answer: 502 when the connection or TLS failed, 504 when connecting timed out).
  // `http1` says the request came as HTTP/1.x, which decides how it reaches an application.
  boost::asio::awaitable<Answer> forward(const Hop& hop, RequestHead head, std::shared_ptr<BodyPipe> body, bool http1);

  // Makes the calling worker thread's pools; called once on each worker before it serves.
  void init_worker(const boost::asio::any_io_executor& ex);

  // This worker's shutdown signal: set when the proxy drains.
  Event& stop_event();
  // Sessions that serve clients get GOAWAY when the proxy drains.
  void track_server(const std::shared_ptr<H2Session>& session);
  // On a worker thread: set its stop event and say GOAWAY on its serving sessions.
  void drain_worker();

  struct Worker;

 private:
  Worker& worker();
  boost::asio::awaitable<std::shared_ptr<H2Session>> h2_session(const Hop& hop, std::string& error, int& status);
  boost::asio::awaitable<Answer> forward_h1(const Hop& hop, const RequestHead& head, std::shared_ptr<BodyPipe> body);

  IdentityFn identity_;
  TcpStats& tcp_;
  std::chrono::milliseconds connect_timeout_;
};

// The gRPC-aware form of the proxy's own error for an HTTP/2 client: gRPC requests get a
// trailers-only 200 with grpc-status (14 UNAVAILABLE, 4 DEADLINE_EXCEEDED, 7 PERMISSION_DENIED).
ResponseHead h2_error_head(const RequestHead& request, int status, const std::string& cause);

bool is_grpc(const Headers& headers);

}  // namespace meshctl::dataplane::proxy

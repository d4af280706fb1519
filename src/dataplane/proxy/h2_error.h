#pragma once
// Errors the proxy produces for an HTTP/2 client (prior-knowledge h2c or gRPC) before any
// upstream exists: the proxy plays an HTTP/2 server just long enough to answer the first
// request with the error, then says GOAWAY. gRPC clients get a trailers-only response with the
// matching grpc-status, since they ignore HTTP statuses.

#include <memory>
#include <string>
#include <string_view>

namespace meshctl::dataplane::proxy {

class H2ErrorResponder {
 public:
  // `status` is the HTTP status (502, 503, 504, 403); `cause` goes in meshctl-proxy-error.
  H2ErrorResponder(int status, std::string cause);
  ~H2ErrorResponder();
  H2ErrorResponder(const H2ErrorResponder&) = delete;
  H2ErrorResponder& operator=(const H2ErrorResponder&) = delete;

  // Feeds the client's bytes. False when they are not HTTP/2 (the caller closes).
  bool receive(std::string_view bytes);
  // True once the answer to the first request is queued.
  bool answered() const;
  // Bytes to write to the client now (settings, the response, GOAWAY).
  std::string take_output();

  // The gRPC status for an HTTP status the proxy produced: 14 UNAVAILABLE for 502/503,
  // 4 DEADLINE_EXCEEDED for 504, 7 PERMISSION_DENIED for 403, 2 UNKNOWN otherwise.
  static int grpc_status_for(int http_status);

  struct State;  // nghttp2's session and what its callbacks learnt

 private:
  std::unique_ptr<State> state_;
};

}  // namespace meshctl::dataplane::proxy

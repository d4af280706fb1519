#pragma once
// The HTTP/1.1 sides of the proxy. Toward the application's client (outbound): read requests
// with header limits (431 too large, 400 malformed), keep-alive, chunked or sized bodies, and
// write each answer back framed as HTTP/1.1 requires. Toward the application's server (inbound):
// send a request restored from HTTP/2 and read its answer. Requests that switch protocols
// (Upgrade, CONNECT) are handed back to the caller to be carried as a byte stream.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>

#include "dataplane/proxy/app_connection.h"
#include "dataplane/proxy/http_types.h"

namespace meshctl::dataplane::proxy {

struct Http1Limits {
  std::size_t max_header_bytes = 64 * 1024;
  std::size_t max_header_count = 100;
  // How long a keep-alive connection may sit between requests.
  std::chrono::milliseconds idle_timeout{60000};
};

// An answer to one request. `body` null means none. `error` non-empty means the proxy produced
// the answer itself (it names the cause). `finished` is called once the answer was written (or
// failed), with whether it completed.
struct Answer {
  ResponseHead head;
  std::shared_ptr<BodyPipe> body;
  std::string error;
  std::function<void(const Answer&, bool complete)> finished;
};

using Forward = std::function<boost::asio::awaitable<Answer>(RequestHead head, std::shared_ptr<BodyPipe> body)>;

struct Http1Outcome {
  // A request asked to switch protocols: `replay` holds it and whatever the client sent after
  // it; the caller carries the connection on as a byte stream.
  bool upgrade = false;
  std::string replay;
  std::string authority;
};

// Serves requests on `client` until it closes, a request cannot be answered on the connection,
// `stop` is set between requests, or a request upgrades.
boost::asio::awaitable<Http1Outcome> serve_http1(boost::asio::ip::tcp::socket& client, const Forward& forward,
                                                 const Http1Limits& limits, Event& stop);

// The proxy's own error as an answer: `status` with a meshctl-proxy-error header naming `cause`.
Answer error_answer(int status, std::string cause);

// Sends a request to an HTTP/1.1 server on `app` and returns its answer once the head arrived;
// the body keeps flowing through the answer's pipe. `give_back` receives the connection when the
// exchange ended cleanly and the server keeps it open. On failure before an answer, the answer
// has status 0 and `error` set.
boost::asio::awaitable<Answer> http1_exchange(AppConnection app, const RequestHead& head, std::shared_ptr<BodyPipe> body,
                                              std::function<void(AppConnection)> give_back);

const char* reason_phrase(int status);

}  // namespace meshctl::dataplane::proxy

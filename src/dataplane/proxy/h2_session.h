#pragma once
// One HTTP/2 connection driven by nghttp2 on a worker's io_context: the proxy's face toward an
// HTTP/2 client (server role) and its multiplexed connection toward another proxy or an h2c
// application (client role). Bodies flow through BodyPipes with HTTP/2 flow control as the
// backpressure: the window is handed back to the peer only when the far side took the bytes, so
// a connection holds at most its window in memory.

#include <nghttp2/nghttp2.h>

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "dataplane/proxy/byte_stream.h"
#include "dataplane/proxy/http_types.h"

namespace meshctl::dataplane::proxy {

class H2Session;

struct H2Limits {
  std::size_t max_header_bytes = 64 * 1024;
  std::size_t max_header_count = 256;
  std::uint32_t max_concurrent_streams = 1000;
};

struct H2Stream {
  explicit H2Stream(const boost::asio::any_io_executor& ex) : head_ready(ex) {}
  std::int32_t id = 0;
  RequestHead request;    // server role: what the client asked
  ResponseHead response;  // client role: what the server answered
  // The peer's body (request body in the server role, response body in the client role).
  std::shared_ptr<BodyPipe> in;
  // What this side sends; null for no body.
  std::shared_ptr<BodyPipe> out;
  // Server role: the request head is complete. Client role: the final response head arrived, or
  // the stream closed first (then `closed` is true).
  Event head_ready;
  bool closed = false;
  std::uint32_t error_code = 0;  // RST_STREAM or GOAWAY code when the stream ended badly
  bool headers_too_large = false;
  std::size_t header_bytes = 0;
  std::size_t header_count = 0;
  std::size_t header_count_at_head = 0;  // where trailers start in the collected headers
  bool responded = false;
  // Called once when the stream closes (metrics).
  std::function<void(const H2Stream&)> on_close;
};

class H2Session : public std::enable_shared_from_this<H2Session> {
 public:
  enum class Role { client, server };
  // Server role: called for each request whose head is complete; the handler answers with
  // respond(). Runs as its own coroutine.
  using RequestHandler = std::function<boost::asio::awaitable<void>(std::shared_ptr<H2Session>, std::shared_ptr<H2Stream>)>;

  using Limits = H2Limits;

  static std::shared_ptr<H2Session> make(std::unique_ptr<ByteStream> stream, Role role, RequestHandler handler = {},
                                         Limits limits = {});
  ~H2Session();
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  // Reads and writes until the connection ends; every open stream fails then.
  boost::asio::awaitable<void> run();

  // Client role: starts a request. `body` null means the request ends with its headers. Returns
  // null when the session cannot take a new stream.
  std::shared_ptr<H2Stream> submit(const RequestHead& head, std::shared_ptr<BodyPipe> body);
  // Server role: answers a stream. `body` null means the response ends with its headers
  // (trailers-only for gRPC).
  void respond(H2Stream& stream, const ResponseHead& head, std::shared_ptr<BodyPipe> body);
  void reset(H2Stream& stream, std::uint32_t code = NGHTTP2_CANCEL);

  // Open, not going away, with room for another stream.
  bool usable() const;
  std::size_t open_streams() const { return streams_.size(); }
  // Sends GOAWAY: no new streams, open ones finish. Closes once they did.
  void shutdown();
  // Closes at once.
  void close();
  bool closed() const { return dead_; }
  const ByteStream& io() const { return *io_; }
  // When the session ends (for pools).
  std::function<void()> on_closed;

  struct Callbacks;  // nghttp2 glue

 private:
  H2Session(std::unique_ptr<ByteStream> stream, Role role, RequestHandler handler, Limits limits);
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> write_loop();
  void kick() { write_wake_.notify(); }
  void attach_out(H2Stream& s, const std::shared_ptr<BodyPipe>& body, nghttp2_data_provider& provider);
  void attach_in(H2Stream& s);
  void fail_all();

  std::unique_ptr<ByteStream> io_;
  Role role_;
  RequestHandler handler_;
  Limits limits_;
  nghttp2_session* session_ = nullptr;
  std::map<std::int32_t, std::shared_ptr<H2Stream>> streams_;
  Event write_wake_;
  std::string out_;
  bool dead_ = false;
  bool going_away_ = false;
};

}  // namespace meshctl::dataplane::proxy

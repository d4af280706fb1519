#pragma once
// What the HTTP layer passes between its sides: request and response heads in HTTP/2's shape
// (lower-case names, pseudo-headers split out), and bodies as BodyPipes. Everything here lives on
// one worker thread (a connection and the upstream connections it uses share a worker), so
// nothing locks; a side waits for the other with an Event.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace meshctl::dataplane::proxy {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The value of the first header named `name` (lower case), or empty.
inline std::string_view header_value(const Headers& h, std::string_view name) {
  for (const auto& [n, v] : h) {
    if (n == name) return v;
  }
  return {};
}
inline bool has_header(const Headers& h, std::string_view name) {
  for (const auto& kv : h) {
    if (kv.first == name) return true;
  }
  return false;
}

struct RequestHead {
  std::string method;
  std::string scheme = "http";
  std::string authority;
  std::string path;
  Headers headers;  // regular headers only
};

struct ResponseHead {
  int status = 0;
  Headers headers;
};

// Set once, awaited by one coroutine at a time on the same thread. A timer that never expires
// is the waiting room; set() cancels it.
class Event {
 public:
  explicit Event(const boost::asio::any_io_executor& ex) : timer_(ex, boost::asio::steady_timer::time_point::max()) {}
  void set() {
    set_ = true;
    timer_.cancel();
  }
  // Wakes a waiter without setting (the condition it waits for is checked by the caller).
  void notify() { timer_.cancel(); }
  bool is_set() const { return set_; }
  // Any number of coroutines may wait; the timer's expiry stays at "never", so cancel() is the
  // only way out and wakes them all.
  boost::asio::awaitable<void> wait() {
    if (set_) co_return;
    co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  }

 private:
  boost::asio::steady_timer timer_;
  bool set_ = false;
};

// A body moving from one side of the proxy to the other. The producer pushes while the pipe is
// below its high-water mark and then waits; the consumer takes bytes, which lets the producer go
// on (for HTTP/2 that is when the flow-control window is handed back to the peer). One buffer,
// reused: no allocation per chunk once it has grown to its working size.
class BodyPipe {
 public:
  static constexpr std::size_t kHighWater = 64 * 1024;

  explicit BodyPipe(const boost::asio::any_io_executor& ex) : reader_(ex), writer_(ex) {}

  // ---- producer
  void push(std::string_view data) {
    if (failed_ || ended_ || abandoned_) return;
    if (head_ > 0 && head_ == buf_.size()) {
      buf_.clear();
      head_ = 0;
    }
    buf_.append(data);
    wake_reader();
  }
  void finish(Headers trailers = {}) {
    if (ended_ || failed_) return;
    trailers_ = std::move(trailers);
    ended_ = true;
    wake_reader();
  }
  // The body cannot complete (the producer's side broke); the consumer resets or closes.
  void fail() {
    if (ended_ && empty()) return;
    failed_ = true;
    wake_reader();
    wake_writer();
  }
  bool full() const { return size() >= kHighWater; }
  // Until the consumer made room or went away.
  boost::asio::awaitable<void> wait_writable() {
    while (full() && !failed_ && !abandoned_) co_await writer_.wait_notified();
  }
  // The consumer side went away: whatever is pushed is dropped.
  bool abandoned() const { return abandoned_; }

  // ---- consumer
  std::size_t size() const { return buf_.size() - head_; }
  bool empty() const { return size() == 0; }
  bool ended() const { return ended_; }
  bool failed() const { return failed_; }
  // Ended and fully taken.
  bool done() const { return ended_ && empty(); }
  const Headers& trailers() const { return trailers_; }
  std::string_view peek() const { return std::string_view(buf_).substr(head_); }
  void consume(std::size_t n) {
    head_ += n;
    if (head_ == buf_.size()) {
      buf_.clear();
      head_ = 0;
    } else if (head_ > kHighWater) {
      buf_.erase(0, head_);
      head_ = 0;
    }
    if (on_taken) on_taken(n);
    wake_writer();
  }
  std::size_t take(char* out, std::size_t max) {
    const std::size_t n = std::min(max, size());
    std::memcpy(out, buf_.data() + head_, n);
    consume(n);
    return n;
  }
  // Until there are bytes, the end, or a failure.
  boost::asio::awaitable<void> wait_readable() {
    while (empty() && !ended_ && !failed_) co_await reader_.wait_notified();
  }
  void abandon() {
    abandoned_ = true;
    if (on_taken && !empty()) on_taken(size());
    buf_.clear();
    head_ = 0;
    wake_writer();
  }

  // Set by an HTTP/2 consumer: called when bytes arrive, the body ends or fails (it resumes the
  // deferred data source).
  std::function<void()> on_readable;
  // Set by an HTTP/2 producer: called with the number of bytes taken (it returns flow-control
  // window to the peer).
  std::function<void(std::size_t)> on_taken;

 private:
  class Waiter {
   public:
    explicit Waiter(const boost::asio::any_io_executor& ex) : timer_(ex, boost::asio::steady_timer::time_point::max()) {}
    void notify() { timer_.cancel(); }
    boost::asio::awaitable<void> wait_notified() {
      co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }

   private:
    boost::asio::steady_timer timer_;
  };
  void wake_reader() {
    reader_.notify();
    if (on_readable) on_readable();
  }
  void wake_writer() { writer_.notify(); }

  std::string buf_;
  std::size_t head_ = 0;
  Headers trailers_;
  bool ended_ = false;
  bool failed_ = false;
  bool abandoned_ = false;
  Waiter reader_;
  Waiter writer_;
};

// Hop-by-hop headers (RFC 9110 7.6.1) are the business of one connection and are not forwarded;
// HTTP/2 forbids them outright. Host is here too: each hop rebuilds it from the authority.
inline bool is_hop_by_hop(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" || name == "transfer-encoding" ||
         name == "upgrade" || name == "te" || name == "trailer" || name == "proxy-authenticate" ||
         name == "proxy-authorization" || name == "host" || name == "http2-settings";
}

}  // namespace meshctl::dataplane::proxy

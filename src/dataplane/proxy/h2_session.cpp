#include "dataplane/proxy/h2_session.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <cstring>

#include "core/log/log.h"

namespace meshctl::dataplane::proxy {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

constexpr std::size_t kReadBuffer = 16 * 1024;
// Writes are gathered up to this size before going to the socket.
constexpr std::size_t kWriteBatch = 64 * 1024;
// The connection-level receive window: how much all streams of a connection may have in flight
// toward a slow consumer. Each stream keeps the default 64 KiB.
constexpr std::int32_t kConnectionWindow = 1024 * 1024;

nghttp2_nv make_nv(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    core::log::error("proxy", std::string("HTTP/2 stream handler ended by an exception: ") + x.what());
  }
}

}  // namespace

struct H2Session::Callbacks {
  static H2Session& self(void* user) { return *static_cast<H2Session*>(user); }

  static H2Stream* stream_of(nghttp2_session* s, std::int32_t id) {
    return static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(s, id));
  }

  static int on_begin_headers(nghttp2_session* s, const nghttp2_frame* frame, void* user) {
    auto& h = self(user);
    if (h.role_ != Role::server || frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
      return 0;
    }
    auto stream = std::make_shared<H2Stream>(h.io_->executor());
    stream->id = frame->hd.stream_id;
    h.streams_[stream->id] = stream;
    nghttp2_session_set_stream_user_data(s, stream->id, stream.get());
    return 0;
  }

  static int on_header(nghttp2_session* s, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                       const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    auto& h = self(user);
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    auto* st = stream_of(s, frame->hd.stream_id);
    if (!st) return 0;
    st->header_bytes += namelen + valuelen + 32;
    st->header_count += 1;
    if (st->header_bytes > h.limits_.max_header_bytes || st->header_count > h.limits_.max_header_count) {
      st->headers_too_large = true;
      return 0;
    }
    const std::string_view n(reinterpret_cast<const char*>(name), namelen);
    const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    const bool trailer = frame->headers.cat == NGHTTP2_HCAT_HEADERS && st->head_ready.is_set();
    if (trailer) {
      st->response.headers.emplace_back(n, v);  // collected below into the pipe's trailers
      return 0;
    }
    if (h.role_ == Role::server) {
      auto& r = st->request;
      if (n == ":method") r.method = v;
      else if (n == ":scheme") r.scheme = v;
      else if (n == ":authority") r.authority = v;
      else if (n == ":path") r.path = v;
      else if (!n.empty() && n[0] != ':') r.headers.emplace_back(n, v);
    } else {
      if (n == ":status") {
        int status = 0;
        for (char c : v) status = c >= '0' && c <= '9' ? status * 10 + (c - '0') : status;
        st->response.status = status;
      } else if (!n.empty() && n[0] != ':') {
        st->response.headers.emplace_back(n, v);
      }
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session* s, const nghttp2_frame* frame, void* user) {
    auto& h = self(user);
    auto* st = frame->hd.stream_id ? stream_of(s, frame->hd.stream_id) : nullptr;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      h.going_away_ = true;
      return 0;
    }
    if (!st) return 0;
    const bool end_stream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (frame->hd.type == NGHTTP2_HEADERS) {
      if (!st->head_ready.is_set()) {
        if (h.role_ == Role::client && st->response.status >= 100 && st->response.status < 200) {
          // An interim response (100 Continue, 103 Early Hints): the final one follows.
          st->response = {};
          return 0;
        }
        h.attach_in(*st);
        st->head_ready.set();
        if (h.role_ == Role::server && h.handler_) {
          auto stream = h.streams_[st->id];
          asio::co_spawn(h.io_->executor(), h.handler_(h.shared_from_this(), stream), log_exception);
        }
        if (end_stream) st->in->finish();
      } else {
        // Trailers: what on_header collected after the head.
        Headers trailers;
        auto& hs = st->response.headers;
        // on_header appended trailers after the head's headers; they start where the head ended.
        trailers.assign(hs.begin() + static_cast<std::ptrdiff_t>(st->header_count_at_head), hs.end());
        hs.resize(st->header_count_at_head);
        st->in->finish(std::move(trailers));
      }
      return 0;
    }
    if (frame->hd.type == NGHTTP2_DATA && end_stream && st->in) st->in->finish();
    return 0;
  }

  static int on_data_chunk(nghttp2_session* s, uint8_t, int32_t id, const uint8_t* data, size_t len, void*) {
    auto* st = stream_of(s, id);
    if (!st || !st->in || st->in->abandoned() || st->in->failed()) {
      // Nobody will take these bytes: hand the window back now.
      nghttp2_session_consume(s, id, len);
      return 0;
    }
    st->in->push(std::string_view(reinterpret_cast<const char*>(data), len));
    return 0;
  }

  static int on_stream_close(nghttp2_session* s, int32_t id, uint32_t code, void* user) {
    auto& h = self(user);
    auto it = h.streams_.find(id);
    if (it == h.streams_.end()) return 0;
    auto st = it->second;
    h.streams_.erase(it);
    nghttp2_session_set_stream_user_data(s, id, nullptr);
    st->closed = true;
    st->error_code = code;
    if (st->in && !st->in->ended()) st->in->fail();
    if (st->out && !st->out->done()) st->out->abandon();
    // `in` keeps its on_taken: bytes still buffered there count against the connection's window
    // until the consumer takes them, closed stream or not.
    if (st->out) st->out->on_readable = nullptr;
    st->head_ready.set();
    if (st->on_close) {
      auto cb = std::move(st->on_close);
      cb(*st);
    }
    return 0;
  }

  static ssize_t read_body(nghttp2_session* s, int32_t id, uint8_t* buf, size_t length, uint32_t* flags,
                           nghttp2_data_source* source, void*) {
    auto* st = static_cast<H2Stream*>(source->ptr);
    auto& pipe = *st->out;
    if (pipe.failed()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const std::size_t n = pipe.take(reinterpret_cast<char*>(buf), length);
    if (pipe.done()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!pipe.trailers().empty()) {
        std::vector<nghttp2_nv> nv;
        for (const auto& [k, v] : pipe.trailers()) nv.push_back(make_nv(k, v));
        if (nghttp2_submit_trailer(s, id, nv.data(), nv.size()) == 0) *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
      return static_cast<ssize_t>(n);
    }
    if (n == 0) return NGHTTP2_ERR_DEFERRED;
    return static_cast<ssize_t>(n);
  }
};

std::shared_ptr<H2Session> H2Session::make(std::unique_ptr<ByteStream> stream, Role role, RequestHandler handler,
                                           Limits limits) {
  return std::shared_ptr<H2Session>(new H2Session(std::move(stream), role, std::move(handler), limits));
}

H2Session::H2Session(std::unique_ptr<ByteStream> stream, Role role, RequestHandler handler, Limits limits)
    : io_(std::move(stream)), role_(role), handler_(std::move(handler)), limits_(limits), write_wake_(io_->executor()) {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &Callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &Callbacks::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &Callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &Callbacks::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &Callbacks::on_stream_close);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // Window updates follow the consumer, not the socket: that is the backpressure.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_send_header_block_length(opt, 256 * 1024);
  if (role == Role::server) {
    nghttp2_session_server_new2(&session_, cbs, this, opt);
  } else {
    nghttp2_session_client_new2(&session_, cbs, this, opt);
  }
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  // The header limit is not advertised: a client that respected it would fail on its own side,
  // while one that sends too much gets a clean 431 (on_header enforces the limit per stream).
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits_.max_concurrent_streams},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 1);
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
}

H2Session::~H2Session() {
  // Streams may outlive the session (a handler still holds one): cut their ties to it.
  for (auto& [id, st] : streams_) {
    if (st->in) st->in->on_taken = nullptr;
    if (st->out) st->out->on_readable = nullptr;
  }
  nghttp2_session_del(session_);
}

void H2Session::attach_in(H2Stream& s) {
  s.header_count_at_head = s.response.headers.size();
  s.in = std::make_shared<BodyPipe>(io_->executor());
  std::weak_ptr<H2Session> weak = weak_from_this();
  const std::int32_t id = s.id;
  s.in->on_taken = [weak, id](std::size_t n) {
    if (auto self = weak.lock(); self && !self->dead_) {
      nghttp2_session_consume(self->session_, id, n);
      self->kick();
    }
  };
}

void H2Session::attach_out(H2Stream& s, const std::shared_ptr<BodyPipe>& body, nghttp2_data_provider& provider) {
  s.out = body;
  provider.source.ptr = &s;
  provider.read_callback = &Callbacks::read_body;
  std::weak_ptr<H2Session> weak = weak_from_this();
  H2Stream* raw = &s;
  body->on_readable = [weak, raw] {
    if (auto self = weak.lock(); self && !self->dead_ && !raw->closed) {
      nghttp2_session_resume_data(self->session_, raw->id);
      self->kick();
    }
  };
}

std::shared_ptr<H2Stream> H2Session::submit(const RequestHead& head, std::shared_ptr<BodyPipe> body) {
  if (!usable()) return nullptr;
  std::vector<nghttp2_nv> nv;
  nv.reserve(head.headers.size() + 4);
  nv.push_back(make_nv(":method", head.method));
  nv.push_back(make_nv(":scheme", head.scheme));
  nv.push_back(make_nv(":authority", head.authority));
  nv.push_back(make_nv(":path", head.path));
  for (const auto& [k, v] : head.headers) nv.push_back(make_nv(k, v));
  auto stream = std::make_shared<H2Stream>(io_->executor());
  stream->request = head;
  nghttp2_data_provider provider{};
  if (body) attach_out(*stream, body, provider);
  const auto id = nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(), body ? &provider : nullptr, stream.get());
  if (id < 0) {
    if (body) body->on_readable = nullptr;
    return nullptr;
  }
  stream->id = id;
  streams_[id] = stream;
  kick();
  return stream;
}

void H2Session::respond(H2Stream& stream, const ResponseHead& head, std::shared_ptr<BodyPipe> body) {
  if (dead_ || stream.closed || stream.responded) return;
  stream.responded = true;
  const std::string status = std::to_string(head.status);
  std::vector<nghttp2_nv> nv;
  nv.reserve(head.headers.size() + 1);
  nv.push_back(make_nv(":status", status));
  for (const auto& [k, v] : head.headers) nv.push_back(make_nv(k, v));
  nghttp2_data_provider provider{};
  if (body) attach_out(stream, body, provider);
  if (nghttp2_submit_response(session_, stream.id, nv.data(), nv.size(), body ? &provider : nullptr) != 0) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id, NGHTTP2_INTERNAL_ERROR);
  }
  kick();
}

void H2Session::reset(H2Stream& stream, std::uint32_t code) {
  if (dead_ || stream.closed) return;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id, code);
  kick();
}

bool H2Session::usable() const {
  return !dead_ && !going_away_ && nghttp2_session_check_request_allowed(session_) &&
         streams_.size() < limits_.max_concurrent_streams;
}

void H2Session::shutdown() {
  if (dead_ || going_away_) return;
  going_away_ = true;
  // A graceful GOAWAY: streams already started run to their end; terminate_session would cut them.
  const int32_t last = role_ == Role::server ? nghttp2_session_get_last_proc_stream_id(session_) : 0;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, last, NGHTTP2_NO_ERROR, nullptr, 0);
  kick();
}

void H2Session::close() {
  if (dead_) return;
  dead_ = true;
  io_->close();
  kick();
}

void H2Session::fail_all() {
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, st] : streams) {
    st->closed = true;
    if (!st->error_code) st->error_code = NGHTTP2_CONNECT_ERROR;
    if (st->in) {
      st->in->on_taken = nullptr;
      if (!st->in->ended()) st->in->fail();
    }
    if (st->out) {
      st->out->on_readable = nullptr;
      if (!st->out->done()) st->out->abandon();
    }
    st->head_ready.set();
    if (st->on_close) {
      auto cb = std::move(st->on_close);
      cb(*st);
    }
  }
}

asio::awaitable<void> H2Session::run() {
  auto self = shared_from_this();
  co_await (read_loop() || write_loop());
  dead_ = true;
  io_->close();
  fail_all();
  if (on_closed) {
    auto cb = std::move(on_closed);
    cb();
  }
}

asio::awaitable<void> H2Session::read_loop() {
  auto buf = std::make_unique<char[]>(kReadBuffer);
  while (!dead_) {
    auto [ec, n] = co_await io_->read_some(asio::buffer(buf.get(), kReadBuffer));
    if (n > 0) {
      const auto r = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(buf.get()), n);
      if (r < 0) {
        core::log::debug("proxy", std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(r)));
        co_return;
      }
      kick();
    }
    if (ec) co_return;
  }
}

asio::awaitable<void> H2Session::write_loop() {
  for (;;) {
    out_.clear();
    while (out_.size() < kWriteBatch) {
      const uint8_t* data = nullptr;
      const auto n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) co_return;
      if (n == 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (!out_.empty()) {
      auto [ec, written] = co_await io_->write(asio::buffer(out_));
      (void)written;
      if (ec) co_return;
      continue;
    }
    if (dead_) co_return;
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) co_return;
    // A server-side session closes once it said GOAWAY and its streams are done.
    if (going_away_ && streams_.empty()) co_return;
    co_await write_wake_.wait();
  }
}

}  // namespace meshctl::dataplane::proxy

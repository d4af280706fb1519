#include "dataplane/proxy/http1.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <array>
#include <cctype>
#include <chrono>
#include <limits>
#include <optional>

namespace meshctl::dataplane::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace asio::experimental::awaitable_operators;
using asio::awaitable;
using boost::system::error_code;
using tcp = asio::ip::tcp;

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kChunk = 16 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// Whether `list` (a comma-separated header value) names `token`.
bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// Regular headers to forward: lower-cased, without hop-by-hop ones and without those the
// Connection header names. "te: trailers" survives: gRPC needs it end to end.
template <class Fields>
Headers forwardable(const Fields& fields) {
  const std::string_view connection = fields[http::field::connection];
  Headers out;
  for (const auto& f : fields) {
    std::string name = lower(f.name_string());
    const std::string_view value = f.value();
    if (name == "te" && iequals(value, "trailers")) {
      out.emplace_back(std::move(name), "trailers");
      continue;
    }
    if (is_hop_by_hop(name) || has_token(connection, name)) continue;
    out.emplace_back(std::move(name), std::string(value));
  }
  return out;
}

std::string hex(std::size_t n) {
  char buf[20];
  const int len = std::snprintf(buf, sizeof buf, "%zx", n);
  return std::string(buf, static_cast<std::size_t>(len));
}

bool bodyless_status(int status) { return (status >= 100 && status < 200) || status == 204 || status == 304; }

// Writes `pipe` to `s`, chunked or as is, until it ends. False when it failed or `s` broke.
awaitable<bool> write_body(tcp::socket& s, BodyPipe& pipe, bool chunked) {
  for (;;) {
    co_await pipe.wait_readable();
    if (!pipe.empty()) {
      const auto data = pipe.peek();
      error_code ec;
      if (chunked) {
        const std::string size = hex(data.size()) + "\r\n";
        const std::array<asio::const_buffer, 3> bufs{asio::buffer(size), asio::buffer(data.data(), data.size()),
                                                     asio::buffer("\r\n", 2)};
        std::tie(ec, std::ignore) = co_await asio::async_write(s, bufs, nothrow);
      } else {
        std::tie(ec, std::ignore) = co_await asio::async_write(s, asio::buffer(data.data(), data.size()), nothrow);
      }
      if (ec) {
        pipe.abandon();
        co_return false;
      }
      pipe.consume(data.size());
      continue;
    }
    if (pipe.failed()) co_return false;
    if (pipe.ended()) break;
  }
  if (chunked) {
    // HTTP/1 trailers are rare and most clients ignore them; the last chunk ends the body.
    auto [ec, n] = co_await asio::async_write(s, asio::buffer("0\r\n\r\n", 5), nothrow);
    (void)n;
    if (ec) co_return false;
  }
  co_return true;
}

// Splits an absolute-form target ("http://host:port/path") into authority and path.
void split_absolute(std::string_view target, std::string& authority, std::string& path) {
  const auto scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos) {
    path = target.empty() ? "/" : std::string(target);
    return;
  }
  auto rest = target.substr(scheme_end + 3);
  const auto slash = rest.find('/');
  if (authority.empty()) authority = std::string(rest.substr(0, slash));
  path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
}

std::string response_head_text(const ResponseHead& head, bool chunked, bool close, bool length_known) {
  std::string out = "HTTP/1.1 " + std::to_string(head.status) + " " + reason_phrase(head.status) + "\r\n";
  for (const auto& [k, v] : head.headers) {
    if (k == "content-length" && !length_known) continue;
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  if (chunked) out += "transfer-encoding: chunked\r\n";
  if (close) out += "connection: close\r\n";
  out += "\r\n";
  return out;
}

// A response the proxy writes without a request to forward (431, 400).
awaitable<void> write_simple(tcp::socket& s, int status, const std::string& cause) {
  const std::string text = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
                           "\r\ncontent-length: 0\r\nconnection: close\r\nmeshctl-proxy-error: " + cause + "\r\n\r\n";
  co_await asio::async_write(s, asio::buffer(text), nothrow);
  error_code ignored;
  s.shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace

const char* reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

Answer error_answer(int status, std::string cause) {
  Answer a;
  a.head.status = status;
  a.head.headers.emplace_back("meshctl-proxy-error", cause);
  a.head.headers.emplace_back("content-length", "0");
  a.error = std::move(cause);
  return a;
}

awaitable<Http1Outcome> serve_http1(tcp::socket& client, const Forward& forward, const Http1Limits& limits, Event& stop) {
  beast::flat_buffer buffer;
  asio::steady_timer idle(client.get_executor());
  for (;;) {
    if (stop.is_set()) co_return Http1Outcome{};
    http::request_parser<http::buffer_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    idle.expires_after(limits.idle_timeout);
    auto r = co_await (http::async_read_header(client, buffer, parser, nothrow) || idle.async_wait(nothrow) || stop.wait());
    if (r.index() != 0) co_return Http1Outcome{};
    auto [ec, n] = std::get<0>(r);
    (void)n;
    if (ec == http::error::header_limit) {
      co_await write_simple(client, 431, "request header too large");
      co_return Http1Outcome{};
    }
    if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == asio::error::eof ||
        ec == asio::error::connection_reset) {
      co_return Http1Outcome{};
    }
    if (ec) {
      co_await write_simple(client, 400, std::string("malformed request: ") + ec.message());
      co_return Http1Outcome{};
    }
    auto& req = parser.get();
    std::size_t count = 0;
    for (auto it = req.begin(); it != req.end(); ++it) ++count;
    if (count > limits.max_header_count) {
      co_await write_simple(client, 431, "too many request header fields");
      co_return Http1Outcome{};
    }

    RequestHead head;
    head.method = std::string(req.method_string());
    head.authority = std::string(req[http::field::host]);
    split_absolute(req.target(), head.authority, head.path);
    const bool upgrade = req.method() == http::verb::connect || req.count(http::field::upgrade) > 0;
    if (upgrade) {
      // Replay the request as it came; from here on the connection is a byte stream.
      Http1Outcome out;
      out.upgrade = true;
      out.authority = head.authority;
      out.replay = std::string(req.method_string()) + " " + std::string(req.target()) + " HTTP/" +
                   std::to_string(req.version() / 10) + "." + std::to_string(req.version() % 10) + "\r\n";
      for (const auto& f : req) {
        out.replay += std::string(f.name_string()) + ": " + std::string(f.value()) + "\r\n";
      }
      out.replay += "\r\n";
      const auto rest = buffer.data();
      out.replay.append(static_cast<const char*>(rest.data()), rest.size());
      co_return out;
    }
    head.headers = forwardable(req);
    const bool head_method = req.method() == http::verb::head;
    const bool http10 = req.version() < 11;
    bool keep_alive = req.keep_alive();
    if (has_token(req[http::field::expect], "100-continue")) {
      // Say go on ourselves: the upstream's interim answer does not cross the mesh.
      std::erase_if(head.headers, [](const auto& h) { return h.first == "expect"; });
      auto [wec, wn] = co_await asio::async_write(client, asio::buffer("HTTP/1.1 100 Continue\r\n\r\n", 25), nothrow);
      (void)wn;
      if (wec) co_return Http1Outcome{};
    }

    std::shared_ptr<BodyPipe> body;
    if (!parser.is_done()) body = std::make_shared<BodyPipe>(client.get_executor());

    auto read_body = [&]() -> awaitable<bool> {
      if (!body) co_return true;
      auto buf = std::make_unique<char[]>(kChunk);
      while (!parser.is_done()) {
        parser.get().body().data = buf.get();
        parser.get().body().size = kChunk;
        auto [rec, rn] = co_await http::async_read_some(client, buffer, parser, nothrow);
        (void)rn;
        if (rec == http::error::need_buffer) rec = {};
        const std::size_t got = kChunk - parser.get().body().size;
        if (got > 0) {
          body->push(std::string_view(buf.get(), got));
          co_await body->wait_writable();
        }
        // Answered already (the upstream stopped reading): the rest of the body is not wanted.
        if (body->abandoned()) rec = asio::error::operation_aborted;
        if (rec) {
          body->fail();
          co_return false;
        }
      }
      body->finish();
      co_return true;
    };

    auto respond = [&]() -> awaitable<bool> {
      Answer answer = co_await forward(head, body);
      const int status = answer.head.status;
      const bool has_length = has_header(answer.head.headers, "content-length");
      const bool no_body = head_method || bodyless_status(status);
      bool chunked = false;
      if (!answer.error.empty()) keep_alive = false;  // the request body may be unread
      if (!no_body && !has_length) {
        if (http10) {
          keep_alive = false;  // an HTTP/1.0 client reads to the close
        } else {
          chunked = true;
        }
      }
      const std::string text = response_head_text(answer.head, chunked, !keep_alive, true);
      auto [wec, wn] = co_await asio::async_write(client, asio::buffer(text), nothrow);
      (void)wn;
      bool ok = !wec;
      if (ok && answer.body && !no_body) {
        ok = co_await write_body(client, *answer.body, chunked);
      } else if (answer.body) {
        answer.body->abandon();
      }
      if (answer.finished) answer.finished(answer, ok);
      if (!ok) keep_alive = false;
      if (body && !body->ended()) {
        // Answered before the request body was read: stop reading it; the connection cannot be
        // reused.
        keep_alive = false;
        body->abandon();
        error_code ignored;
        client.cancel(ignored);
      }
      co_return ok;
    };

    auto [body_ok, response_ok] = co_await (read_body() && respond());
    if (!body_ok || !response_ok || !keep_alive) {
      error_code ignored;
      client.shutdown(tcp::socket::shutdown_send, ignored);
      co_return Http1Outcome{};
    }
  }
}

namespace {

struct Exchange : std::enable_shared_from_this<Exchange> {
  explicit Exchange(AppConnection c) : conn(std::move(c)), sock(conn.sock) {}
  AppConnection conn;
  tcp::socket& sock;  // conn's
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::buffer_body>> parser;
  bool request_done = false;
  bool response_done = false;
  bool failed = false;
  bool keep_alive = false;
  std::function<void(AppConnection)> give_back;

  void fail() {
    failed = true;
    conn.close();
  }
  void maybe_give_back() {
    if (request_done && response_done && !failed && keep_alive && give_back && sock.is_open()) {
      give_back(std::move(conn));
    }
  }
};

awaitable<void> send_request_body(std::shared_ptr<Exchange> x, std::shared_ptr<BodyPipe> body, bool chunked) {
  const bool ok = co_await write_body(x->sock, *body, chunked);
  if (!ok) {
    x->fail();
    co_return;
  }
  x->request_done = true;
  x->maybe_give_back();
}

awaitable<void> read_response_body(std::shared_ptr<Exchange> x, std::shared_ptr<BodyPipe> pipe) {
  auto buf = std::make_unique<char[]>(kChunk);
  auto& p = *x->parser;
  while (!p.is_done()) {
    p.get().body().data = buf.get();
    p.get().body().size = kChunk;
    auto [ec, n] = co_await http::async_read_some(x->sock, x->buffer, p, nothrow);
    (void)n;
    if (ec == http::error::need_buffer) ec = {};
    const std::size_t got = kChunk - p.get().body().size;
    if (got > 0) {
      pipe->push(std::string_view(buf.get(), got));
      co_await pipe->wait_writable();
      if (pipe->abandoned()) ec = asio::error::operation_aborted;
    }
    if (ec) {
      pipe->fail();
      x->fail();
      co_return;
    }
  }
  pipe->finish();
  x->response_done = true;
  x->maybe_give_back();
}

}  // namespace

awaitable<Answer> http1_exchange(AppConnection app, const RequestHead& head, std::shared_ptr<BodyPipe> body,
                                 std::function<void(AppConnection)> give_back) {
  auto x = std::make_shared<Exchange>(std::move(app));
  x->give_back = std::move(give_back);
  const bool has_body = body && !body->done();
  const bool sized = has_header(head.headers, "content-length");
  const bool chunked = has_body && !sized;
  std::string text = head.method + " " + head.path + " HTTP/1.1\r\nhost: " + head.authority + "\r\n";
  for (const auto& [k, v] : head.headers) {
    if (k == "te") continue;  // "te: trailers" is for HTTP/2 hops
    text += k;
    text += ": ";
    text += v;
    text += "\r\n";
  }
  if (chunked) text += "transfer-encoding: chunked\r\n";
  text += "\r\n";
  auto [wec, wn] = co_await asio::async_write(x->sock, asio::buffer(text), nothrow);
  (void)wn;
  if (wec) {
    x->fail();
    Answer a;
    a.error = "write to application failed: " + wec.message();
    co_return a;
  }
  if (has_body) {
    asio::co_spawn(x->sock.get_executor(), send_request_body(x, body, chunked), asio::detached);
  } else {
    if (body) body->abandon();
    x->request_done = true;
  }
  for (;;) {
    x->parser.emplace();
    x->parser->header_limit(256 * 1024);
    x->parser->body_limit(std::numeric_limits<std::uint64_t>::max());
    if (head.method == "HEAD") x->parser->skip(true);
    auto [ec, n] = co_await http::async_read_header(x->sock, x->buffer, *x->parser, nothrow);
    (void)n;
    if (ec) {
      x->fail();
      if (body) body->abandon();
      Answer a;
      a.error = "application answered no response: " + ec.message();
      co_return a;
    }
    const int status = static_cast<int>(x->parser->get().result_int());
    if (status >= 100 && status < 200 && status != 101) continue;  // interim; the final one follows
    break;
  }
  auto& res = x->parser->get();
  Answer answer;
  answer.head.status = static_cast<int>(res.result_int());
  answer.head.headers = forwardable(res);
  x->keep_alive = res.keep_alive();
  if (x->parser->is_done()) {
    x->response_done = true;
    x->maybe_give_back();
    co_return answer;
  }
  answer.body = std::make_shared<BodyPipe>(x->sock.get_executor());
  asio::co_spawn(x->sock.get_executor(), read_response_body(x, answer.body), asio::detached);
  co_return answer;
}

}  // namespace meshctl::dataplane::proxy

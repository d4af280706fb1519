#include "dataplane/proxy/http_forwarder.h"

#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/execution_context.hpp>
#include <map>
#include <vector>

#include "core/log/log.h"
#include "core/net/mtls.h"
#include "dataplane/proxy/h2_error.h"
#include "dataplane/proxy/net_ops.h"

namespace meshctl::dataplane::proxy {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using tcp = asio::ip::tcp;

// Idle HTTP/1.1 connections kept per application address and worker.
constexpr std::size_t kMaxIdlePerAddress = 64;

// Whether an idle kept-alive socket is still usable: the server has not closed it nor sent
// anything unasked.
bool idle_socket_usable(tcp::socket& s) {
  char byte;
  const auto n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void strip_mesh_headers(Headers& h) {
  std::erase_if(h, [](const auto& kv) { return kv.first.rfind("meshctl-", 0) == 0 && kv.first != kProxyErrorHeader; });
}

}  // namespace

struct HttpForwarder::Worker {
  explicit Worker(const asio::any_io_executor& ex) : stop(ex) {}
  Event stop;
  std::map<std::string, std::shared_ptr<H2Session>> h2;           // by "addr|identity"
  std::map<std::string, std::shared_ptr<Event>> connecting;       // h2 connections being set up
  std::map<std::string, std::vector<AppConnection>> idle_h1;      // by address
  std::vector<std::weak_ptr<H2Session>> servers;
};

namespace {
// Each worker thread belongs to one proxy, so per-thread state is per-worker state.
thread_local std::map<const HttpForwarder*, std::unique_ptr<HttpForwarder::Worker>> t_workers;
}  // namespace

HttpForwarder::HttpForwarder(IdentityFn identity, TcpStats& tcp, std::chrono::milliseconds connect_timeout)
    : identity_(std::move(identity)), tcp_(tcp), connect_timeout_(connect_timeout) {}

HttpForwarder::~HttpForwarder() = default;

HttpForwarder::Worker& HttpForwarder::worker() {
  auto& w = t_workers[this];
  if (!w) throw std::logic_error("HTTP forwarding on a thread that is not one of the proxy's workers");
  return *w;
}

Event& HttpForwarder::stop_event() { return worker().stop; }

void HttpForwarder::track_server(const std::shared_ptr<H2Session>& session) {
  auto& w = worker();
  std::erase_if(w.servers, [](const auto& weak) { return weak.expired(); });
  w.servers.push_back(session);
  if (w.stop.is_set()) session->shutdown();
}

void HttpForwarder::drain_worker() {
  auto& w = worker();
  w.stop.set();
  for (auto& weak : w.servers) {
    if (auto s = weak.lock()) s->shutdown();
  }
  w.servers.clear();
  w.idle_h1.clear();  // closes them
}

void HttpForwarder::init_worker(const asio::any_io_executor& ex) {
  auto& w = t_workers[this];
  if (!w) w = std::make_unique<Worker>(ex);
}

awaitable<std::shared_ptr<H2Session>> HttpForwarder::h2_session(const Hop& hop, std::string& error, int& status) {
  const auto ex = co_await asio::this_coro::executor;
  const std::string key = hop.addr.to_string() + "|" + hop.identity;
  auto& w = worker();
  for (;;) {
    if (auto it = w.h2.find(key); it != w.h2.end()) {
      if (it->second->usable()) co_return it->second;
      w.h2.erase(it);  // going away: it finishes its streams on its own
    }
    auto c = w.connecting.find(key);
    if (c == w.connecting.end()) break;
    auto pending = c->second;
    co_await pending->wait();
  }
  auto pending = std::make_shared<Event>(ex);
  w.connecting[key] = pending;
  struct Done {
    Worker& w;
    const std::string& key;
    std::shared_ptr<Event> pending;
    ~Done() {
      w.connecting.erase(key);
      pending->set();
    }
  } done{w, key, pending};

  tcp::socket sock(ex);
  if (const auto ec = co_await connect_with_timeout(sock, hop.addr, connect_timeout_)) {
    status = ec == asio::error::timed_out ? 504 : 502;
    error = "connect to " + hop.addr.to_string() + " failed: " + status_cause(ec);
    co_return nullptr;
  }
  std::unique_ptr<ByteStream> io;
  if (hop.identity.empty()) {
    io = std::make_unique<TcpByteStream>(std::move(sock));
  } else {
    const auto id = identity_();
    if (!id) {
      status = 502;
      error = "no workload certificate yet";
      co_return nullptr;
    }
    auto ctx = adopt(id->client_context);
    TlsStream tls(std::move(sock), ctx);
    if (!core::net::configure_client(tls.native_handle(), hop.identity, {"h2"})) {
      status = 502;
      error = "cannot set up TLS for " + hop.identity;
      co_return nullptr;
    }
    if (const auto ec = co_await handshake_with_timeout(tls, asio::ssl::stream_base::client)) {
      status = 502;
      error = "TLS handshake with " + hop.addr.to_string() + " (expecting " + hop.identity + ") failed: " + status_cause(ec);
      core::log::warn("proxy", error);
      co_return nullptr;
    }
    if (core::net::selected_alpn(tls.native_handle()) != "h2") {
      status = 502;
      error = "peer proxy at " + hop.addr.to_string() + " did not agree to HTTP/2";
      co_return nullptr;
    }
    io = std::make_unique<TlsByteStream>(std::move(tls));
  }
  auto guard = std::make_shared<TcpSeriesGuard>(tcp_.series(hop.tcp_labels));
  io->counts = &guard->series();
  auto session = H2Session::make(std::move(io), H2Session::Role::client);
  H2Session* raw = session.get();
  session->on_closed = [this, key, raw, guard] {
    auto& wk = worker();
    if (auto it = wk.h2.find(key); it != wk.h2.end() && it->second.get() == raw) wk.h2.erase(it);
  };
  w.h2[key] = session;
  asio::co_spawn(ex, session->run(), asio::detached);
  co_return session;
}

awaitable<Answer> HttpForwarder::forward_h1(const Hop& hop, const RequestHead& head, std::shared_ptr<BodyPipe> body) {
  const auto ex = co_await asio::this_coro::executor;
  const std::string key = hop.addr.to_string();
  auto give_back = [this, key](AppConnection c) {
    auto& w = worker();
    auto& idle = w.idle_h1[key];
    if (!w.stop.is_set() && idle.size() < kMaxIdlePerAddress) idle.push_back(std::move(c));
  };
  // A kept-alive connection the server closed meanwhile fails the request before any answer;
  // without a body to replay, such a request is tried once more on a new connection.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto& idle = worker().idle_h1[key];
    std::optional<AppConnection> conn;
    while (!idle.empty() && !conn) {
      AppConnection c = std::move(idle.back());
      idle.pop_back();
      if (idle_socket_usable(c.sock)) conn.emplace(std::move(c));
    }
    const bool reused = conn.has_value();
    if (!conn) {
      tcp::socket sock(ex);
      if (const auto ec = co_await connect_with_timeout(sock, hop.addr, connect_timeout_)) {
        co_return error_answer(ec == asio::error::timed_out ? 504 : 502,
                               "connect to " + hop.addr.to_string() + " failed: " + status_cause(ec));
      }
      conn.emplace(std::move(sock), std::make_unique<TcpSeriesGuard>(tcp_.series(hop.tcp_labels)));
    }
    Answer a = co_await http1_exchange(std::move(*conn), head, body, give_back);
    if (a.head.status != 0) co_return a;
    if (!reused || (body && !body->done())) co_return error_answer(502, a.error);
  }
  co_return error_answer(502, "connection to " + hop.addr.to_string() + " failed");
}

awaitable<Answer> HttpForwarder::forward(const Hop& hop, RequestHead head, std::shared_ptr<BodyPipe> body, bool http1) {
  strip_mesh_headers(head.headers);
  const bool to_proxy = !hop.identity.empty();
  if (to_proxy) {
    head.headers.emplace_back(kTargetPortHeader, std::to_string(hop.target_port));
    if (http1) head.headers.emplace_back(kOrigProtoHeader, "HTTP/1.1");
  } else if (http1) {
    co_return co_await forward_h1(hop, head, std::move(body));
  }
  std::string error;
  int status = 502;
  auto session = co_await h2_session(hop, error, status);
  if (!session) co_return error_answer(status, error);
  if (body && body->done() && body->trailers().empty()) body = nullptr;
  auto stream = session->submit(head, body);
  if (!stream) co_return error_answer(502, "connection to " + hop.addr.to_string() + " cannot take a request");
  co_await stream->head_ready.wait();
  if (stream->response.status == 0) {
    co_return error_answer(502, "stream to " + hop.addr.to_string() + " ended without a response (HTTP/2 error " +
                                    std::to_string(stream->error_code) + ")");
  }
  Answer a;
  a.head = stream->response;
  if (stream->in && !(stream->in->done() && stream->in->trailers().empty())) a.body = stream->in;
  co_return a;
}

bool is_grpc(const Headers& headers) { return header_value(headers, "content-type").rfind("application/grpc", 0) == 0; }

ResponseHead h2_error_head(const RequestHead& request, int status, const std::string& cause) {
  ResponseHead h;
  if (is_grpc(request.headers)) {
    h.status = 200;
    h.headers = {{"content-type", "application/grpc"},
                 {"grpc-status", std::to_string(H2ErrorResponder::grpc_status_for(status))},
                 {"grpc-message", cause},
                 {std::string(kProxyErrorHeader), cause}};
  } else {
    h.status = status;
    h.headers = {{std::string(kProxyErrorHeader), cause}, {"content-length", "0"}};
  }
  return h;
}

}  // namespace meshctl::dataplane::proxy

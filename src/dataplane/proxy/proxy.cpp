#include "dataplane/proxy/proxy.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "core/error.h"
#include "core/log/log.h"
#include "core/net/client_hello.h"
#include "core/net/mtls.h"
#include "core/net/worker_pool.h"
#include "dataplane/proxy/detect.h"
#include "dataplane/proxy/h2_error.h"
#include "dataplane/proxy/http1.h"
#include "dataplane/proxy/http_forwarder.h"
#include "dataplane/proxy/http_stats.h"
#include "dataplane/proxy/net_ops.h"
#include "dataplane/proxy/tcp_stats.h"
#include "dataplane/proxy/transport_header.h"

namespace meshctl::dataplane::proxy {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using namespace asio::experimental::awaitable_operators;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using core::net::SocketAddress;

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr const char* kLog = "proxy";
// Each direction of a connection owns one buffer of this size: memory per connection is
// bounded, and a direction reads again only after its previous write completed (backpressure).
constexpr std::size_t kPumpBuffer = 16 * 1024;
constexpr milliseconds kAdminRequestTimeout{5000};
constexpr std::size_t kAdminMaxRequest = 8192;

enum class PeekStatus { data, timeout, closed };
struct Peeked {
  std::string bytes;
  PeekStatus status = PeekStatus::data;
};

// Looks at the first bytes of a connection without consuming them, so whatever handles the
// connection next (a TLS handshake, the byte pump) sees the stream from its start. Peeks again
// while `done` says more bytes could change the answer, until `max` bytes or the deadline.
template <class Done>
awaitable<Peeked> peek_until(tcp::socket& s, std::size_t max, Clock::time_point deadline, Done done) {
  std::string buf(max, '\0');
  for (;;) {
    if (!co_await wait_readable(s, deadline)) co_return Peeked{{}, PeekStatus::timeout};
    error_code ec;
    const std::size_t n = s.receive(asio::buffer(buf), tcp::socket::message_peek, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
    if (ec || n == 0) co_return Peeked{buf.substr(0, n), PeekStatus::closed};
    if (n == max || done(std::string_view(buf.data(), n))) co_return Peeked{buf.substr(0, n), PeekStatus::data};
    // The bytes stay in the socket, so it keeps reporting readable: pause instead of spinning.
    if (Clock::now() + milliseconds(2) >= deadline) co_return Peeked{buf.substr(0, n), PeekStatus::timeout};
    co_await sleep_for(milliseconds(2));
  }
}

template <class S>
constexpr bool kIsTls = std::is_same_v<S, TlsStream>;

// One direction of the pump. A clean EOF is passed on as a half-close, so protocols where the
// client shuts down its sending side and then reads the answer keep working. Toward a TLS peer
// the half-close is a FIN on the TCP connection underneath: Asio's TLS stream cannot send
// close_notify while the other direction's read is pending, and the peer proxy reads that FIN
// as the end of this direction only (see tls_context, which ignores an EOF without close_notify).
// Any error ends both directions.
template <class From, class To>
awaitable<void> copy(From& from, To& to, TcpSeriesGuard& from_count, TcpSeriesGuard& to_count) {
  auto buf = std::make_unique<char[]>(kPumpBuffer);
  bool failed = false;
  for (;;) {
    auto [ec, n] = co_await from.async_read_some(asio::buffer(buf.get(), kPumpBuffer), nothrow);
    from_count.add_read(n);
    if (n > 0) {
      auto [wec, wn] = co_await asio::async_write(to, asio::buffer(buf.get(), n), nothrow);
      to_count.add_written(wn);
      if (wec) {
        failed = true;
        break;
      }
    }
    if (ec) {
      failed = !(ec == asio::error::eof || ec == ssl::error::stream_truncated);
      break;
    }
  }
  error_code ignored;
  if (!failed) {
    to.lowest_layer().shutdown(tcp::socket::shutdown_send, ignored);
    co_return;
  }
  from.lowest_layer().close(ignored);
  to.lowest_layer().close(ignored);
}

// An HTTP/2 session's connection, its bytes counted on `count`'s series as they move.
template <class S>
std::unique_ptr<ByteStream> counted(std::unique_ptr<S> io, TcpSeriesGuard& count) {
  io->counts = &count.series();
  return io;
}

template <class A, class B>
awaitable<void> pump(A& a, B& b, TcpSeriesGuard& a_count, TcpSeriesGuard& b_count) {
  co_await (copy(a, b, a_count, b_count) && copy(b, a, b_count, a_count));
  error_code ignored;
  a.lowest_layer().close(ignored);
  b.lowest_layer().close(ignored);
}

// Linger briefly for the client's FIN after answering, so closing does not reset the
// connection under the answer.
awaitable<void> linger(tcp::socket& client) {
  error_code ec;
  client.shutdown(tcp::socket::shutdown_send, ec);
  char drain[512];
  const auto deadline = Clock::now() + milliseconds(200);
  while (co_await wait_readable(client, deadline)) {
    const std::size_t n = client.receive(asio::buffer(drain), 0, ec);
    if (ec || n == 0) break;
  }
}

// The HTTP/2 (and gRPC) form: answer the first request, then GOAWAY.
awaitable<void> respond_error_h2(tcp::socket& client, int status, const std::string& cause) {
  H2ErrorResponder h2(status, cause);
  std::string buf(16384, '\0');
  const auto deadline = Clock::now() + milliseconds(1000);
  while (!h2.answered()) {
    if (!co_await wait_readable(client, deadline)) co_return;
    error_code ec;
    const std::size_t n = client.receive(asio::buffer(buf), 0, ec);
    if (ec || n == 0 || !h2.receive(std::string_view(buf.data(), n))) co_return;
  }
  const std::string out = h2.take_output();
  co_await asio::async_write(client, asio::buffer(out), nothrow);
  co_await linger(client);
}

// An error the proxy produces itself, answered to an HTTP client that is waiting for a
// response. Opaque TCP just sees the connection close.
awaitable<void> respond_error(tcp::socket& client, Protocol protocol, int status, const std::string& cause) {
  if (protocol == Protocol::http2) {
    co_await respond_error_h2(client, status, cause);
    co_return;
  }
  if (protocol != Protocol::http1) co_return;
  error_code ec;
  // Consume what the client already sent, so closing does not reset the connection under the
  // response.
  std::string sink(std::max<std::size_t>(client.available(ec), 1), '\0');
  if (!ec && client.available(ec) > 0) client.receive(asio::buffer(sink), 0, ec);
  const std::string response = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
                               "\r\ncontent-length: 0\r\nconnection: close\r\nmeshctl-proxy-error: " + cause + "\r\n\r\n";
  co_await asio::async_write(client, asio::buffer(response), nothrow);
  co_await linger(client);
}

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    core::log::error(kLog, std::string("connection ended by an exception: ") + x.what());
  }
}

}  // namespace

OriginalDestination kernel_original_destination() {
  return [](int fd, Direction) { return core::net::original_destination(fd); };
}

struct Proxy::Impl {
  Impl(ProxyConfig c, core::discovery::Resolver& r, IdentitySource i, OriginalDestination o)
      : config(std::move(c)), resolver(r), identity(std::move(i)), original_dst(std::move(o)), workers(config.workers) {}

  ProxyConfig config;
  core::discovery::Resolver& resolver;
  IdentitySource identity;
  OriginalDestination original_dst;
  TcpStats tcp_stats;
  HttpStats http_stats;
  HttpForwarder forwarder{identity, tcp_stats, config.outbound_connect_timeout};
  const std::vector<std::string> server_alpn{std::string(kTransportAlpn), "h2"};
  std::mutex alpn_mu;
  std::vector<std::shared_ptr<SSL_CTX>> alpn_done;  // server contexts already given ALPN

  std::atomic<bool> listening{false};
  std::atomic<bool> shutting_down{false};
  std::atomic<std::int64_t> active{0};
  std::atomic<std::uint64_t> round_robin{0};
  std::mutex done_mu;
  std::condition_variable done_cv;
  bool done = false;
  int inbound_port = 0, outbound_port = 0, admin_port = 0;

  // The contexts go last: destroying them destroys the connections' coroutine frames, which
  // still use the members above. The control context goes before the workers: an accept it
  // still has pending owns a socket of a worker context.
  core::net::WorkerPool workers;
  asio::io_context control{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> control_guard;
  std::thread control_thread;
  std::unique_ptr<tcp::acceptor> inbound_acceptor, outbound_acceptor, admin_acceptor;
  std::unique_ptr<asio::signal_set> signals;

  struct ActiveGuard {
    explicit ActiveGuard(Impl& i) : impl(i) { impl.active.fetch_add(1); }
    ~ActiveGuard() { impl.active.fetch_sub(1); }
    Impl& impl;
  };

  bool is_ready() const { return listening.load() && !shutting_down.load() && identity() != nullptr; }

  std::unique_ptr<tcp::acceptor> listen(const core::net::HostPort& hp, const char* what, int& port) {
    error_code ec;
    const auto addr = asio::ip::make_address(hp.host, ec);
    if (ec) throw core::Error(std::string(what) + " address " + hp.to_string() + " is not an IP address");
    auto acc = std::make_unique<tcp::acceptor>(control);
    const tcp::endpoint ep(addr, static_cast<unsigned short>(hp.port));
    acc->open(ep.protocol(), ec);
    if (!ec) acc->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acc->bind(ep, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw core::Error("cannot listen for " + std::string(what) + " on " + hp.to_string() + ": " + ec.message());
    port = acc->local_endpoint().port();
    return acc;
  }

  void start() {
    outbound_acceptor = listen(config.outbound_addr, "outbound", outbound_port);
    inbound_acceptor = listen(config.inbound_addr, "inbound", inbound_port);
    admin_acceptor = listen(config.admin_addr, "admin", admin_port);
    control_guard.emplace(asio::make_work_guard(control));
    asio::co_spawn(control, accept_loop(*outbound_acceptor, Direction::outbound), log_exception);
    asio::co_spawn(control, accept_loop(*inbound_acceptor, Direction::inbound), log_exception);
    asio::co_spawn(control, admin_loop(), log_exception);
    for (std::size_t i = 0; i < workers.size(); ++i) {
      auto& ctx = workers.context(i);
      asio::post(ctx, [this, ex = ctx.get_executor()] { forwarder.init_worker(ex); });
    }
    workers.start();
    control_thread = std::thread([this] {
      for (;;) {
        try {
          control.run();
          return;
        } catch (const std::exception& e) {
          core::log::error(kLog, std::string("control loop: ") + e.what());
        }
      }
    });
    listening = true;
  }

  void shutdown() {
    if (shutting_down.exchange(true)) return;
    asio::post(control, [this] {
      core::log::info(kLog, "shutting down: no new connections, " + std::to_string(active.load()) +
                                " open ones have " + std::to_string(config.shutdown_grace_period.count()) + "ms");
      error_code ignored;
      if (outbound_acceptor) outbound_acceptor->close(ignored);
      if (inbound_acceptor) inbound_acceptor->close(ignored);
      if (signals) signals->cancel(ignored);
      // Kept-alive HTTP/1 connections close after their current request; HTTP/2 ones get GOAWAY.
      for (std::size_t i = 0; i < workers.size(); ++i) {
        asio::post(workers.context(i), [this] { forwarder.drain_worker(); });
      }
      asio::co_spawn(control, drain(), log_exception);
    });
  }

  awaitable<void> drain() {
    const auto deadline = Clock::now() + config.shutdown_grace_period;
    while (active.load() > 0 && Clock::now() < deadline) co_await sleep_for(milliseconds(20));
    if (active.load() > 0) {
      core::log::warn(kLog, "grace period over; closing " + std::to_string(active.load()) + " connections");
    } else {
      core::log::info(kLog, "drained");
    }
    error_code ignored;
    if (admin_acceptor) admin_acceptor->close(ignored);
    {
      std::lock_guard lock(done_mu);
      done = true;
    }
    done_cv.notify_all();
  }

  void wait() {
    std::unique_lock lock(done_mu);
    done_cv.wait(lock, [this] { return done; });
  }

  void stop_threads() {
    control_guard.reset();
    control.stop();
    if (control_thread.joinable()) control_thread.join();
    workers.stop();
    // Pending accepts hold sockets of the worker contexts: release them while those still exist.
    signals.reset();
    inbound_acceptor.reset();
    outbound_acceptor.reset();
    admin_acceptor.reset();
  }

  awaitable<void> accept_loop(tcp::acceptor& acceptor, Direction direction) {
    for (;;) {
      auto& worker = workers.next();
      auto [ec, socket] = co_await acceptor.async_accept(worker, nothrow);
      if (ec) {
        if (!acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
        // Out of file descriptors and the like: back off rather than spin.
        core::log::warn(kLog, "accept: " + ec.message());
        co_await sleep_for(milliseconds(50));
        continue;
      }
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      if (direction == Direction::outbound) {
        asio::co_spawn(worker, serve_outbound(std::move(socket)), log_exception);
      } else {
        asio::co_spawn(worker, serve_inbound(std::move(socket)), log_exception);
      }
    }
  }

  // ---- outbound -------------------------------------------------------------------------------

  // The target's first snapshot, waiting a little for discovery to answer.
  awaitable<core::discovery::EndpointSnapshot> first_snapshot(core::discovery::TargetWatch& watch) {
    auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, config.discovery_wait);
    std::weak_ptr<asio::steady_timer> weak = timer;
    watch.on_first_snapshot([weak] {
      if (auto t = weak.lock()) asio::post(t->get_executor(), [t] { t->cancel(); });
    });
    if (auto snap = watch.current()) co_return snap;
    co_await timer->async_wait(nothrow);
    co_return watch.current();
  }

  std::string outbound_src_labels() const {
    return label("direction", "outbound") + "," + label("peer", "src") + "," + label("tls", "no_identity") + "," +
           label("no_tls_reason", "loopback");
  }

  std::string outbound_dst_labels(const SocketAddress& target, const std::string& server_id,
                                  const std::string& no_tls_reason,
                                  const std::map<std::string, std::string>& dst_labels) const {
    std::string l = label("direction", "outbound") + "," + label("peer", "dst") + "," +
                    label("target_addr", target.to_string()) + "," + label("target_ip", target.ip) + "," +
                    label("target_port", std::to_string(target.port));
    if (!server_id.empty()) {
      l += "," + label("tls", "true") + "," + label("server_id", server_id);
    } else {
      l += "," + label("tls", "no_identity") + "," + label("no_tls_reason", no_tls_reason);
    }
    for (const auto& [k, v] : dst_labels) l += "," + label("dst_" + k, v);
    return l;
  }

  awaitable<void> serve_outbound(tcp::socket client) {
    ActiveGuard active_guard(*this);
    TcpSeriesGuard src(tcp_stats.series(outbound_src_labels()));
    const SocketAddress dst = original_dst(client.native_handle(), Direction::outbound);
    auto watch = resolver.watch(dst.to_string());
    // Not `watch ? co_await ... : nullptr`: GCC 12 destroys the result of a co_await inside a
    // conditional expression twice.
    core::discovery::EndpointSnapshot snap;
    if (watch) snap = co_await first_snapshot(*watch);

    Protocol protocol = Protocol::opaque;
    const bool opaque = config.opaque_ports.contains(dst.port) || (snap && snap->exists && snap->opaque);
    if (!opaque) {
      const auto peeked = co_await peek_until(client, kDetectBytes, Clock::now() + config.detect_timeout,
                                              [](std::string_view b) { return detect_protocol(b).complete; });
      if (peeked.status == PeekStatus::closed && peeked.bytes.empty()) co_return;
      const auto d = detect_protocol(peeked.bytes);
      if (d.complete) protocol = d.protocol;
      if (peeked.status == PeekStatus::timeout) {
        core::log::debug(kLog, "outbound " + dst.to_string() + ": no bytes within the detect timeout, continuing as TCP");
      }
    }

    if (!snap || !snap->exists) {
      // Not a target the mesh knows: forward to where the application was going, unchanged.
      tcp::socket upstream(client.get_executor());
      const auto ec = co_await connect_with_timeout(upstream, dst, config.outbound_connect_timeout);
      if (ec) {
        core::log::info(kLog, "outbound " + dst.to_string() + ": connect failed: " + status_cause(ec));
        co_await respond_error(client, protocol, ec == asio::error::timed_out ? 504 : 502,
                               "connect to " + dst.to_string() + " failed: " + status_cause(ec));
        co_return;
      }
      TcpSeriesGuard up(tcp_stats.series(outbound_dst_labels(dst, "", "not_provided_by_service_discovery", {})));
      co_await pump(client, upstream, src, up);
      co_return;
    }
    if (snap->endpoints.empty()) {
      co_await respond_error(client, protocol, 503, "no endpoints for " + dst.to_string());
      co_return;
    }
    if (protocol != Protocol::opaque) {
      co_await serve_outbound_http(std::move(client), protocol, dst, watch, src);
      co_return;
    }
    co_await carry_opaque(client, protocol, dst, pick(*snap), {}, src);
  }

  const core::discovery::Endpoint& pick(const core::discovery::EndpointSet& set) {
    return set.endpoints[round_robin.fetch_add(1, std::memory_order_relaxed) % set.endpoints.size()];
  }

  static bool meshed(const core::discovery::Endpoint& ep) {
    return !ep.identity.empty() && ep.hint != core::discovery::ProtocolHint::unknown;
  }

  // Where a meshed endpoint's proxy listens: the opaque transport port discovery named, else the
  // application's port, which the peer pod's iptables hands to its proxy.
  static SocketAddress proxy_address(const core::discovery::Endpoint& ep) {
    return {ep.ip, ep.opaque_transport_port > 0 ? ep.opaque_transport_port : ep.port};
  }

  // The connection as a byte stream to `ep`: inside mutual TLS with the transport header when it
  // is meshed, as is otherwise. `prefix` (an upgrade request already read) goes first.
  awaitable<void> carry_opaque(tcp::socket& client, Protocol protocol, const SocketAddress& dst,
                               const core::discovery::Endpoint& ep, const std::string& prefix, TcpSeriesGuard& src) {
    const SocketAddress target{ep.ip, ep.port};
    const bool to_proxy = meshed(ep);
    tcp::socket upstream(client.get_executor());
    const SocketAddress dial = to_proxy ? proxy_address(ep) : target;
    if (const auto ec = co_await connect_with_timeout(upstream, dial, config.outbound_connect_timeout)) {
      core::log::info(kLog, "outbound " + dst.to_string() + ": connect to " + dial.to_string() +
                                " failed: " + status_cause(ec));
      co_await respond_error(client, protocol, ec == asio::error::timed_out ? 504 : 502,
                             "connect to " + dial.to_string() + " failed: " + status_cause(ec));
      co_return;
    }
    if (!to_proxy) {
      TcpSeriesGuard up(tcp_stats.series(outbound_dst_labels(target, "", "not_provided_by_service_discovery", ep.labels)));
      if (!prefix.empty()) {
        auto [pec, pn] = co_await asio::async_write(upstream, asio::buffer(prefix), nothrow);
        up.add_written(pn);
        if (pec) co_return;
      }
      co_await pump(client, upstream, src, up);
      co_return;
    }
    const auto id = identity();
    if (!id) {
      co_await respond_error(client, protocol, 502, "no workload certificate yet");
      co_return;
    }
    auto ctx = adopt(id->client_context);
    TlsStream tls(std::move(upstream), ctx);
    if (!core::net::configure_client(tls.native_handle(), ep.identity, {std::string(kTransportAlpn)})) {
      co_await respond_error(client, protocol, 502, "cannot set up TLS for " + ep.identity);
      co_return;
    }
    if (const auto ec = co_await handshake_with_timeout(tls, ssl::stream_base::client)) {
      core::log::warn(kLog, "outbound " + dst.to_string() + ": TLS with " + dial.to_string() + " (expecting " +
                                ep.identity + ") failed: " + status_cause(ec));
      co_await respond_error(client, protocol, 502, "TLS handshake with " + dial.to_string() + " failed");
      co_return;
    }
    const std::string header = encode_transport_header(ep.port) + prefix;
    TcpSeriesGuard up(tcp_stats.series(outbound_dst_labels(target, ep.identity, "", ep.labels)));
    auto [hec, hn] = co_await asio::async_write(tls, asio::buffer(header), nothrow);
    up.add_written(hn);
    if (hec) co_return;
    co_await pump(client, tls, src, up);
  }

  // ---- HTTP -----------------------------------------------------------------------------------

  // Where one HTTP request goes and how it is counted; `error` set when it cannot go anywhere.
  struct Routed {
    Hop hop;
    std::string labels;
    int status = 0;
    std::string error;
  };

  static std::string target_labels(const SocketAddress& target) {
    return label("target_addr", target.to_string()) + "," + label("target_ip", target.ip) + "," +
           label("target_port", std::to_string(target.port));
  }

  Routed route_outbound(const SocketAddress& dst, core::discovery::TargetWatch& watch, const RequestHead& head) {
    Routed r;
    const auto snap = watch.current();
    if (!snap || snap->endpoints.empty()) {
      r.status = 503;
      r.error = "no endpoints for " + dst.to_string();
      r.labels = label("direction", "outbound") + "," + label("authority", head.authority) + "," + target_labels(dst) +
                 "," + label("tls", "no_identity") + "," + label("no_tls_reason", "not_provided_by_service_discovery");
      return r;
    }
    const auto& ep = pick(*snap);
    const SocketAddress target{ep.ip, ep.port};
    const bool to_proxy = meshed(ep);
    r.hop.addr = to_proxy ? proxy_address(ep) : target;
    r.hop.identity = to_proxy ? ep.identity : "";
    r.hop.target_port = ep.port;
    if (to_proxy) {
      // The HTTP/2 connection to the peer proxy carries every service's requests to that pod, so
      // it is labelled with the address dialled and the pod, not with one service.
      auto pod_labels = ep.labels;
      pod_labels.erase("service");
      r.hop.tcp_labels = outbound_dst_labels(r.hop.addr, ep.identity, "", pod_labels);
    } else {
      r.hop.tcp_labels = outbound_dst_labels(target, "", "not_provided_by_service_discovery", ep.labels);
    }
    r.labels = label("direction", "outbound") + "," + label("authority", head.authority) + "," + target_labels(target) +
               "," +
               (to_proxy ? label("tls", "true") + "," + label("server_id", ep.identity)
                         : label("tls", "no_identity") + "," + label("no_tls_reason", "not_provided_by_service_discovery"));
    for (const auto& [k, v] : ep.labels) r.labels += "," + label("dst_" + k, v);
    return r;
  }

  static double elapsed_ms(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  }

  static ResponseOutcome outcome(const ResponseHead& head, const BodyPipe* body, const std::string& error) {
    ResponseOutcome o;
    o.status = head.status;
    o.error = error;
    if (is_grpc(head.headers)) {
      auto code = header_value(head.headers, "grpc-status");
      if (code.empty() && body) code = header_value(body->trailers(), "grpc-status");
      o.grpc_status = 2;  // no grpc-status counts as Unknown
      if (!code.empty()) {
        int v = 0;
        for (char c : code) v = c >= '0' && c <= '9' ? v * 10 + (c - '0') : v;
        o.grpc_status = v;
      }
    }
    return o;
  }

  // One request arrived on an HTTP/2 connection the proxy serves: forward it, answer it, count it.
  awaitable<void> relay_stream(std::shared_ptr<H2Session> session, std::shared_ptr<H2Stream> st, Routed r, bool http1) {
    const auto t0 = Clock::now();
    if (st->headers_too_large) {
      session->respond(*st, h2_error_head(st->request, 431, "request header too large"), nullptr);
      co_return;
    }
    if (!r.error.empty()) {
      const auto head = h2_error_head(st->request, r.status, r.error);
      http_stats.request(r.labels);
      http_stats.response(r.labels, outcome(head, nullptr, r.error), elapsed_ms(t0));
      session->respond(*st, head, nullptr);
      co_return;
    }
    http_stats.request(r.labels);
    Answer a = co_await forwarder.forward(r.hop, st->request, st->in, http1);
    const double ms = elapsed_ms(t0);
    if (!a.error.empty()) {
      const auto head = h2_error_head(st->request, a.head.status, a.error);
      http_stats.response(r.labels, outcome(head, nullptr, a.error), ms);
      session->respond(*st, head, nullptr);
      co_return;
    }
    if (st->closed) {
      // The client gave up while the answer was on its way.
      if (a.body) a.body->abandon();
      http_stats.response(r.labels, outcome(a.head, nullptr, "client reset the stream"), ms);
      co_return;
    }
    st->on_close = [this, labels = std::move(r.labels), ms, head = a.head, body = a.body](const H2Stream& closed) {
      const std::string error = closed.error_code != 0 ? "stream reset" : "";
      http_stats.response(labels, outcome(head, body.get(), error), ms);
    };
    session->respond(*st, a.head, a.body);
  }

  awaitable<void> serve_outbound_http(tcp::socket client, Protocol protocol, SocketAddress dst,
                                      std::shared_ptr<core::discovery::TargetWatch> watch, TcpSeriesGuard& src) {
    if (protocol == Protocol::http2) {
      auto handler = [this, dst, watch](std::shared_ptr<H2Session> s, std::shared_ptr<H2Stream> st) -> awaitable<void> {
        co_await relay_stream(s, st, route_outbound(dst, *watch, st->request), false);
      };
      auto session = H2Session::make(counted(std::make_unique<TcpByteStream>(std::move(client)), src), H2Session::Role::server, handler);
      forwarder.track_server(session);
      co_await session->run();
      co_return;
    }
    const Forward forward = [this, dst, watch](RequestHead head, std::shared_ptr<BodyPipe> body) -> awaitable<Answer> {
      const auto t0 = Clock::now();
      Routed r = route_outbound(dst, *watch, head);
      http_stats.request(r.labels);
      // Not `cond ? co_await ... : ...`: GCC 12 destroys such a result twice.
      Answer a;
      if (r.error.empty()) {
        a = co_await forwarder.forward(r.hop, std::move(head), std::move(body), true);
      } else {
        a = error_answer(r.status, r.error);
      }
      const double ms = elapsed_ms(t0);
      a.finished = [this, labels = std::move(r.labels), ms](const Answer& done, bool complete) {
        http_stats.response(labels, outcome(done.head, done.body.get(), complete ? done.error : "response incomplete"), ms);
      };
      co_return a;
    };
    Http1Limits limits;
    const auto result = co_await serve_http1(client, forward, limits, forwarder.stop_event());
    add_kernel_byte_counts(client, src);
    if (!result.upgrade) co_return;
    // Upgrade and CONNECT: the rest of the connection is a byte stream to one endpoint.
    const auto snap = watch->current();
    if (!snap || snap->endpoints.empty()) {
      co_await respond_error(client, Protocol::http1, 503, "no endpoints for " + dst.to_string());
      co_return;
    }
    co_await carry_opaque(client, Protocol::http1, dst, pick(*snap), result.replay, src);
  }

  // ---- inbound --------------------------------------------------------------------------------

  std::string inbound_dst_labels(const SocketAddress& target) const {
    return label("direction", "inbound") + "," + label("peer", "dst") + "," + label("target_addr", target.to_string()) +
           "," + label("target_ip", target.ip) + "," + label("target_port", std::to_string(target.port)) + "," +
           label("tls", "no_identity") + "," + label("no_tls_reason", "loopback");
  }

  // Where inbound traffic for `port` goes: the application, on this host.
  SocketAddress app_address(int port) const { return {"127.0.0.1", port}; }

  awaitable<void> serve_inbound(tcp::socket s) {
    ActiveGuard active_guard(*this);
    const auto id = identity();
    const auto peeked =
        co_await peek_until(s, 5 + 16384, Clock::now() + config.detect_timeout, [](std::string_view b) {
          const auto r = core::net::parse_client_hello(
              {reinterpret_cast<const unsigned char*>(b.data()), b.size()});
          return r.status != core::net::ClientHelloStatus::incomplete;
        });
    if (peeked.status == PeekStatus::closed && peeked.bytes.empty()) co_return;
    const auto hello =
        core::net::parse_client_hello({reinterpret_cast<const unsigned char*>(peeked.bytes.data()), peeked.bytes.size()});
    const bool tls_for_us = hello.status == core::net::ClientHelloStatus::complete && id &&
                            hello.hello.server_name == config.identity_name;
    if (tls_for_us) {
      co_await serve_inbound_mtls(std::move(s), id);
      co_return;
    }
    // Plaintext, or TLS the application terminates itself: forward it unchanged.
    std::string src_labels = label("direction", "inbound") + "," + label("peer", "src") + ",";
    if (hello.status == core::net::ClientHelloStatus::complete) {
      src_labels += label("tls", "opaque") + "," + label("sni", hello.hello.server_name);
    } else {
      src_labels += label("tls", "no_identity") + "," + label("no_tls_reason", "no_tls_from_remote");
    }
    TcpSeriesGuard src(tcp_stats.series(src_labels));
    const SocketAddress dst = original_dst(s.native_handle(), Direction::inbound);
    if (dst.port == inbound_port) {
      // Not redirected: forwarding to ourselves would loop.
      core::log::debug(kLog, "inbound connection addressed to the proxy itself; closing");
      co_return;
    }
    const SocketAddress app = app_address(dst.port);
    if (hello.status == core::net::ClientHelloStatus::not_tls && !config.opaque_ports.contains(dst.port)) {
      // Plaintext from an unmeshed client: HTTP is still served (and counted) per request.
      const auto first = co_await peek_until(s, kDetectBytes, Clock::now() + config.detect_timeout,
                                             [](std::string_view b) { return detect_protocol(b).complete; });
      const auto d = detect_protocol(first.bytes);
      if (d.complete && d.protocol != Protocol::opaque) {
        co_await serve_inbound_plain_http(std::move(s), d.protocol, app, src);
        co_return;
      }
    }
    co_await carry_to_app(s, app, {}, src);
  }

  // The rest of an inbound connection as bytes to the application, `prefix` first.
  // The rest of an inbound connection (plain or mutual TLS) as a byte stream to the application,
  // `prefix` (bytes already read from the client) first.
  template <class Stream>
  awaitable<void> carry_to_app(Stream& s, const SocketAddress& app, const std::string& prefix, TcpSeriesGuard& src) {
    tcp::socket upstream(s.get_executor());
    if (const auto ec = co_await connect_with_timeout(upstream, app, config.inbound_connect_timeout)) {
      core::log::info(kLog, "inbound: connect to " + app.to_string() + " failed: " + status_cause(ec));
      co_return;
    }
    TcpSeriesGuard up(tcp_stats.series(inbound_dst_labels(app)));
    if (!prefix.empty()) {
      auto [pec, pn] = co_await asio::async_write(upstream, asio::buffer(prefix), nothrow);
      up.add_written(pn);
      if (pec) co_return;
    }
    co_await pump(s, upstream, src, up);
  }

  Routed route_inbound(const SocketAddress& app, const std::string& tls_labels) {
    Routed r;
    r.labels = label("direction", "inbound") + "," + target_labels(app) + "," + tls_labels;
    if (app.port <= 0 || app.port > 65535 || app.port == inbound_port) {
      r.status = 400;
      r.error = "bad target port";
    }
    r.hop.addr = app;
    r.hop.target_port = app.port;
    r.hop.tcp_labels = inbound_dst_labels(app);
    return r;
  }

  awaitable<void> serve_inbound_plain_http(tcp::socket s, Protocol protocol, SocketAddress app, TcpSeriesGuard& src) {
    const std::string tls_labels = label("tls", "no_identity") + "," + label("no_tls_reason", "no_tls_from_remote");
    if (protocol == Protocol::http2) {
      auto handler = [this, app, tls_labels](std::shared_ptr<H2Session> session,
                                             std::shared_ptr<H2Stream> st) -> awaitable<void> {
        co_await relay_stream(session, st, route_inbound(app, tls_labels), false);
      };
      auto session = H2Session::make(counted(std::make_unique<TcpByteStream>(std::move(s)), src), H2Session::Role::server, handler);
      forwarder.track_server(session);
      co_await session->run();
      co_return;
    }
    const Forward forward = [this, app, tls_labels](RequestHead head, std::shared_ptr<BodyPipe> body) -> awaitable<Answer> {
      const auto t0 = Clock::now();
      Routed r = route_inbound(app, tls_labels);
      http_stats.request(r.labels);
      Answer a = co_await forwarder.forward(r.hop, std::move(head), std::move(body), true);
      const double ms = elapsed_ms(t0);
      a.finished = [this, labels = std::move(r.labels), ms](const Answer& done, bool complete) {
        http_stats.response(labels, outcome(done.head, done.body.get(), complete ? done.error : "response incomplete"), ms);
      };
      co_return a;
    };
    const auto result = co_await serve_http1(s, forward, Http1Limits{}, forwarder.stop_event());
    add_kernel_byte_counts(s, src);
    if (result.upgrade) co_await carry_to_app(s, app, result.replay, src);
  }

  void ensure_alpn(const std::shared_ptr<SSL_CTX>& ctx) {
    std::lock_guard lock(alpn_mu);
    for (const auto& c : alpn_done) {
      if (c == ctx) return;
    }
    core::net::enable_alpn(ctx.get(), &server_alpn);
    alpn_done.push_back(ctx);
    if (alpn_done.size() > 4) alpn_done.erase(alpn_done.begin());
  }

  // Requests from another proxy, multiplexed over HTTP/2: each goes to the application port its
  // meshctl-target-port names (else the port the connection was addressed to), restored to
  // HTTP/1.1 when it started as such.
  awaitable<void> serve_inbound_h2(TlsStream tls, int fd, std::string client_id, TcpSeriesGuard& src) {
    const int addressed_port = original_dst(fd, Direction::inbound).port;
    auto handler = [this, addressed_port, client_id](std::shared_ptr<H2Session> s,
                                                     std::shared_ptr<H2Stream> st) -> awaitable<void> {
      int port = addressed_port;
      if (const auto p = header_value(st->request.headers, kTargetPortHeader); !p.empty()) {
        port = 0;
        for (char c : p) port = c >= '0' && c <= '9' && port < 65536 ? port * 10 + (c - '0') : 65536;
      }
      Routed r = route_inbound(app_address(port), label("tls", "true") + "," + label("client_id", client_id));
      const bool http1 = header_value(st->request.headers, kOrigProtoHeader) == "HTTP/1.1";
      co_await relay_stream(s, st, std::move(r), http1);
    };
    auto session = H2Session::make(counted(std::make_unique<TlsByteStream>(std::move(tls)), src), H2Session::Role::server, handler);
    forwarder.track_server(session);
    co_await session->run();
  }

  awaitable<void> serve_inbound_mtls(tcp::socket s, std::shared_ptr<const core::identity::CertifiedIdentity> id) {
    const int fd = s.native_handle();
    ensure_alpn(id->server_context);
    auto ctx = adopt(id->server_context);
    TlsStream tls(std::move(s), ctx);
    if (const auto ec = co_await handshake_with_timeout(tls, ssl::stream_base::server)) {
      core::log::info(kLog, "inbound: TLS handshake failed: " + status_cause(ec));
      co_return;
    }
    const std::string client_id = core::net::peer_identity(tls.native_handle());
    const std::string alpn = core::net::selected_alpn(tls.native_handle());
    TcpSeriesGuard src(tcp_stats.series(label("direction", "inbound") + "," + label("peer", "src") + "," +
                                        label("tls", "true") + "," + label("client_id", client_id)));
    if (alpn == "h2") {
      co_await serve_inbound_h2(std::move(tls), fd, client_id, src);
      co_return;
    }
    std::string leftover;
    int port = 0;
    if (alpn == kTransportAlpn) {
      // The transport header names the application port.
      std::string head;
      char buf[kTransportHeaderMax];
      TransportHeader h;
      const auto deadline = Clock::now() + kTlsHandshakeTimeout;
      for (;;) {
        asio::steady_timer timer(tls.get_executor());
        timer.expires_at(deadline);
        auto r = co_await (tls.async_read_some(asio::buffer(buf), nothrow) || timer.async_wait(nothrow));
        if (r.index() != 0) co_return;
        auto [ec, n] = std::get<0>(r);
        head.append(buf, n);
        src.add_read(n);
        const auto status = decode_transport_header(head, h);
        if (status == HeaderStatus::complete) break;
        if (status == HeaderStatus::invalid || ec) {
          core::log::info(kLog, "inbound: bad transport header from " + client_id);
          co_return;
        }
      }
      leftover = head.substr(h.length);
      port = h.port;
    } else {
      port = original_dst(fd, Direction::inbound).port;
    }
    co_await carry_to_app(tls, app_address(port), leftover, src);
  }

  // ---- admin ----------------------------------------------------------------------------------

  awaitable<void> admin_loop() {
    for (;;) {
      auto [ec, socket] = co_await admin_acceptor->async_accept(nothrow);
      if (ec) {
        if (!admin_acceptor->is_open() || ec == asio::error::operation_aborted) co_return;
        co_await sleep_for(milliseconds(50));
        continue;
      }
      asio::co_spawn(control, serve_admin(std::move(socket)), log_exception);
    }
  }

  std::string metrics_text() const {
    std::string out = http_stats.render() + tcp_stats.render();
    out += "# HELP proxy_ready Whether the proxy is ready (identity obtained, listeners up).\n"
           "# TYPE proxy_ready gauge\nproxy_ready " +
           std::string(is_ready() ? "1" : "0") + "\n";
    return out;
  }

  awaitable<void> serve_admin(tcp::socket s) {
    std::string req;
    char buf[1024];
    const auto deadline = Clock::now() + kAdminRequestTimeout;
    auto reply = [&](int status, const std::string& body,
                     const char* type = "text/plain; charset=utf-8") -> awaitable<void> {
      const std::string head = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
                               "\r\ncontent-type: " + type + "\r\ncontent-length: " + std::to_string(body.size()) +
                               "\r\nconnection: close\r\n\r\n";
      const std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(body)};
      co_await asio::async_write(s, bufs, nothrow);
      error_code ignored;
      s.shutdown(tcp::socket::shutdown_send, ignored);
    };
    while (req.find("\r\n\r\n") == std::string::npos) {
      asio::steady_timer timer(s.get_executor());
      timer.expires_at(deadline);
      auto r = co_await (s.async_read_some(asio::buffer(buf), nothrow) || timer.async_wait(nothrow));
      if (r.index() != 0) co_return;
      auto [ec, n] = std::get<0>(r);
      req.append(buf, n);
      if (ec) co_return;
      if (req.size() > kAdminMaxRequest) {
        co_await reply(431, "request header too large\n");
        co_return;
      }
    }
    const auto line_end = req.find("\r\n");
    const std::string line = req.substr(0, line_end);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.find(' ', sp1 == std::string::npos ? 0 : sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos) {
      co_await reply(400, "bad request\n");
      co_return;
    }
    const std::string method = line.substr(0, sp1);
    std::string path = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (const auto q = path.find('?'); q != std::string::npos) path.resize(q);
    if (path == "/live") {
      co_await reply(200, "live\n");
    } else if (path == "/ready") {
      if (is_ready()) {
        co_await reply(200, "ready\n");
      } else {
        co_await reply(503, "not ready\n");
      }
    } else if (path == "/metrics") {
      co_await reply(200, metrics_text(), "text/plain; version=0.0.4");
    } else if (path == "/shutdown") {
      error_code ec;
      const auto peer = s.remote_endpoint(ec);
      if (method != "POST") {
        co_await reply(405, "method not allowed\n");
      } else if (ec || !peer.address().is_loopback()) {
        co_await reply(403, "shutdown is only accepted from loopback\n");
      } else {
        co_await reply(200, "shutdown\n");
        shutdown();
      }
    } else {
      co_await reply(404, "not found\n");
    }
  }
};

Proxy::Proxy(ProxyConfig config, core::discovery::Resolver& resolver, IdentitySource identity,
             OriginalDestination original_destination)
    : impl_(std::make_shared<Impl>(std::move(config), resolver, std::move(identity), std::move(original_destination))) {}

Proxy::~Proxy() {
  if (impl_->listening.load()) {
    impl_->shutdown();
    impl_->wait();
  }
  impl_->stop_threads();
}

void Proxy::start() { impl_->start(); }

void Proxy::shutdown_on_signals() {
  auto* impl = impl_.get();
  impl->signals = std::make_unique<asio::signal_set>(impl->control, SIGTERM, SIGINT);
  impl->signals->async_wait([impl](const error_code& ec, int sig) {
    if (ec) return;
    core::log::info(kLog, std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT"));
    impl->shutdown();
  });
}

void Proxy::shutdown() { impl_->shutdown(); }
void Proxy::wait() { impl_->wait(); }
int Proxy::inbound_port() const { return impl_->inbound_port; }
int Proxy::outbound_port() const { return impl_->outbound_port; }
int Proxy::admin_port() const { return impl_->admin_port; }
bool Proxy::ready() const { return impl_->is_ready(); }
std::string Proxy::metrics() const { return impl_->metrics_text(); }

int run_proxy(const ProxyConfig& config, core::discovery::Resolver& resolver, IdentitySource identity) {
  Proxy proxy(config, resolver, std::move(identity));
  proxy.start();
  proxy.shutdown_on_signals();
  core::log::info(kLog, "outbound on " + config.outbound_addr.host + ":" + std::to_string(proxy.outbound_port()) +
                            ", inbound on " + config.inbound_addr.host + ":" + std::to_string(proxy.inbound_port()) +
                            ", admin on http://" + config.admin_addr.host + ":" + std::to_string(proxy.admin_port()));
  proxy.wait();
  return 0;
}

}  // namespace meshctl::dataplane::proxy

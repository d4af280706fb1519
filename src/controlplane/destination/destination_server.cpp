#include "controlplane/destination/destination_server.h"

// GCC 12 inlines Asio's coroutine-frame allocator (aligned_alloc behind operator new) and then
// takes the matching operator delete for a mismatch; the pair is Asio's own and correct.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/discovery/destination_protocol.h"
#include "core/error.h"
#include "core/identity/identity_client.h"
#include "core/identity/identity_name.h"
#include "core/log/log.h"
#include "core/metrics/registry.h"
#include "core/net/host_port.h"
#include "core/store/local_store.h"
#include "core/tls/files.h"

namespace meshctl::controlplane::destination {
namespace {

namespace asio = boost::asio;
namespace protocol = core::discovery::protocol;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using boost::system::error_code;
using Stream = asio::ssl::stream<tcp::socket>;
using Body = std::shared_ptr<const std::string>;

// What /metrics shows; counted with atomics on the hot paths, copied into the registry when
// scraped.
struct Stats {
  std::atomic<std::int64_t> connections_open{0}, watches_open{0}, targets{0};
  std::atomic<std::uint64_t> connections_total{0}, updates_sent{0}, updates_coalesced{0}, bad_lines{0},
      tls_failures{0}, fanouts{0};
  std::atomic<double> last_fanout_seconds{0};
};

// One proxy's connection as the rest of the server sees it: a mailbox of answers not yet
// written. Memory is bounded by the number of watches: a newer answer for a watch replaces one
// still waiting, so a proxy that reads slowly gets the latest state rather than a backlog.
class Connection {
 public:
  Connection(asio::any_io_executor strand, Stats& stats) : strand_(strand), timer_(strand), stats_(stats) {}

  // Any thread.
  void push(std::uint64_t watch, Body body) {
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      auto [it, inserted] = pending_.try_emplace(watch, body);
      if (!inserted) {
        it->second = std::move(body);
        stats_.updates_coalesced.fetch_add(1, std::memory_order_relaxed);
      }
    }
    wake();
  }
  // An error line. Few per connection; a proxy that floods bad lines without reading its
  // answers is cut off rather than buffered for.
  bool push_line(std::string line) {
    {
      std::lock_guard lock(mu_);
      if (closed_) return false;
      if (lines_.size() >= kMaxLines) return false;
      lines_.push_back(std::move(line));
    }
    wake();
    return true;
  }
  void drop(std::uint64_t watch) {
    std::lock_guard lock(mu_);
    pending_.erase(watch);
  }
  void close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      pending_.clear();
      lines_.clear();
    }
    asio::post(strand_, [this, keep = self_.lock()] { timer_.cancel(); });
  }
  bool closed() {
    std::lock_guard lock(mu_);
    return closed_;
  }

  // The writer's next batch, at most about `max_bytes`; `answers` counts the answers in it.
  std::string take(std::size_t max_bytes, std::uint64_t& answers) {
    std::string out;
    answers = 0;
    std::lock_guard lock(mu_);
    while (!lines_.empty() && out.size() < max_bytes) {
      out += lines_.front();
      lines_.pop_front();
    }
    auto it = pending_.begin();
    while (it != pending_.end() && out.size() < max_bytes) {
      out += protocol::encode_answer(it->first, *it->second);
      ++answers;
      it = pending_.erase(it);
    }
    return out;
  }

  // Wakes the writer; at most one wake-up is in flight however many answers arrive.
  void wake() {
    if (notified_.exchange(true)) return;
    asio::post(strand_, [this, keep = self_.lock()] { timer_.cancel(); });
  }

  static constexpr std::size_t kMaxLines = 1024;
  asio::any_io_executor strand_;
  asio::steady_timer timer_;  // the writer sleeps on it; only touched on strand_
  std::atomic<bool> notified_{false};
  std::weak_ptr<Connection> self_;
  // The connection's watches: id -> target. Only the reader touches it.
  std::map<std::uint64_t, std::string> watches_;

 private:
  Stats& stats_;
  std::mutex mu_;
  bool closed_ = false;
  std::map<std::uint64_t, Body> pending_;
  std::deque<std::string> lines_;
};

// Every watched target with its current answer and its watchers. A new snapshot recomputes each
// target once and hands the new answer to the watchers whose answer changed.
class Hub {
 public:
  Hub(core::discovery::DiscoveryConfig config, Stats& stats) : config_(std::move(config)), stats_(stats) {}

  void update(core::store::SnapshotPtr snapshot) {
    const auto start = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    snapshot_ = std::move(snapshot);
    std::size_t pushed = 0;
    for (auto& [key, entry] : entries_) {
      auto set = core::discovery::endpoints_for(*snapshot_, entry.target, config_);
      if (set == entry.set) continue;
      entry.set = std::move(set);
      entry.body = std::make_shared<const std::string>(protocol::encode_answer_body(entry.set));
      for (const auto& [watcher, conn] : entry.watchers) conn->push(watcher.second, entry.body);
      pushed += entry.watchers.size();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    stats_.last_fanout_seconds.store(seconds);
    stats_.fanouts.fetch_add(1);
    if (pushed) {
      core::log::debug("destination", "snapshot " + std::to_string(snapshot_->version()) + ": " +
                                          std::to_string(pushed) + " answers queued in " +
                                          std::to_string(seconds * 1000) + " ms");
    }
  }

  void add(const std::shared_ptr<Connection>& conn, std::uint64_t watch, const std::string& key,
           const core::discovery::Target& target) {
    std::lock_guard lock(mu_);
    auto [it, inserted] = entries_.try_emplace(key);
    auto& entry = it->second;
    if (inserted) {
      entry.target = target;
      entry.set = core::discovery::endpoints_for(*snapshot_, target, config_);
      entry.body = std::make_shared<const std::string>(protocol::encode_answer_body(entry.set));
      stats_.targets.fetch_add(1);
    }
    entry.watchers.emplace(std::pair{conn.get(), watch}, conn);
    stats_.watches_open.fetch_add(1);
    conn->push(watch, entry.body);
  }

  // At shutdown: the connections go with the io_context that owns their timers.
  void clear() {
    std::lock_guard lock(mu_);
    entries_.clear();
  }

  void remove(Connection* conn, std::uint64_t watch, const std::string& key) {
    std::lock_guard lock(mu_);
    const auto it = entries_.find(key);
    if (it == entries_.end()) return;
    if (it->second.watchers.erase({conn, watch})) stats_.watches_open.fetch_sub(1);
    if (it->second.watchers.empty()) {
      entries_.erase(it);
      stats_.targets.fetch_sub(1);
    }
  }

 private:
  struct Entry {
    core::discovery::Target target;
    core::discovery::EndpointSet set;
    Body body;
    std::map<std::pair<Connection*, std::uint64_t>, std::shared_ptr<Connection>> watchers;
  };
  const core::discovery::DiscoveryConfig config_;
  Stats& stats_;
  std::mutex mu_;
  core::store::SnapshotPtr snapshot_ = std::make_shared<const core::store::Snapshot>();
  std::unordered_map<std::string, Entry> entries_;
};

struct Shared {
  const DestinationServerOptions& options;
  core::identity::IdentityClient& identity;
  Hub& hub;
  Stats& stats;
};

constexpr std::size_t kBatchBytes = 256 * 1024;

awaitable<void> write_loop(std::shared_ptr<Stream> stream, std::shared_ptr<Connection> conn, Shared& shared) {
  for (;;) {
    conn->notified_.store(false);
    std::uint64_t answers = 0;
    std::string batch = conn->take(kBatchBytes, answers);
    if (conn->closed()) co_return;
    if (batch.empty()) {
      conn->timer_.expires_after(shared.options.keepalive);
      error_code ec;
      co_await conn->timer_.async_wait(asio::redirect_error(use_awaitable, ec));
      if (conn->closed()) co_return;
      if (ec) continue;  // woken: something to send
      batch = "\n";      // idle: a keep-alive so the proxy notices a dead connection
    }
    error_code ec;
    co_await asio::async_write(*stream, asio::buffer(batch), asio::redirect_error(use_awaitable, ec));
    if (ec) {
      conn->close();
      stream->lowest_layer().close(ec);
      co_return;
    }
    shared.stats.updates_sent.fetch_add(answers, std::memory_order_relaxed);
  }
}

void handle_line(std::string_view line, std::uint64_t line_number, const std::shared_ptr<Connection>& conn,
                 Shared& shared) {
  const auto parsed = protocol::parse_request(line);
  auto refuse = [&](std::uint64_t watch, const std::string& why) {
    shared.stats.bad_lines.fetch_add(1);
    if (!conn->push_line(protocol::encode_error(watch, "line " + std::to_string(line_number) + ": " + why))) {
      conn->close();
    }
  };
  if (!parsed.request) return refuse(parsed.watch, parsed.error);
  const auto& r = *parsed.request;
  switch (r.kind) {
    case protocol::Request::Kind::keepalive: return;
    case protocol::Request::Kind::cancel: {
      const auto it = conn->watches_.find(r.watch);
      if (it == conn->watches_.end()) return;  // already gone: cancels may cross answers
      shared.hub.remove(conn.get(), r.watch, it->second);
      conn->drop(r.watch);
      conn->watches_.erase(it);
      return;
    }
    case protocol::Request::Kind::watch: {
      if (conn->watches_.contains(r.watch)) return refuse(r.watch, "watch " + std::to_string(r.watch) + " is already open");
      if (conn->watches_.size() >= shared.options.max_watches_per_connection) {
        return refuse(r.watch, "too many watches on one connection (at most " +
                                   std::to_string(shared.options.max_watches_per_connection) + ")");
      }
      std::string problem;
      const auto target = core::discovery::parse_target(r.target, problem);
      if (!target) return refuse(r.watch, problem);
      conn->watches_.emplace(r.watch, r.target);
      shared.hub.add(conn, r.watch, r.target, *target);
      return;
    }
  }
}

awaitable<void> serve_connection(tcp::socket socket, Shared& shared) {
  auto ex = co_await asio::this_coro::executor;
  std::string peer;
  {
    error_code ec;
    const auto ep = socket.remote_endpoint(ec);
    peer = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
    socket.set_option(asio::socket_base::keep_alive(true), ec);
    socket.set_option(tcp::no_delay(true), ec);
  }
  // The certificate in force now: a renewal applies to every connection accepted after it.
  const auto id = shared.identity.current();
  if (!id) co_return;
  SSL_CTX_up_ref(id->server_context.get());
  asio::ssl::context ctx(id->server_context.get());  // takes the reference just added
  auto stream = std::make_shared<Stream>(std::move(socket), ctx);

  asio::steady_timer deadline(ex);
  deadline.expires_after(std::chrono::seconds(10));
  deadline.async_wait([stream](error_code ec) {
    if (!ec) stream->lowest_layer().close(ec);
  });
  error_code ec;
  co_await stream->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(use_awaitable, ec));
  deadline.cancel();
  if (ec) {
    shared.stats.tls_failures.fetch_add(1);
    core::log::info("destination", "TLS handshake with " + peer + " failed: " + ec.message());
    stream->lowest_layer().close(ec);
    co_return;
  }
  std::string client_id = "?";
  if (X509* cert = SSL_get0_peer_certificate(stream->native_handle())) {
    char buf[256];
    X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
    client_id = buf;
  }
  core::log::debug("destination", "proxy " + peer + " connected (" + client_id + ")");

  auto conn = std::make_shared<Connection>(ex, shared.stats);
  conn->self_ = conn;
  shared.stats.connections_open.fetch_add(1);
  shared.stats.connections_total.fetch_add(1);
  asio::co_spawn(ex, write_loop(stream, conn, shared), asio::detached);

  std::string buf;
  std::uint64_t line_number = 0;
  bool skipping = false;  // inside a line longer than the limit: dropped up to its newline
  for (;;) {
    const std::size_t n = co_await asio::async_read_until(
        *stream, asio::dynamic_buffer(buf, protocol::kMaxLineBytes + 1), '\n', asio::redirect_error(use_awaitable, ec));
    if (ec == asio::error::not_found) {
      if (!skipping) {
        ++line_number;
        shared.stats.bad_lines.fetch_add(1);
        conn->push_line(protocol::encode_error(0, "line " + std::to_string(line_number) + ": longer than " +
                                                      std::to_string(protocol::kMaxLineBytes) + " bytes"));
      }
      skipping = true;
      buf.clear();
      continue;
    }
    if (ec) break;
    if (skipping) {
      skipping = false;
    } else {
      handle_line(std::string_view(buf.data(), n - 1), ++line_number, conn, shared);
    }
    buf.erase(0, n);
    if (conn->closed()) break;
  }

  for (const auto& [watch, target] : conn->watches_) shared.hub.remove(conn.get(), watch, target);
  conn->watches_.clear();
  conn->close();
  stream->lowest_layer().close(ec);
  shared.stats.connections_open.fetch_sub(1);
  core::log::debug("destination", "proxy " + peer + " disconnected");
}

awaitable<void> accept_loop(tcp::acceptor& acceptor, asio::io_context& io, Shared& shared) {
  for (;;) {
    error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(asio::make_strand(io), asio::redirect_error(use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors and the like: wait a little rather than spin.
      core::log::warn("destination", "accept: " + ec.message());
      asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    const auto ex = socket.get_executor();
    asio::co_spawn(ex, serve_connection(std::move(socket), shared), asio::detached);
  }
}

}  // namespace

int run_destination_server(const DestinationServerOptions& o) {
  const auto listen = core::net::parse_host_port(o.listen_addr, "--addr");
  const auto admin = core::net::parse_host_port(o.admin_addr, "--admin-addr");
  if (o.registry_dir.empty()) throw core::Error("--registry is required", "point it at a directory of Kubernetes YAML");
  if (o.token_file.empty()) throw core::Error("--token-file is required");
  if (o.trust_anchors_file.empty()) throw core::Error("--trust-anchors-file is required");
  const auto& d = o.discovery;
  const auto self_identity =
      o.self_identity.empty()
          ? core::identity::identity_name({d.mesh_namespace, "meshctl-destination"}, d.mesh_namespace, d.trust_domain)
          : o.self_identity;
  const int threads = o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()));

  // Signals are taken synchronously by one thread. Blocked before any thread starts (the store's
  // poller is the first), so every thread inherits the mask and none is killed by them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  core::metrics::Registry metrics;
  Stats stats;
  core::store::LocalStore store({o.registry_dir, o.registry_poll, &metrics});
  store.start();  // throws when the directory cannot be read
  for (const auto& p : store.problems()) core::log::warn("destination", "registry: " + p.to_string());
  Hub hub(d, stats);
  auto subscription = store.subscribe([&hub](const core::store::SnapshotPtr& s) { hub.update(s); });

  core::identity::IdentityClientOptions ic;
  ic.identity_addr = o.identity_addr;
  ic.identity_server_name =
      o.identity_server_name.empty()
          ? core::identity::identity_name({d.mesh_namespace, "meshctl-identity"}, d.mesh_namespace, d.trust_domain)
          : o.identity_server_name;
  ic.local_identity = self_identity;
  ic.token_file = o.token_file;
  ic.trust_anchors = core::tls::load_bundle_file(o.trust_anchors_file);
  core::identity::IdentityClient identity(ic);

  std::atomic<bool> listening{false}, stopping{false};
  httplib::Server admin_server;
  admin_server.Get("/live", [](const httplib::Request&, httplib::Response& res) { res.set_content("live\n", "text/plain"); });
  admin_server.Get("/ready", [&](const httplib::Request&, httplib::Response& res) {
    const bool ok = listening.load() && identity.current() && !stopping.load();
    res.status = ok ? 200 : 503;
    res.set_content(ok ? "ready\n" : "not ready\n", "text/plain");
  });
  admin_server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    metrics.gauge("destination_connections_open", "Proxy connections open").set(double(stats.connections_open.load()));
    metrics.gauge("destination_watches_open", "Watches open over all connections").set(double(stats.watches_open.load()));
    metrics.gauge("destination_targets_watched", "Distinct targets watched").set(double(stats.targets.load()));
    metrics.gauge("destination_last_fanout_seconds", "Time to recompute every target and queue the answers for the last snapshot")
        .set(stats.last_fanout_seconds.load());
    auto counter = [&](const char* name, const char* help, std::uint64_t v) {
      auto& c = metrics.counter(name, help);
      if (v > c.value()) c.inc(v - c.value());
    };
    counter("destination_connections_total", "Proxy connections accepted (TLS established)", stats.connections_total.load());
    counter("destination_updates_sent_total", "Answers written to proxies", stats.updates_sent.load());
    counter("destination_updates_coalesced_total", "Answers replaced by a newer one before a slow proxy read them",
            stats.updates_coalesced.load());
    counter("destination_bad_lines_total", "Lines from proxies refused with an error answer", stats.bad_lines.load());
    counter("destination_tls_handshake_failures_total", "Connections refused during the TLS handshake",
            stats.tls_failures.load());
    counter("destination_snapshots_total", "Snapshots fanned out to watchers", stats.fanouts.load());
    res.set_content(metrics.render(), "text/plain; version=0.0.4");
  });
  const int admin_port = admin.port ? (admin_server.bind_to_port(admin.host, admin.port) ? admin.port : -1)
                                    : admin_server.bind_to_any_port(admin.host);
  if (admin_port <= 0) throw core::Error("destination: cannot listen on " + admin.to_string() + " (admin)");
  std::thread admin_thread([&] { admin_server.listen_after_bind(); });
  core::log::info("destination", "admin on http://" + core::net::HostPort{admin.host, admin_port}.to_string());

  asio::io_context io(threads);
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    core::log::info("destination", std::string("shutting down on ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT"));
    stopping.store(true);
    io.stop();
    identity.stop();
  });
  auto finish = [&] {
    admin_server.stop();
    admin_thread.join();
    if (!stopping.load()) {
      // Wake the signal thread so it can be joined.
      stopping.store(true);
      pthread_kill(signal_thread.native_handle(), SIGTERM);
    }
    signal_thread.join();
    subscription.reset();
    store.stop();
    identity.stop();
    hub.clear();
  };

  identity.start();
  core::log::info("destination", "waiting for a certificate for " + self_identity + " from " + o.identity_addr);
  while (!identity.wait_ready(std::chrono::milliseconds(500))) {
    if (stopping.load()) {
      finish();
      return 0;
    }
  }

  tcp::acceptor acceptor(io);
  try {
    const tcp::endpoint ep(asio::ip::make_address(listen.host), static_cast<unsigned short>(listen.port));
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(asio::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    finish();
    throw core::Error("destination: cannot listen on " + listen.to_string() + ": " + e.what());
  }
  const auto bound = acceptor.local_endpoint();
  Shared shared{o, identity, hub, stats};
  asio::co_spawn(acceptor.get_executor(), accept_loop(acceptor, io, shared), asio::detached);
  core::log::info("destination", "serving destination on " +
                                     core::net::HostPort{bound.address().to_string(), bound.port()}.to_string() +
                                     " as " + self_identity + " with " + std::to_string(threads) + " threads");
  listening.store(true);

  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) workers.emplace_back([&io] { io.run(); });
  for (auto& w : workers) w.join();
  listening.store(false);
  finish();
  return 0;
}

}  // namespace meshctl::controlplane::destination

#include "core/discovery/destination_client.h"

// GCC 12 inlines Asio's coroutine-frame allocator (aligned_alloc behind operator new) and then
// takes the matching operator delete for a mismatch; the pair is Asio's own and correct.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "core/discovery/destination_protocol.h"
#include "core/identity/identity_client.h"
#include "core/log/log.h"
#include "core/net/host_port.h"
#include "core/net/resolve.h"

namespace meshctl::core::discovery {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using boost::system::error_code;
using Stream = asio::ssl::stream<tcp::socket>;
using Clock = std::chrono::steady_clock;

class Watch;

// One established connection. Everything in it lives on the client's thread.
struct Link {
  Link(std::shared_ptr<Stream> s, asio::any_io_executor ex) : stream(std::move(s)), wake(ex) {}
  std::shared_ptr<Stream> stream;
  asio::steady_timer wake;
  std::deque<std::string> out;
  bool closed = false;
  Clock::time_point last_read = Clock::now();
  void close() {
    if (closed) return;
    closed = true;
    error_code ec;
    stream->lowest_layer().close(ec);
    wake.cancel();
  }
};

}  // namespace

class DestinationClient::Impl : public std::enable_shared_from_this<DestinationClient::Impl> {
 public:
  explicit Impl(DestinationClientOptions options) : options_(std::move(options)) {}
  // The link's socket and timer belong to io_'s services: they must go before io_ does (the
  // coroutine frames holding the link go with io_ itself).
  ~Impl() {
    stop();
    link_.reset();
  }

  void start() {
    if (thread_.joinable()) return;
    asio::co_spawn(io_, run(), asio::detached);
    if (options_.idle_retention.count() > 0) asio::co_spawn(io_, expire_idle(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  void stop() {
    io_.stop();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
    connected_.store(false);
  }

  std::shared_ptr<TargetWatch> watch(const std::string& target);
  void release(const std::string& target, std::uint64_t id);

  bool connected() const { return connected_.load(); }
  std::uint64_t connections() const { return connections_.load(); }
  std::size_t watched_targets() const {
    std::lock_guard lock(mu_);
    return by_target_.size();
  }

 private:
  awaitable<void> run();
  awaitable<void> expire_idle();
  awaitable<bool> connect_once();
  awaitable<void> write_loop(std::shared_ptr<Link> link);
  void handle_answer(const std::string_view line);
  void send(std::string line) {
    if (!link_ || link_->closed) return;
    link_->out.push_back(std::move(line));
    link_->wake.cancel();
  }
  // On the client's thread: put a watch on the wire unless this connection already has it.
  void send_watch(std::uint64_t id, const std::string& target) {
    if (!link_ || link_->closed || sent_.contains(id)) return;
    sent_.insert(id);
    send(protocol::encode_watch(id, target));
  }

  struct Entry {
    std::string target;
    std::weak_ptr<Watch> watch;
    // With idle_retention: the client's own reference, dropped once nobody else held the watch
    // for that long.
    std::shared_ptr<Watch> kept;
    std::optional<Clock::time_point> idle_since;
  };

  DestinationClientOptions options_;
  mutable std::mutex mu_;  // the maps: watch() and release() run on any thread
  std::map<std::string, std::uint64_t> by_target_;
  std::map<std::uint64_t, Entry> by_id_;
  std::uint64_t next_id_ = 1;
  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> connections_{0};
  // The client's thread only.
  std::shared_ptr<Link> link_;
  std::set<std::uint64_t> sent_;  // watch ids on the current connection
  std::thread thread_;
  // Last: destroyed first, so the coroutines it holds go while the members they use still exist.
  asio::io_context io_{1};
};

namespace {

class Watch final : public TargetWatch {
 public:
  explicit Watch(std::function<void()> on_release) : on_release_(std::move(on_release)) {}
  ~Watch() override { on_release_(); }

  EndpointSnapshot current() const override { return current_.load(); }
  void on_first_snapshot(std::function<void()> ready) override {
    {
      std::lock_guard lock(mu_);
      if (!current_.load()) {
        waiting_.push_back(std::move(ready));
        return;
      }
    }
    ready();
  }
  void set(EndpointSnapshot snapshot) {
    current_.store(std::move(snapshot));
    std::vector<std::function<void()>> run;
    {
      std::lock_guard lock(mu_);
      run.swap(waiting_);
    }
    for (auto& f : run) f();
  }

 private:
  std::function<void()> on_release_;  // tells the client nobody holds the watch any more
  std::atomic<EndpointSnapshot> current_;
  std::mutex mu_;
  std::vector<std::function<void()>> waiting_;
};

}  // namespace

std::shared_ptr<TargetWatch> DestinationClient::Impl::watch(const std::string& target) {
  std::shared_ptr<Watch> w;
  std::uint64_t id;
  {
    std::lock_guard lock(mu_);
    if (const auto it = by_target_.find(target); it != by_target_.end()) {
      auto& entry = by_id_[it->second];
      if (auto existing = entry.watch.lock()) {
        entry.idle_since.reset();
        return existing;
      }
    }
    id = next_id_++;
    w = std::make_shared<Watch>([weak = weak_from_this(), target, id] {
      if (auto self = weak.lock()) self->release(target, id);
    });
    by_target_[target] = id;
    by_id_[id] = {target, w, options_.idle_retention.count() > 0 ? w : nullptr, std::nullopt};
  }
  // Handlers hold the client weakly: the io_context they wait in belongs to it.
  asio::post(io_, [weak = weak_from_this(), id, target] {
    if (auto self = weak.lock()) self->send_watch(id, target);
  });
  return w;
}

void DestinationClient::Impl::release(const std::string& target, std::uint64_t id) {
  {
    std::lock_guard lock(mu_);
    by_id_.erase(id);
    if (const auto it = by_target_.find(target); it != by_target_.end() && it->second == id) by_target_.erase(it);
  }
  asio::post(io_, [weak = weak_from_this(), id] {
    if (auto self = weak.lock(); self && self->sent_.erase(id)) self->send(protocol::encode_cancel(id));
  });
}

void DestinationClient::Impl::handle_answer(std::string_view line) {
  std::string problem;
  const auto answer = protocol::parse_answer(line, problem);
  if (!answer) {
    if (!problem.empty()) log::warn("destination-client", "ignoring a line from the destination: " + problem);
    return;
  }
  std::shared_ptr<Watch> w;
  {
    std::lock_guard lock(mu_);
    if (const auto it = by_id_.find(answer->watch); it != by_id_.end()) w = it->second.watch.lock();
  }
  if (!answer->error.empty()) {
    log::warn("destination-client", "destination refused " + (w ? "a watch" : std::string("a line")) + ": " +
                                        answer->error);
    // A refused target is one discovery knows nothing of: the proxy forwards it unchanged.
    if (w) w->set(std::make_shared<const EndpointSet>());
    return;
  }
  if (w) w->set(std::make_shared<const EndpointSet>(std::move(*answer->set)));
  // `w` may be the last reference: its destructor runs here, outside the lock.
}

awaitable<void> DestinationClient::Impl::expire_idle() {
  asio::steady_timer tick(co_await asio::this_coro::executor);
  const auto period = std::min<std::chrono::milliseconds>(options_.idle_retention, std::chrono::seconds(1));
  for (;;) {
    tick.expires_after(period);
    error_code ec;
    co_await tick.async_wait(asio::redirect_error(use_awaitable, ec));
    std::vector<std::shared_ptr<Watch>> expired;
    {
      std::lock_guard lock(mu_);
      const auto now = Clock::now();
      for (auto& [id, entry] : by_id_) {
        if (!entry.kept) continue;
        // Only the client holds it: nobody can take a new reference but watch(), under mu_.
        if (entry.kept.use_count() > 1) {
          entry.idle_since.reset();
        } else if (!entry.idle_since) {
          entry.idle_since = now;
        } else if (now - *entry.idle_since >= options_.idle_retention) {
          expired.push_back(std::move(entry.kept));
        }
      }
    }
    // Their destructors release (and cancel) them, taking mu_ themselves.
    expired.clear();
  }
}

awaitable<void> DestinationClient::Impl::write_loop(std::shared_ptr<Link> link) {
  while (!link->closed) {
    if (link->out.empty()) {
      link->wake.expires_after(options_.keepalive);
      error_code ec;
      co_await link->wake.async_wait(asio::redirect_error(use_awaitable, ec));
      if (link->closed) break;
      if (!ec) {
        if (Clock::now() - link->last_read > 3 * options_.keepalive) {
          log::warn("destination-client", "no word from the destination for " +
                                              std::to_string(3 * options_.keepalive.count()) + " ms; reconnecting");
          link->close();
          break;
        }
        link->out.push_back("\n");
      }
      continue;
    }
    std::string batch;
    while (!link->out.empty()) {
      batch += link->out.front();
      link->out.pop_front();
    }
    error_code ec;
    co_await asio::async_write(*link->stream, asio::buffer(batch), asio::redirect_error(use_awaitable, ec));
    if (ec) link->close();
  }
}

awaitable<bool> DestinationClient::Impl::connect_once() {
  auto ex = co_await asio::this_coro::executor;
  const auto id = options_.identity ? options_.identity() : nullptr;
  if (!id) {
    log::debug("destination-client", "no certificate yet; not connecting");
    co_return false;
  }
  std::vector<net::ResolvedAddress> addresses;
  try {
    const auto hp = net::parse_host_port(options_.addr, "destination address");
    addresses = net::resolve(hp.host, hp.port, options_.connect_timeout);
  } catch (const std::exception& e) {
    log::warn("destination-client", e.what());
    co_return false;
  }
  tcp::socket socket(ex);
  error_code ec = asio::error::host_not_found;
  for (const auto& a : addresses) {
    tcp::endpoint ep;
    std::memcpy(ep.data(), &a.storage, a.length);
    ep.resize(a.length);
    socket.close(ec);
    asio::steady_timer deadline(ex, options_.connect_timeout);
    deadline.async_wait([&socket](error_code e) {
      if (!e) socket.close(e);
    });
    co_await socket.async_connect(ep, asio::redirect_error(use_awaitable, ec));
    deadline.cancel();
    if (!ec) break;
  }
  if (ec) {
    log::warn("destination-client", "cannot connect to " + options_.addr + ": " + ec.message());
    co_return false;
  }
  socket.set_option(tcp::no_delay(true), ec);
  socket.set_option(asio::socket_base::keep_alive(true), ec);

  SSL_CTX_up_ref(id->client_context.get());
  asio::ssl::context ctx(id->client_context.get());  // takes the reference just added
  auto stream = std::make_shared<Stream>(std::move(socket), ctx);
  // The destination must prove its own identity, not just any mesh certificate.
  SSL_set1_host(stream->native_handle(), options_.server_identity.c_str());
  SSL_set_tlsext_host_name(stream->native_handle(), options_.server_identity.c_str());
  {
    asio::steady_timer deadline(ex, options_.connect_timeout);
    deadline.async_wait([stream](error_code e) {
      if (!e) stream->lowest_layer().close(e);
    });
    co_await stream->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(use_awaitable, ec));
    deadline.cancel();
  }
  if (ec) {
    log::warn("destination-client", "TLS with " + options_.addr + " failed: " + ec.message());
    error_code ignore;
    stream->lowest_layer().close(ignore);
    co_return false;
  }

  auto link = std::make_shared<Link>(stream, ex);
  link_ = link;
  sent_.clear();
  {
    std::lock_guard lock(mu_);
    for (const auto& [wid, entry] : by_id_) {
      if (entry.watch.expired()) continue;
      sent_.insert(wid);
      link->out.push_back(protocol::encode_watch(wid, entry.target));
    }
  }
  connections_.fetch_add(1);
  connected_.store(true);
  log::info("destination-client", "connected to " + options_.addr + " (" + std::to_string(sent_.size()) + " watches)");
  asio::co_spawn(ex, write_loop(link), asio::detached);

  std::string buf;
  for (;;) {
    const std::size_t n = co_await asio::async_read_until(
        *stream, asio::dynamic_buffer(buf, protocol::kMaxLineBytes + 1), '\n', asio::redirect_error(use_awaitable, ec));
    if (ec) break;
    link->last_read = Clock::now();
    handle_answer(std::string_view(buf.data(), n - 1));
    buf.erase(0, n);
  }
  connected_.store(false);
  link->close();
  link_.reset();
  sent_.clear();
  log::warn("destination-client", "connection to " + options_.addr + " lost (" + ec.message() +
                                      "); serving on the last answers while reconnecting");
  co_return true;
}

awaitable<void> DestinationClient::Impl::run() {
  auto ex = co_await asio::this_coro::executor;
  std::mt19937_64 rng(std::random_device{}());
  int failures = 0;
  asio::steady_timer pause(ex);
  for (;;) {
    const auto started = Clock::now();
    const bool established = co_await connect_once();
    // A connection that held for a while resets the backoff; one that drops at once does not,
    // so a destination that accepts and fails is not hammered.
    if (established && Clock::now() - started > std::chrono::seconds(5)) failures = 0;
    ++failures;
    auto base = options_.backoff_initial;
    for (int i = 1; i < failures && base < options_.backoff_max; ++i) base *= 2;
    base = std::min(base, options_.backoff_max);
    // Half fixed, half random: proxies that lost the same destination do not come back in step.
    std::uniform_int_distribution<long> jitter(0, std::max<long>(1, base.count() / 2));
    const auto delay = std::chrono::milliseconds(base.count() / 2 + jitter(rng));
    log::debug("destination-client", "reconnecting in " + std::to_string(delay.count()) + " ms");
    pause.expires_after(delay);
    error_code ec;
    co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

DestinationClient::DestinationClient(DestinationClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(options))) {}

DestinationClient::~DestinationClient() { stop(); }

void DestinationClient::start() { impl_->start(); }
void DestinationClient::stop() { impl_->stop(); }
std::shared_ptr<TargetWatch> DestinationClient::watch(const std::string& target) { return impl_->watch(target); }
bool DestinationClient::connected() const { return impl_->connected(); }
std::uint64_t DestinationClient::connections() const { return impl_->connections(); }
std::size_t DestinationClient::watched_targets() const { return impl_->watched_targets(); }

}  // namespace meshctl::core::discovery

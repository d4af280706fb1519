#pragma once
// The sidecar proxy: outbound (app to mesh), inbound (mesh to app) and admin listeners over a
// pool of worker io_contexts. It is built from its parts so tests can run it in-process: the
// configuration, a discovery Resolver, a source of the current workload identity, and the
// original-destination lookup (SO_ORIGINAL_DST in production).

#include <functional>
#include <memory>
#include <string>

#include "core/discovery/resolver.h"
#include "core/identity/identity_client.h"
#include "core/net/socket_address.h"
#include "dataplane/proxy/config.h"

namespace meshctl::dataplane::proxy {

// The identity in force, or null until the first certificate arrived. Called per connection.
using IdentitySource = std::function<std::shared_ptr<const core::identity::CertifiedIdentity>()>;

enum class Direction { inbound, outbound };

// Where an accepted connection was going. Production reads the kernel's NAT entry; tests on
// loopback, where nothing is redirected, say where they meant the connection to go.
using OriginalDestination = std::function<core::net::SocketAddress(int fd, Direction)>;

OriginalDestination kernel_original_destination();

class Proxy {
 public:
  Proxy(ProxyConfig config, core::discovery::Resolver& resolver, IdentitySource identity,
        OriginalDestination original_destination = kernel_original_destination());
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Binds the listeners and starts the workers. Throws core::Error when a listener cannot bind.
  void start();
  // SIGTERM and SIGINT start a graceful shutdown (the command's behaviour; tests may use it).
  void shutdown_on_signals();
  // Stops accepting, lets open connections finish within the grace period, then stops. Any thread.
  void shutdown();
  // Blocks until the shutdown has completed.
  void wait();

  // Ports actually bound (useful with port 0).
  int inbound_port() const;
  int outbound_port() const;
  int admin_port() const;
  bool ready() const;
  // The admin /metrics body.
  std::string metrics() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// `meshctl proxy`'s body: start, log the listeners, serve until a signal, drain, return 0.
int run_proxy(const ProxyConfig& config, core::discovery::Resolver& resolver, IdentitySource identity);

}  // namespace meshctl::dataplane::proxy

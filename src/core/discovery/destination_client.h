#pragma once
// The proxy's side of discovery: a Resolver over one mutual-TLS connection to the destination
// service (docs/destination-protocol.md). Watches on the same target share one watch on the
// wire; a watch nobody holds any more is cancelled (after `idle_retention`). When the
// connection drops, every watch keeps its last snapshot (the proxy keeps serving on it) while
// the client reconnects with capped, jittered exponential backoff and re-sends its watches; the
// answers that follow replace the snapshots. Runs on its own thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/discovery/resolver.h"

namespace meshctl::core::identity {
struct CertifiedIdentity;
}

namespace meshctl::core::discovery {

struct DestinationClientOptions {
  std::string addr;             // "host:port" of the destination service
  std::string server_identity;  // the identity it must prove (checked as the certificate's DNS SAN)
  // The proxy's current certificate and TLS contexts (IdentityClient::current); read on every
  // connect, so a renewed certificate is used from the next connection on.
  std::function<std::shared_ptr<const identity::CertifiedIdentity>()> identity;
  std::chrono::milliseconds backoff_initial{250};
  std::chrono::milliseconds backoff_max{10000};
  std::chrono::milliseconds connect_timeout{5000};  // name lookup, TCP and TLS each
  // How often an idle connection sends an empty line; a connection silent for three times this
  // long is taken for dead (the destination sends its own keep-alives every 10 s).
  std::chrono::milliseconds keepalive{10000};
  // How long a watch nobody holds stays open with its last snapshot before it is cancelled, so a
  // target used connection after connection keeps its answer between them, also while the
  // destination is unreachable. 0: cancelled as soon as the last holder lets go.
  std::chrono::milliseconds idle_retention{0};
};

class DestinationClient final : public Resolver {
 public:
  explicit DestinationClient(DestinationClientOptions options);
  ~DestinationClient() override;
  DestinationClient(const DestinationClient&) = delete;
  DestinationClient& operator=(const DestinationClient&) = delete;

  // Starts connecting (and reconnecting) on the client's thread.
  void start();
  // Stops the thread and closes the connection; watches keep their last snapshots.
  void stop();

  std::shared_ptr<TargetWatch> watch(const std::string& target) override;

  bool connected() const;
  // Connections established (TLS included) since start.
  std::uint64_t connections() const;
  // Targets with a live watch.
  std::size_t watched_targets() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace meshctl::core::discovery

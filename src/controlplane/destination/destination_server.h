#pragma once
// `meshctl destination`: discovery for proxies. Long-lived mutual-TLS streams of newline-delimited
// JSON (docs/destination-protocol.md) on a fixed number of threads, one coroutine per connection,
// answers derived from the object store and pushed to every watcher when they change. Plain HTTP
// admin: /ready, /live, /metrics.

#include <chrono>
#include <string>

#include "core/discovery/endpoints.h"

namespace meshctl::controlplane::destination {

struct DestinationServerOptions {
  std::string listen_addr = "0.0.0.0:8086";
  std::string admin_addr = "0.0.0.0:9996";
  std::string registry_dir;  // the local store (required until the Kubernetes store exists)
  core::discovery::DiscoveryConfig discovery;
  // Identity: the service's own certificate comes from the identity service.
  std::string identity_addr = "localhost:8080";
  std::string identity_server_name;  // empty: meshctl-identity.<ns>.serviceaccount.identity.<ns>.<td>
  std::string self_identity;         // empty: meshctl-destination.<ns>.serviceaccount.identity.<ns>.<td>
  std::string token_file;
  std::string trust_anchors_file;
  int threads = 0;  // 0: one per core
  std::chrono::milliseconds registry_poll{250};
  std::chrono::seconds keepalive{10};
  // A proxy may hold at most this many watches on one connection.
  std::size_t max_watches_per_connection = 16384;
};

// Serves until SIGTERM or SIGINT, then returns 0. Throws core::Error when it cannot start.
int run_destination_server(const DestinationServerOptions& options);

}  // namespace meshctl::controlplane::destination

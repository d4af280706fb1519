#pragma once
// Endpoints derived from Services and Pods as the Kubernetes endpoints controller derives them,
// plus what only the mesh knows: whether each pod is meshed (and so which identity it proves and
// how to talk to it) and its metric labels. A pure function of a snapshot: the destination
// service calls it once per watched target per snapshot and fans the answer out.

#include <optional>
#include <string>
#include <string_view>

#include "core/discovery/endpoint.h"
#include "core/store/object_store.h"

namespace meshctl::core::discovery {

struct DiscoveryConfig {
  std::string mesh_namespace = "meshctl";
  std::string cluster_domain = "cluster.local";
  std::string trust_domain = "cluster.local";
  int opaque_transport_port = 4143;  // the proxy's inbound port
};

// A target as the proxy sends it: "host:port".
struct Target {
  std::string host;  // a name, an IPv4 address, or an IPv6 address without brackets
  int port = 0;
};

// Nothing, with `problem` set, when `text` is not host:port with a port in 1-65535.
std::optional<Target> parse_target(std::string_view text, std::string& problem);

// What discovery knows about `target`:
// - "<svc>.<ns>.svc.<cluster-domain>[.]", "<svc>.<ns>.svc", "<svc>.<ns>": the Service's ready
//   endpoints for the Service port `port` (exists even when there are none);
// - a Service's cluster IP: the same (headless Services have none);
// - a pod IP: that pod alone, on `port`;
// - anything else: exists = false.
EndpointSet endpoints_for(const store::Snapshot& snapshot, const Target& target, const DiscoveryConfig& config);

// "80,8000-8010" contains `port` (malformed parts are ignored: the injector validates these).
bool ports_contain(std::string_view list, int port);

}  // namespace meshctl::core::discovery

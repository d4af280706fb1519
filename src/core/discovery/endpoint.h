#pragma once
// What discovery tells a proxy about a target: the endpoints behind it, each with the identity
// to expect from it and how to talk to it. The destination service builds these from the object
// store; the proxy receives them as immutable snapshots and swaps them atomically.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace meshctl::core::discovery {

enum class ProtocolHint {
  unknown,  // not meshed, or nothing known: talk to it as the application would
  h2,       // meshed: HTTP is carried as HTTP/2 over mutual TLS to the endpoint's proxy
  opaque,   // meshed and opaque: TCP carried over mutual TLS to opaque_transport_port
};

struct Endpoint {
  std::string ip;      // "10.199.0.12" or "fd00::12"
  int port = 0;        // the application's target port on the pod
  std::uint32_t weight = 10000;
  // The identity the endpoint's proxy must prove; empty when not meshed.
  std::string identity;
  ProtocolHint hint = ProtocolHint::unknown;
  // The meshed proxy's inbound port (4143), where mutual TLS with the transport header goes;
  // set for every meshed endpoint, h2 and opaque alike, 0 when not meshed.
  int opaque_transport_port = 0;
  // Metric labels, without the dst_ prefix: namespace, service, pod, deployment (or another
  // owner kind), serviceaccount, pod_template_hash...
  std::map<std::string, std::string> labels;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

struct EndpointSet {
  // False when discovery knows no such target: the proxy forwards to the original address.
  bool exists = false;
  // Whether traffic to this target skips protocol detection (opaque ports, appProtocol).
  bool opaque = false;
  std::vector<Endpoint> endpoints;
  // Labels of the target itself (namespace, service), for metrics when no endpoint is chosen.
  std::map<std::string, std::string> labels;
  friend bool operator==(const EndpointSet&, const EndpointSet&) = default;
};

using EndpointSnapshot = std::shared_ptr<const EndpointSet>;

}  // namespace meshctl::core::discovery

#include "core/discovery/endpoints.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "core/identity/identity_name.h"
#include "core/inject/names.h"

namespace meshctl::core::discovery {
namespace {

using store::Json;
namespace names = core::inject;

const Json kNull;

const Json& at(const Json& o, std::string_view key) {
  if (!o.is_object()) return kNull;
  const auto it = o.find(std::string(key));
  return it == o.end() ? kNull : *it;
}

std::string str(const Json& v) { return v.is_string() ? v.get<std::string>() : std::string(); }

std::string meta_string(const Json& o, std::string_view key) { return str(at(at(o, "metadata"), key)); }

std::string annotation(const Json& o, std::string_view key) { return str(at(at(at(o, "metadata"), "annotations"), key)); }

std::string label(const Json& o, std::string_view key) { return str(at(at(at(o, "metadata"), "labels"), key)); }

bool parse_int(std::string_view s, int& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool is_ip(const std::string& host) {
  in6_addr buf{};
  return inet_pton(AF_INET, host.c_str(), &buf) == 1 || inet_pton(AF_INET6, host.c_str(), &buf) == 1;
}

// The IPs a pod has: status.podIP and status.podIPs[].ip.
bool pod_has_ip(const Json& pod, const std::string& ip) {
  const auto& status = at(pod, "status");
  if (str(at(status, "podIP")) == ip) return true;
  const auto& ips = at(status, "podIPs");
  if (ips.is_array()) {
    for (const auto& i : ips) {
      if (str(at(i, "ip")) == ip) return true;
    }
  }
  return false;
}

// Pods the endpoints controller would list at all: running or pending with an IP, not being
// deleted.
bool pod_is_live(const Json& pod) {
  const auto phase = str(at(at(pod, "status"), "phase"));
  if (phase == "Succeeded" || phase == "Failed") return false;
  if (!at(at(pod, "metadata"), "deletionTimestamp").is_null()) return false;
  return !str(at(at(pod, "status"), "podIP")).empty();
}

// Ready unless a Ready condition says otherwise. Kubernetes counts a pod without the condition
// as not ready; hand-written registry pods rarely carry conditions, so here only an explicit
// Ready False excludes.
bool pod_is_ready(const Json& pod) {
  const auto& conditions = at(at(pod, "status"), "conditions");
  if (!conditions.is_array()) return true;
  for (const auto& c : conditions) {
    if (str(at(c, "type")) == "Ready") return str(at(c, "status")) == "True";
  }
  return true;
}

bool selector_matches(const Json& selector, const Json& pod) {
  const auto& labels = at(at(pod, "metadata"), "labels");
  for (const auto& [k, v] : selector.items()) {
    const auto& have = at(labels, k);
    if (!have.is_string() || !v.is_string() || have != v) return false;
  }
  return true;
}

bool has_proxy_container(const Json& pod) {
  const auto& spec = at(pod, "spec");
  for (const auto& c : at(spec, "containers")) {
    if (str(at(c, "name")) == names::kProxyContainerName) return true;
  }
  // A native sidecar: an init container that keeps running.
  for (const auto& c : at(spec, "initContainers")) {
    if (str(at(c, "name")) == names::kProxyContainerName && str(at(c, "restartPolicy")) == "Always") return true;
  }
  return false;
}

// The container port a Service's targetPort names; nothing when the pod has no such port.
std::optional<int> named_container_port(const Json& pod, const std::string& name) {
  for (const char* list : {"containers", "initContainers"}) {
    for (const auto& c : at(at(pod, "spec"), list)) {
      for (const auto& p : at(c, "ports")) {
        if (str(at(p, "name")) == name && at(p, "containerPort").is_number_integer()) {
          return at(p, "containerPort").get<int>();
        }
      }
    }
  }
  return std::nullopt;
}

bool app_protocol_is_opaque(const Json& service_port) {
  const auto p = str(at(service_port, "appProtocol"));
  return p == "meshctl.io/opaque" || p == "opaque" || p == "tcp";
}

// opaque-ports from the pod, or inherited from its namespace when the pod sets none.
bool pod_port_is_opaque(const store::Snapshot& snapshot, const Json& pod, int port) {
  auto list = annotation(pod, names::kOpaquePortsAnnotation);
  if (list.empty()) {
    if (const Json* ns = snapshot.get("Namespace", "", meta_string(pod, "namespace"))) {
      list = annotation(*ns, names::kOpaquePortsAnnotation);
    }
  }
  return ports_contain(list, port);
}

// The owner label: a Deployment's ReplicaSet is reported as the Deployment.
std::pair<std::string, std::string> owner_label(const Json& pod) {
  const auto& refs = at(at(pod, "metadata"), "ownerReferences");
  if (!refs.is_array() || refs.empty()) return {};
  const Json* owner = &refs[0];
  for (const auto& r : refs) {
    if (at(r, "controller").is_boolean() && at(r, "controller").get<bool>()) {
      owner = &r;
      break;
    }
  }
  std::string kind = str(at(*owner, "kind"));
  const std::string name = str(at(*owner, "name"));
  if (kind.empty() || name.empty()) return {};
  const std::string hash = label(pod, "pod-template-hash");
  if (kind == "ReplicaSet" && !hash.empty() && name.size() > hash.size() + 1 && name.ends_with("-" + hash)) {
    return {"deployment", name.substr(0, name.size() - hash.size() - 1)};
  }
  std::transform(kind.begin(), kind.end(), kind.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return {kind, name};
}

Endpoint endpoint_for_pod(const store::Snapshot& snapshot, const Json& pod, int port, bool service_says_opaque,
                          const std::string& service, const DiscoveryConfig& config) {
  Endpoint e;
  e.ip = str(at(at(pod, "status"), "podIP"));
  e.port = port;
  const auto ns = meta_string(pod, "namespace");
  auto sa = str(at(at(pod, "spec"), "serviceAccountName"));
  if (sa.empty()) sa = "default";
  e.labels["namespace"] = ns;
  if (!service.empty()) e.labels["service"] = service;
  e.labels["pod"] = meta_string(pod, "name");
  e.labels["serviceaccount"] = sa;
  if (auto [k, v] = owner_label(pod); !k.empty()) e.labels[k] = v;
  if (auto hash = label(pod, "pod-template-hash"); !hash.empty()) e.labels["pod_template_hash"] = hash;

  const bool meshed = label(pod, names::kControlPlaneNsLabel) == config.mesh_namespace && has_proxy_container(pod) &&
                      !ports_contain(annotation(pod, names::kSkipInboundPortsAnnotation), port);
  if (meshed) {
    e.identity = identity::identity_name({ns, sa}, config.mesh_namespace, config.trust_domain);
    const bool opaque = service_says_opaque || pod_port_is_opaque(snapshot, pod, port);
    e.hint = opaque ? ProtocolHint::opaque : ProtocolHint::h2;
    // Every meshed endpoint is reached on its proxy's inbound port (docs/destination-protocol.md):
    // a proxy treats an endpoint without one as unmeshed and would talk to it in the clear.
    e.opaque_transport_port = config.opaque_transport_port;
  }
  return e;
}

EndpointSet service_endpoints(const store::Snapshot& snapshot, const Json& service, int port,
                              const DiscoveryConfig& config) {
  EndpointSet set;
  set.exists = true;
  const auto ns = meta_string(service, "namespace");
  const auto name = meta_string(service, "name");
  set.labels = {{"namespace", ns}, {"service", name}};
  const auto& spec = at(service, "spec");
  const Json* service_port = nullptr;
  for (const auto& p : at(spec, "ports")) {
    if (at(p, "port").is_number_integer() && at(p, "port").get<int>() == port) {
      service_port = &p;
      break;
    }
  }
  if (!service_port) return set;  // the Service exists but has no such port: no endpoints
  set.opaque = app_protocol_is_opaque(*service_port) ||
               ports_contain(annotation(service, names::kOpaquePortsAnnotation), port);
  const auto& selector = at(spec, "selector");
  // Without a selector the endpoints controller leaves endpoints to whoever manages them.
  if (!selector.is_object() || selector.empty()) return set;
  const bool publish_not_ready =
      at(spec, "publishNotReadyAddresses").is_boolean() && at(spec, "publishNotReadyAddresses").get<bool>();
  const auto& target_port = at(*service_port, "targetPort");

  for (const auto& [pod_name, pod] : snapshot.in_namespace("Pod", ns)) {
    if (!selector_matches(selector, *pod) || !pod_is_live(*pod)) continue;
    if (!publish_not_ready && !pod_is_ready(*pod)) continue;
    int pod_port = port;
    if (target_port.is_number_integer()) {
      pod_port = target_port.get<int>();
    } else if (target_port.is_string()) {
      int n = 0;
      if (parse_int(target_port.get<std::string>(), n)) {
        pod_port = n;
      } else if (auto named = named_container_port(*pod, target_port.get<std::string>())) {
        pod_port = *named;
      } else {
        continue;  // the pod has no port of that name: the controller skips it
      }
    }
    set.endpoints.push_back(endpoint_for_pod(snapshot, *pod, pod_port, set.opaque, name, config));
  }
  std::sort(set.endpoints.begin(), set.endpoints.end(), [](const Endpoint& a, const Endpoint& b) {
    return std::tie(a.ip, a.port) < std::tie(b.ip, b.port);
  });
  return set;
}

// "<svc>.<ns>", "<svc>.<ns>.svc", "<svc>.<ns>.svc.<cluster-domain>", trailing dot allowed.
std::optional<std::pair<std::string, std::string>> service_name(std::string host, const DiscoveryConfig& config) {
  if (host.ends_with('.')) host.pop_back();
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  const auto first = host.find('.');
  if (first == std::string::npos || first == 0) return std::nullopt;
  const auto second = host.find('.', first + 1);
  const std::string svc = host.substr(0, first);
  const std::string ns = host.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
  if (ns.empty()) return std::nullopt;
  if (second == std::string::npos) return std::pair{svc, ns};
  const std::string rest = host.substr(second + 1);
  if (rest == "svc" || rest == "svc." + config.cluster_domain) return std::pair{svc, ns};
  return std::nullopt;
}

}  // namespace

bool ports_contain(std::string_view list, int port) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    auto part = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    const auto dash = part.find('-');
    int lo = 0, hi = 0;
    if (dash == std::string_view::npos) {
      if (parse_int(part, lo) && lo == port) return true;
    } else if (parse_int(part.substr(0, dash), lo) && parse_int(part.substr(dash + 1), hi) && lo <= port &&
               port <= hi) {
      return true;
    }
  }
  return false;
}

std::optional<Target> parse_target(std::string_view text, std::string& problem) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    problem = "target \"" + std::string(text) + "\" is not host:port";
    return std::nullopt;
  }
  Target t;
  auto host = text.substr(0, colon);
  if (host.starts_with('[') && host.ends_with(']')) {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    problem = "target \"" + std::string(text) + "\": an IPv6 host needs brackets";
    return std::nullopt;
  }
  if (host.empty() || !parse_int(text.substr(colon + 1), t.port) || t.port < 1 || t.port > 65535) {
    problem = "target \"" + std::string(text) + "\" is not host:port";
    return std::nullopt;
  }
  t.host = std::string(host);
  return t;
}

EndpointSet endpoints_for(const store::Snapshot& snapshot, const Target& target, const DiscoveryConfig& config) {
  if (is_ip(target.host)) {
    for (const auto& [ns, services] : snapshot.all("Service")) {
      for (const auto& [name, service] : services) {
        const auto& spec = at(*service, "spec");
        bool match = str(at(spec, "clusterIP")) == target.host;
        for (const auto& ip : at(spec, "clusterIPs")) match = match || str(ip) == target.host;
        if (match && target.host != "None") return service_endpoints(snapshot, *service, target.port, config);
      }
    }
    for (const auto& [ns, pods] : snapshot.all("Pod")) {
      for (const auto& [name, pod] : pods) {
        if (!pod_has_ip(*pod, target.host) || !pod_is_live(*pod)) continue;
        EndpointSet set;
        set.exists = true;
        set.opaque = pod_port_is_opaque(snapshot, *pod, target.port);
        set.labels = {{"namespace", ns}};
        auto e = endpoint_for_pod(snapshot, *pod, target.port, false, "", config);
        e.ip = target.host;  // the address asked for, also when it is the pod's second IP
        set.endpoints.push_back(std::move(e));
        return set;
      }
    }
    return {};
  }
  const auto name = service_name(target.host, config);
  if (!name) return {};
  const Json* service = snapshot.get("Service", name->second, name->first);
  if (!service || str(at(at(*service, "spec"), "type")) == "ExternalName") return {};
  return service_endpoints(snapshot, *service, target.port, config);
}

}  // namespace meshctl::core::discovery

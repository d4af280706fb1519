#pragma once
// Workload identities: the DNS-like name a proxy proves with its certificate, derived from the
// pod's service account exactly as DESIGN.md fixes it, and the matching SPIFFE ID.

#include <optional>
#include <string>
#include <string_view>

namespace meshctl::core::identity {

struct ServiceAccountRef {
  std::string namespace_name;
  std::string name;
  friend bool operator==(const ServiceAccountRef&, const ServiceAccountRef&) = default;
};

// "<sa>.<ns>.serviceaccount.identity.<mesh-ns>.<trust-domain>"
std::string identity_name(const ServiceAccountRef& sa, std::string_view mesh_namespace,
                          std::string_view trust_domain);

// "spiffe://<trust-domain>/ns/<ns>/sa/<sa>"
std::string spiffe_id(const ServiceAccountRef& sa, std::string_view trust_domain);

// The service account a requested identity names, when it has exactly the form above for this
// mesh namespace and trust domain and both labels are DNS-1123 labels; nothing otherwise.
std::optional<ServiceAccountRef> parse_identity_name(std::string_view identity, std::string_view mesh_namespace,
                                                     std::string_view trust_domain);

// The service account of a Kubernetes token username "system:serviceaccount:<ns>:<sa>", when both
// parts are DNS-1123 labels.
std::optional<ServiceAccountRef> parse_service_account_username(std::string_view username);

// A DNS-1123 label: 1-63 lowercase alphanumerics or '-', starting and ending alphanumeric.
bool is_dns1123_label(std::string_view s);

}  // namespace meshctl::core::identity

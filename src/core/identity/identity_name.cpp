#include "core/identity/identity_name.h"

namespace meshctl::core::identity {

bool is_dns1123_label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s) {
    if (!alnum(c) && c != '-') return false;
  }
  return true;
}

std::string identity_name(const ServiceAccountRef& sa, std::string_view mesh_namespace,
                          std::string_view trust_domain) {
  std::string out = sa.name;
  out.append(".").append(sa.namespace_name).append(".serviceaccount.identity.");
  out.append(mesh_namespace).append(".").append(trust_domain);
  return out;
}

std::string spiffe_id(const ServiceAccountRef& sa, std::string_view trust_domain) {
  std::string out = "spiffe://";
  out.append(trust_domain).append("/ns/").append(sa.namespace_name).append("/sa/").append(sa.name);
  return out;
}

std::optional<ServiceAccountRef> parse_identity_name(std::string_view identity, std::string_view mesh_namespace,
                                                     std::string_view trust_domain) {
  std::string suffix = ".serviceaccount.identity.";
  suffix.append(mesh_namespace).append(".").append(trust_domain);
  if (identity.size() <= suffix.size() || !identity.ends_with(suffix)) return std::nullopt;
  const std::string_view head = identity.substr(0, identity.size() - suffix.size());
  const size_t dot = head.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  ServiceAccountRef sa{std::string(head.substr(dot + 1)), std::string(head.substr(0, dot))};
  if (!is_dns1123_label(sa.name) || !is_dns1123_label(sa.namespace_name)) return std::nullopt;
  return sa;
}

std::optional<ServiceAccountRef> parse_service_account_username(std::string_view username) {
  constexpr std::string_view prefix = "system:serviceaccount:";
  if (!username.starts_with(prefix)) return std::nullopt;
  const std::string_view rest = username.substr(prefix.size());
  const size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  ServiceAccountRef sa{std::string(rest.substr(0, colon)), std::string(rest.substr(colon + 1))};
  if (!is_dns1123_label(sa.namespace_name) || !is_dns1123_label(sa.name)) return std::nullopt;
  return sa;
}

}  // namespace meshctl::core::identity

#include "dataplane/proxy/config.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "core/error.h"
#include "core/proxy_env.h"
#include "core/util/duration.h"

namespace meshctl::dataplane::proxy {
namespace env = core::proxy_env;

bool PortSet::contains(int port) const {
  for (const auto& [first, last] : ranges_) {
    if (port >= first && port <= last) return true;
  }
  return false;
}

namespace {

int parse_port(std::string_view text, std::string_view source, std::string_view whole) {
  int v = -1;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < 1 || v > 65535) {
    throw core::Error(std::string(source) + ": \"" + std::string(whole) + "\": \"" + std::string(text) +
                          "\" is not a port 1-65535",
                      "write ports and ranges separated by commas, e.g. 25,3306,4000-4100");
  }
  return v;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// Calls `fn` with each trimmed, non-empty item of a comma-separated list.
template <class Fn>
void for_each_item(std::string_view text, Fn fn) {
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string item = trim(text.substr(start, end - start));
    start = end + 1;
    if (!item.empty()) fn(item);
  }
}

// "warn,meshctl=info": the meshctl directive wins, else the bare level.
core::log::Level parse_log_filter(std::string_view text, std::string_view source) {
  std::optional<core::log::Level> bare, ours;
  for_each_item(text, [&](const std::string& item) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      bare = core::log::parse_level(item, source);
    } else if (item.substr(0, eq) == "meshctl" || item.substr(0, eq).rfind("meshctl::", 0) == 0) {
      ours = core::log::parse_level(item.substr(eq + 1), source);
    } else {
      core::log::parse_level(item.substr(eq + 1), source);  // validate other targets' levels too
    }
  });
  return ours.value_or(bare.value_or(core::log::Level::info));
}

bool parse_bool(std::string_view text, std::string_view source) {
  if (text == "true") return true;
  if (text == "false") return false;
  throw core::Error(std::string(source) + ": \"" + std::string(text) + "\" is not true or false");
}

}  // namespace

PortSet parse_port_set(std::string_view text, std::string_view source) {
  PortSet set;
  for_each_item(text, [&](const std::string& item) {
    const auto dash = item.find('-');
    if (dash == std::string::npos) {
      const int p = parse_port(item, source, text);
      set.add_range(p, p);
      return;
    }
    const int first = parse_port(std::string_view(item).substr(0, dash), source, text);
    const int last = parse_port(std::string_view(item).substr(dash + 1), source, text);
    if (last < first) {
      throw core::Error(std::string(source) + ": \"" + std::string(text) + "\": range " + item + " is backwards");
    }
    set.add_range(first, last);
  });
  return set;
}

ProxyConfig parse_proxy_config(const Getenv& getenv) {
  auto get = [&](const env::Var& v) { return getenv(v.name).value_or(std::string(v.default_value)); };
  auto duration = [&](const env::Var& v) { return core::util::parse_duration(get(v), v.name); };
  ProxyConfig c;
  c.destination_addr = get(env::kDestinationAddr);
  c.destination_name = get(env::kDestinationName);
  c.identity_addr = get(env::kIdentityAddr);
  c.identity_server_name = get(env::kIdentityServerName);
  c.identity_name = get(env::kIdentityName);
  c.trust_anchors_pem = get(env::kTrustAnchors);
  c.trust_domain = get(env::kTrustDomain);
  c.token_file = get(env::kTokenFile);
  c.inbound_addr = core::net::parse_host_port(get(env::kInboundAddr), env::kInboundAddr.name);
  c.outbound_addr = core::net::parse_host_port(get(env::kOutboundAddr), env::kOutboundAddr.name);
  c.admin_addr = core::net::parse_host_port(get(env::kAdminAddr), env::kAdminAddr.name);
  c.namespace_name = get(env::kNamespace);
  c.pod_name = get(env::kPodName);
  c.opaque_ports = parse_port_set(get(env::kOpaquePorts), env::kOpaquePorts.name);
  c.default_inbound_policy = get(env::kDefaultInboundPolicy);
  static constexpr std::string_view kPolicies[] = {"all-unauthenticated",    "all-authenticated", "cluster-unauthenticated",
                                                   "cluster-authenticated", "deny",              "audit"};
  if (std::find(std::begin(kPolicies), std::end(kPolicies), c.default_inbound_policy) == std::end(kPolicies)) {
    throw core::Error(std::string(env::kDefaultInboundPolicy.name) + ": \"" + c.default_inbound_policy +
                      "\" is not one of all-unauthenticated, all-authenticated, cluster-unauthenticated, "
                      "cluster-authenticated, deny, audit");
  }
  c.log_level = parse_log_filter(get(env::kLogLevel), env::kLogLevel.name);
  c.detect_timeout = duration(env::kDetectTimeout);
  c.inbound_connect_timeout = duration(env::kInboundConnectTimeout);
  c.outbound_connect_timeout = duration(env::kOutboundConnectTimeout);
  c.shutdown_grace_period = duration(env::kShutdownGracePeriod);
  c.ingress_mode = parse_bool(get(env::kIngressMode), env::kIngressMode.name);
  return c;
}

void require_control_plane(const ProxyConfig& c) {
  for (auto [var, value] : {std::pair{env::kIdentityAddr, &c.identity_addr},
                            std::pair{env::kIdentityServerName, &c.identity_server_name},
                            std::pair{env::kIdentityName, &c.identity_name},
                            std::pair{env::kTrustAnchors, &c.trust_anchors_pem},
                            std::pair{env::kDestinationAddr, &c.destination_addr}}) {
    if (value->empty()) {
      throw core::Error(std::string(var.name) + " is required: " + std::string(var.description));
    }
  }
}

Getenv process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

}  // namespace meshctl::dataplane::proxy

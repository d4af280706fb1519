#pragma once
// The proxy's configuration, parsed from the MESHCTL_PROXY_* variables of core/proxy_env.h and
// nothing else. Parse errors name the variable and the value so an operator can fix the
// injected environment without reading code.

#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/log/log.h"
#include "core/net/host_port.h"

namespace meshctl::dataplane::proxy {

// A set of ports given as "25,587,4000-4100".
class PortSet {
 public:
  bool contains(int port) const;
  void add_range(int first, int last) { ranges_.emplace_back(first, last); }
  bool empty() const { return ranges_.empty(); }

 private:
  std::vector<std::pair<int, int>> ranges_;
};

struct ProxyConfig {
  std::string destination_addr;
  std::string destination_name;
  std::string identity_addr;
  std::string identity_server_name;
  std::string identity_name;
  std::string trust_anchors_pem;
  std::string trust_domain;
  std::string token_file;
  core::net::HostPort inbound_addr;
  core::net::HostPort outbound_addr;
  core::net::HostPort admin_addr;
  std::string namespace_name;
  std::string pod_name;
  PortSet opaque_ports;
  std::string default_inbound_policy;
  core::log::Level log_level = core::log::Level::info;
  std::chrono::milliseconds detect_timeout{1000};
  std::chrono::milliseconds inbound_connect_timeout{100};
  std::chrono::milliseconds outbound_connect_timeout{1000};
  std::chrono::milliseconds shutdown_grace_period{120000};
  bool ingress_mode = false;
  // Not an environment variable: the number of worker threads (one per core by default).
  unsigned workers = 0;
  // How long an outbound connection waits for discovery's first answer before it is forwarded
  // as a target the mesh does not know.
  std::chrono::milliseconds discovery_wait{500};
};

using Getenv = std::function<std::optional<std::string>(std::string_view name)>;

// Reads every variable through `getenv` (the process environment in production, a map in
// tests). Throws core::Error naming the variable on a bad value. Required variables are
// checked by `require_control_plane`, so tests can build a config without a control plane.
ProxyConfig parse_proxy_config(const Getenv& getenv);
void require_control_plane(const ProxyConfig& config);

Getenv process_environment();

PortSet parse_port_set(std::string_view text, std::string_view source);

}  // namespace meshctl::dataplane::proxy

#pragma once
// What the injector needs to know about the mesh, taken from the mesh values (the same values
// `install` renders), plus the checks every setting goes through whether it comes from values,
// a flag or a config.meshctl.io annotation.

#include <optional>
#include <string>
#include <string_view>

#include "core/yaml/yaml_json.h"

namespace meshctl::core::inject {

using Json = yaml::Json;

enum class Mode {
  Annotate,  // add meshctl.io/inject and let the webhook do the rest
  Manual,    // write the proxy, its init container and volumes into the spec
};

// Kubernetes quantities; empty means not set.
struct Resources {
  std::string cpu_request;
  std::string cpu_limit;
  std::string memory_request;
  std::string memory_limit;
};

struct InjectConfig {
  Mode mode = Mode::Annotate;
  // The webhook's rule: inject only pods whose annotation (or their namespace's) asks for it.
  // The CLI injects what it is given unless it is disabled.
  bool require_opt_in = false;
  // Inject in ingress mode even when the annotations do not ask for it.
  bool ingress = false;
  // meshctl.io/created-by on manually injected pods ("meshctl/cli 0.1.0"); empty leaves it out.
  std::string created_by;
  // config.meshctl.io/* annotations written onto every pod template and namespace before the
  // settings are read, so they take effect in both modes.
  Json override_annotations = Json::object();

  std::string mesh_namespace = "meshctl";
  std::string cluster_domain = "cluster.local";
  std::string trust_domain = "cluster.local";
  std::string trust_anchors_pem;  // required in manual mode
  std::string cluster_networks;
  std::string image;      // repository without a tag
  std::string image_tag;  // never empty after config_from_values
  std::string image_pull_policy = "IfNotPresent";
  int proxy_uid = 2102;
  int inbound_port = 4143;
  int outbound_port = 4140;
  int admin_port = 4191;
  int identity_port = 8080;
  int destination_port = 8086;
  std::string token_audience = "identity.meshctl.io";
  std::string log_level;
  std::string opaque_ports;
  std::string default_inbound_policy;
  bool native_sidecar = false;
  std::string detect_timeout;
  std::string inbound_connect_timeout;
  std::string outbound_connect_timeout;
  std::string shutdown_grace_period;
  Resources proxy_resources;
  Resources init_resources;
  std::string ignore_inbound_ports;
  std::string ignore_outbound_ports;
  std::string skip_subnets;
  std::string iptables_mode = "nft";
};

// The injector's view of the mesh values (shaped like manifests/values.yaml). Throws
// core::Error naming the value that is missing or invalid.
InjectConfig config_from_values(const Json& values);

// Each check returns what is wrong with the text, or nothing when it is fine.

// "25,3306,8000-8010": ports and ranges of ports in 1-65535. Empty is an empty list.
std::optional<std::string> check_ports(std::string_view text);
// "warn", "info,meshctl=debug": a level or comma-separated target=level directives.
std::optional<std::string> check_log_level(std::string_view text);
// all-unauthenticated, all-authenticated, cluster-unauthenticated, cluster-authenticated, deny, audit.
std::optional<std::string> check_inbound_policy(std::string_view text);
// A Kubernetes quantity such as 100m, 0.5, 64Mi or 1e3.
std::optional<std::string> check_quantity(std::string_view text);
// An image reference: repository with an optional :tag or @digest.
std::optional<std::string> check_image(std::string_view text);

// Ports text without spaces, for writing back.
std::string normalize_ports(std::string_view text);

}  // namespace meshctl::core::inject

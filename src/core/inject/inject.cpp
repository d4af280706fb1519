#include "core/inject/inject.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <optional>
#include <set>

#include "core/error.h"
#include "core/inject/names.h"
#include "core/proxy_env.h"

namespace meshctl::core::inject {
namespace {

std::string str(std::string_view s) { return std::string(s); }

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// An annotation's text. Kubernetes holds only strings, but YAML may have typed an unquoted
// value (8080, true), which still says what the author meant.
std::optional<std::string> annotation(const Json& annotations, std::string_view name) {
  if (!annotations.is_object()) return std::nullopt;
  auto it = annotations.find(str(name));
  if (it == annotations.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_null()) return std::string();
  return it->dump(-1, ' ', false, Json::error_handler_t::replace);
}

const Json& metadata_field(const Json& obj, const char* field) {
  static const Json empty = Json::object();
  if (!obj.is_object()) return empty;
  auto md = obj.find("metadata");
  if (md == obj.end() || !md->is_object()) return empty;
  auto f = md->find(field);
  return f == md->end() || !f->is_object() ? empty : *f;
}

// metadata.<field> as a map, created when missing.
Json& metadata_map(Json& obj, const char* field) {
  Json& md = obj["metadata"];
  if (!md.is_object()) md = Json::object();
  Json& m = md[field];
  if (!m.is_object()) m = Json::object();
  return m;
}

const std::string* name_of(const Json& item) {
  if (!item.is_object()) return nullptr;
  auto n = item.find("name");
  return n != item.end() && n->is_string() ? &n->get_ref<const std::string&>() : nullptr;
}

// Drops the items of spec[field] named one of `names`. A list this empties goes too, since
// injection created it, except `containers`, which a pod always has.
bool remove_named(Json& spec, const char* field, std::initializer_list<std::string_view> names) {
  auto it = spec.find(field);
  if (it == spec.end() || !it->is_array()) return false;
  auto doomed = [&](const Json& item) {
    const auto* n = name_of(item);
    return n && std::find(names.begin(), names.end(), *n) != names.end();
  };
  if (std::none_of(it->begin(), it->end(), doomed)) return false;
  Json kept = Json::array();
  for (auto& item : *it) {
    if (!doomed(item)) kept.push_back(std::move(item));
  }
  if (kept.empty() && std::string_view(field) != "containers") {
    spec.erase(field);
  } else {
    *it = std::move(kept);
  }
  return true;
}

// Drops metadata.<field> keys that `drop` picks; a map (and metadata) this empties goes too.
bool remove_metadata_keys(Json& obj, const char* field,
                          const std::function<bool(const std::string&, const Json&)>& drop) {
  auto md = obj.find("metadata");
  if (md == obj.end() || !md->is_object()) return false;
  auto f = md->find(field);
  if (f == md->end() || !f->is_object()) return false;
  std::vector<std::string> doomed;
  for (auto it = f->begin(); it != f->end(); ++it) {
    if (drop(it.key(), it.value())) doomed.push_back(it.key());
  }
  if (doomed.empty()) return false;
  for (const auto& k : doomed) f->erase(k);
  if (f->empty()) md->erase(field);
  if (md->empty()) obj.erase("metadata");
  return true;
}

// Removes everything an earlier injection added. Returns whether there was anything.
bool strip(Json& pod) {
  bool changed = false;
  if (auto spec = pod.find("spec"); spec != pod.end() && spec->is_object()) {
    changed |= remove_named(*spec, "containers", {kProxyContainerName});
    changed |= remove_named(*spec, "initContainers", {kProxyContainerName, kInitContainerName});
    changed |= remove_named(*spec, "volumes", {kIdentityEndEntityVolume, kIdentityTokenVolume, kXtablesLockVolume});
  }
  changed |= remove_metadata_keys(pod, "annotations", [](const std::string& k, const Json& v) {
    if (k == kInjectAnnotation) return !(v.is_string() && v.get_ref<const std::string&>() == kInjectDisabled);
    return k == kCreatedByAnnotation || k == kProxyVersionAnnotation || k == kTrustRootSha256Annotation;
  });
  changed |= remove_metadata_keys(pod, "labels", [](const std::string& k, const Json&) {
    return k == kControlPlaneNsLabel || k == kWorkloadNsLabel || starts_with(k, kProxyOwnerLabelPrefix);
  });
  return changed;
}

// Puts keys that `original` had back in its order, new keys after them. Removing what an
// earlier injection added and adding it again must not move anything, or injecting injected
// input would change it.
void restore_order(Json& out, const Json& original) {
  if (out.is_object() && original.is_object()) {
    for (auto it = out.begin(); it != out.end(); ++it) {
      auto o = original.find(it.key());
      if (o != original.end()) restore_order(it.value(), *o);
    }
    Json ordered = Json::object();
    for (auto o = original.begin(); o != original.end(); ++o) {
      auto it = out.find(o.key());
      if (it != out.end()) ordered[o.key()] = std::move(*it);
    }
    for (auto it = out.begin(); it != out.end(); ++it) {
      if (!original.contains(it.key())) ordered[it.key()] = std::move(it.value());
    }
    out = std::move(ordered);
  } else if (out.is_array() && original.is_array()) {
    for (size_t i = 0; i < out.size(); ++i) {
      const Json* match = nullptr;
      if (const auto* n = name_of(out[i])) {
        for (const auto& o : original) {
          if (const auto* on = name_of(o); on && *on == *n) {
            match = &o;
            break;
          }
        }
      } else if (i < original.size()) {
        match = &original[i];
      }
      if (match) restore_order(out[i], *match);
    }
  }
}

// The proxy settings of one pod: the mesh values, then its namespace's config annotations,
// then its own.
struct Settings {
  std::string log_level;
  std::string opaque_ports;
  std::string inbound_policy;
  std::string skip_inbound_ports;
  std::string skip_outbound_ports;
  std::string image;          // with tag or digest
  std::string proxy_version;  // the tag
  Resources resources;
  bool native_sidecar = false;
};

// An image reference's tag ("" when it has none or is pinned by digest).
std::string tag_of(std::string_view image) {
  if (image.find('@') != std::string_view::npos) return "";
  const size_t slash = image.rfind('/');
  const size_t colon = image.rfind(':');
  if (colon == std::string_view::npos || (slash != std::string_view::npos && colon < slash)) return "";
  return std::string(image.substr(colon + 1));
}

std::optional<std::string> resolve(const InjectConfig& c, const Json& ns_annotations, const Json& pod_annotations,
                                   Settings& s) {
  s.log_level = c.log_level;
  s.opaque_ports = c.opaque_ports;
  s.inbound_policy = c.default_inbound_policy;
  s.skip_inbound_ports = c.ignore_inbound_ports;
  s.skip_outbound_ports = c.ignore_outbound_ports;
  s.resources = c.proxy_resources;
  s.native_sidecar = c.native_sidecar;
  std::string image;

  const std::pair<const Json*, const char*> sources[] = {{&ns_annotations, " on its namespace"},
                                                        {&pod_annotations, ""}};
  for (const auto& [annotations, where] : sources) {
    if (!annotations->is_object()) continue;
    for (auto it = annotations->begin(); it != annotations->end(); ++it) {
      const std::string& key = it.key();
      if (!starts_with(key, kConfigPrefix)) continue;
      const std::string text = *annotation(*annotations, key);
      std::optional<std::string> problem;
      auto quantity = [&](std::string& field) {
        problem = text.empty() ? std::nullopt : check_quantity(text);
        field = text;
      };
      if (key == kSkipInboundPortsAnnotation) {
        problem = check_ports(text);
        s.skip_inbound_ports = normalize_ports(text);
      } else if (key == kSkipOutboundPortsAnnotation) {
        problem = check_ports(text);
        s.skip_outbound_ports = normalize_ports(text);
      } else if (key == kOpaquePortsAnnotation) {
        problem = check_ports(text);
        s.opaque_ports = normalize_ports(text);
      } else if (key == kProxyLogLevelAnnotation) {
        problem = check_log_level(text);
        s.log_level = text;
      } else if (key == kDefaultInboundPolicyAnnotation) {
        problem = check_inbound_policy(text);
        s.inbound_policy = text;
      } else if (key == kProxyCpuRequestAnnotation) {
        quantity(s.resources.cpu_request);
      } else if (key == kProxyCpuLimitAnnotation) {
        quantity(s.resources.cpu_limit);
      } else if (key == kProxyMemoryRequestAnnotation) {
        quantity(s.resources.memory_request);
      } else if (key == kProxyMemoryLimitAnnotation) {
        quantity(s.resources.memory_limit);
      } else if (key == kProxyImageAnnotation) {
        problem = check_image(text);
        image = text;
      } else if (key == kNativeSidecarAnnotation) {
        if (text != "true" && text != "false") problem = "\"" + text + "\" is not true or false";
        s.native_sidecar = text == "true";
      }
      // Other config.meshctl.io keys belong to newer or other tools: left alone.
      if (problem) return "annotation " + key + where + ": " + *problem;
    }
  }

  if (image.empty()) {
    s.image = c.image + ":" + c.image_tag;
    s.proxy_version = c.image_tag;
  } else if (image.find('@') != std::string::npos || !tag_of(image).empty()) {
    s.image = image;
    s.proxy_version = tag_of(image).empty() ? c.image_tag : tag_of(image);
  } else {
    s.image = image + ":" + c.image_tag;
    s.proxy_version = c.image_tag;
  }
  return std::nullopt;
}

Json resources_json(const Resources& r) {
  Json out = Json::object();
  Json requests = Json::object();
  Json limits = Json::object();
  if (!r.cpu_request.empty()) requests["cpu"] = r.cpu_request;
  if (!r.memory_request.empty()) requests["memory"] = r.memory_request;
  if (!r.cpu_limit.empty()) limits["cpu"] = r.cpu_limit;
  if (!r.memory_limit.empty()) limits["memory"] = r.memory_limit;
  if (!limits.empty()) out["limits"] = std::move(limits);
  if (!requests.empty()) out["requests"] = std::move(requests);
  return out;
}

Json env(std::string_view name, std::string value) { return Json{{"name", str(name)}, {"value", std::move(value)}}; }

Json field_env(std::string_view name, std::string_view field_path) {
  return Json{{"name", str(name)}, {"valueFrom", Json{{"fieldRef", Json{{"fieldPath", str(field_path)}}}}}};
}

// The pod's TCP container ports, the ones the proxy serves inbound.
std::string container_ports(const Json& spec) {
  std::set<long long> ports;
  for (const char* field : {"containers", "initContainers"}) {
    auto list = spec.find(field);
    if (list == spec.end() || !list->is_array()) continue;
    for (const auto& container : *list) {
      if (!container.is_object() || !container.contains("ports") || !container["ports"].is_array()) continue;
      for (const auto& port : container["ports"]) {
        if (!port.is_object()) continue;
        auto number = port.find("containerPort");
        auto protocol = port.find("protocol");
        if (number == port.end() || !number->is_number_integer()) continue;
        if (protocol != port.end() && *protocol != "TCP") continue;
        ports.insert(number->get<long long>());
      }
    }
  }
  std::string out;
  for (long long p : ports) out += (out.empty() ? "" : ",") + std::to_string(p);
  return out;
}

std::string join_ports(std::initializer_list<std::string> lists) {
  std::vector<std::string> seen;
  std::string out;
  for (const auto& list : lists) {
    size_t start = 0;
    while (start < list.size()) {
      size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      const std::string item = list.substr(start, comma - start);
      if (!item.empty() && std::find(seen.begin(), seen.end(), item) == seen.end()) {
        seen.push_back(item);
        out += (out.empty() ? "" : ",") + item;
      }
      start = comma + 1;
    }
  }
  return out;
}

Json http_probe(const char* path, int port) { return Json{{"path", path}, {"port", port}}; }

Json proxy_container(const InjectConfig& c, const Settings& s, const std::string& inbound_ports, bool ingress) {
  namespace pe = proxy_env;
  const std::string cp = c.mesh_namespace + ".svc." + c.cluster_domain + ".";
  const std::string identity_suffix = ".serviceaccount.identity." + c.mesh_namespace + "." + c.trust_domain;

  Json vars = Json::array();
  // Downward API first: Kubernetes expands $(VAR) only for variables defined earlier in the list.
  vars.push_back(field_env("_MESHCTL_NS", "metadata.namespace"));
  vars.push_back(field_env("_MESHCTL_SA", "spec.serviceAccountName"));
  vars.push_back(field_env("_MESHCTL_POD", "metadata.name"));
  vars.push_back(env(pe::kLogLevel.name, s.log_level));
  vars.push_back(env(pe::kDestinationAddr.name,
                     "meshctl-dst-headless." + cp + ":" + std::to_string(c.destination_port)));
  vars.push_back(env(pe::kDestinationName.name, "meshctl-destination." + c.mesh_namespace + identity_suffix));
  vars.push_back(env(pe::kIdentityAddr.name,
                     "meshctl-identity-headless." + cp + ":" + std::to_string(c.identity_port)));
  vars.push_back(env(pe::kIdentityServerName.name, "meshctl-identity." + c.mesh_namespace + identity_suffix));
  vars.push_back(env(pe::kIdentityName.name, "$(_MESHCTL_SA).$(_MESHCTL_NS)" + identity_suffix));
  vars.push_back(env(pe::kIdentityDir.name, str(pe::kIdentityDir.default_value)));
  vars.push_back(env(pe::kTrustAnchors.name, c.trust_anchors_pem));
  vars.push_back(env(pe::kTrustDomain.name, c.trust_domain));
  vars.push_back(env(pe::kTokenFile.name, str(kTokenMountDir) + "/" + str(kTokenFileName)));
  vars.push_back(env(pe::kInboundAddr.name, "0.0.0.0:" + std::to_string(c.inbound_port)));
  vars.push_back(env(pe::kOutboundAddr.name, "127.0.0.1:" + std::to_string(c.outbound_port)));
  // The kubelet probes the admin port from outside the pod.
  vars.push_back(env(pe::kAdminAddr.name, "0.0.0.0:" + std::to_string(c.admin_port)));
  if (!inbound_ports.empty()) vars.push_back(env(pe::kInboundPorts.name, inbound_ports));
  vars.push_back(env(pe::kNamespace.name, "$(_MESHCTL_NS)"));
  vars.push_back(env(pe::kPodName.name, "$(_MESHCTL_POD)"));
  if (!c.cluster_networks.empty()) vars.push_back(env(pe::kClusterNetworks.name, c.cluster_networks));
  vars.push_back(env(pe::kOpaquePorts.name, s.opaque_ports));
  vars.push_back(env(pe::kDefaultInboundPolicy.name, s.inbound_policy));
  vars.push_back(env(pe::kDetectTimeout.name, c.detect_timeout));
  vars.push_back(env(pe::kInboundConnectTimeout.name, c.inbound_connect_timeout));
  vars.push_back(env(pe::kOutboundConnectTimeout.name, c.outbound_connect_timeout));
  vars.push_back(env(pe::kShutdownGracePeriod.name, c.shutdown_grace_period));
  if (ingress) vars.push_back(env(pe::kIngressMode.name, "true"));

  Json proxy = Json::object();
  proxy["name"] = str(kProxyContainerName);
  proxy["image"] = s.image;
  proxy["imagePullPolicy"] = c.image_pull_policy;
  proxy["args"] = Json::array({"proxy"});
  proxy["env"] = std::move(vars);
  proxy["ports"] = Json::array({Json{{"name", str(kProxyPortName)}, {"containerPort", c.inbound_port}},
                                Json{{"name", str(kAdminPortName)}, {"containerPort", c.admin_port}}});
  proxy["livenessProbe"] = Json{{"httpGet", http_probe("/live", c.admin_port)}, {"initialDelaySeconds", 10}};
  proxy["readinessProbe"] = Json{{"httpGet", http_probe("/ready", c.admin_port)}, {"initialDelaySeconds", 2}};
  if (s.native_sidecar) {
    // The application's containers start once this succeeds, that is once the proxy has its
    // certificate: until then the application's traffic would have nowhere to go.
    proxy["startupProbe"] =
        Json{{"httpGet", http_probe("/ready", c.admin_port)}, {"periodSeconds", 1}, {"failureThreshold", 120}};
    proxy["restartPolicy"] = "Always";
  }
  if (Json r = resources_json(s.resources); !r.empty()) proxy["resources"] = std::move(r);
  proxy["securityContext"] = Json{{"allowPrivilegeEscalation", false},
                                  {"capabilities", Json{{"drop", Json::array({"ALL"})}}},
                                  {"readOnlyRootFilesystem", true},
                                  {"runAsNonRoot", true},
                                  {"runAsUser", c.proxy_uid},
                                  {"seccompProfile", Json{{"type", "RuntimeDefault"}}}};
  proxy["terminationMessagePolicy"] = "FallbackToLogsOnError";
  proxy["volumeMounts"] =
      Json::array({Json{{"name", str(kIdentityEndEntityVolume)}, {"mountPath", str(pe::kIdentityDir.default_value)}},
                   Json{{"name", str(kIdentityTokenVolume)}, {"mountPath", str(kTokenMountDir)}, {"readOnly", true}}});
  return proxy;
}

Json init_container(const InjectConfig& c, const Settings& s) {
  Json args = Json::array({"proxy", "init", "--inbound-port", std::to_string(c.inbound_port), "--outbound-port",
                           std::to_string(c.outbound_port), "--proxy-uid", std::to_string(c.proxy_uid)});
  // The admin port stays reachable from outside the pod: the kubelet probes it.
  const std::string skip_in = join_ports({std::to_string(c.admin_port), s.skip_inbound_ports});
  args.push_back("--skip-inbound-ports");
  args.push_back(skip_in);
  if (!s.skip_outbound_ports.empty()) {
    args.push_back("--skip-outbound-ports");
    args.push_back(s.skip_outbound_ports);
  }
  if (!c.skip_subnets.empty()) {
    args.push_back("--skip-subnets");
    args.push_back(c.skip_subnets);
  }
  args.push_back("--iptables-mode");
  args.push_back(c.iptables_mode);

  Json init = Json::object();
  init["name"] = str(kInitContainerName);
  init["image"] = s.image;
  init["imagePullPolicy"] = c.image_pull_policy;
  init["args"] = std::move(args);
  if (Json r = resources_json(c.init_resources); !r.empty()) init["resources"] = std::move(r);
  // iptables needs NET_ADMIN and NET_RAW in its effective set, which a non-root user does not
  // keep across exec; every other capability is dropped and the filesystem is read-only.
  init["securityContext"] = Json{{"allowPrivilegeEscalation", false},
                                 {"capabilities", Json{{"add", Json::array({"NET_ADMIN", "NET_RAW"})},
                                                       {"drop", Json::array({"ALL"})}}},
                                 {"privileged", false},
                                 {"readOnlyRootFilesystem", true},
                                 {"runAsNonRoot", false},
                                 {"runAsUser", 0},
                                 {"seccompProfile", Json{{"type", "RuntimeDefault"}}}};
  init["terminationMessagePolicy"] = "FallbackToLogsOnError";
  // iptables takes its lock under /run, which a read-only root cannot offer.
  init["volumeMounts"] = Json::array({Json{{"name", str(kXtablesLockVolume)}, {"mountPath", "/run"}}});
  return init;
}

void add_sidecar(Json& spec, const InjectConfig& c, const Settings& s, bool ingress) {
  const std::string inbound_ports = container_ports(spec);
  Json proxy = proxy_container(c, s, inbound_ports, ingress);
  Json init = init_container(c, s);
  Json& inits = spec["initContainers"];
  if (!inits.is_array()) inits = Json::array();
  if (s.native_sidecar) {
    // Redirect first, then the proxy, then the pod's own init containers, which get a mesh.
    inits.insert(inits.begin(), std::move(proxy));
    inits.insert(inits.begin(), std::move(init));
  } else {
    // Last, so the pod's own init containers run before traffic is redirected to a proxy that
    // does not run yet; the proxy goes first among the containers, to start first.
    inits.push_back(std::move(init));
    Json& containers = spec["containers"];
    if (!containers.is_array()) containers = Json::array();
    containers.insert(containers.begin(), std::move(proxy));
  }
  Json& volumes = spec["volumes"];
  if (!volumes.is_array()) volumes = Json::array();
  volumes.push_back(Json{{"name", str(kIdentityEndEntityVolume)}, {"emptyDir", Json{{"medium", "Memory"}}}});
  volumes.push_back(Json{
      {"name", str(kIdentityTokenVolume)},
      {"projected",
       Json{{"sources", Json::array({Json{{"serviceAccountToken", Json{{"audience", c.token_audience},
                                                                        {"expirationSeconds", kTokenExpirationSeconds},
                                                                        {"path", str(kTokenFileName)}}}}})}}}});
  volumes.push_back(Json{{"name", str(kXtablesLockVolume)}, {"emptyDir", Json::object()}});
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

}  // namespace

std::string report_line(const ReportEntry& e) {
  std::string line = lower(e.kind) + " \"" + e.name + "\" ";
  switch (e.outcome) {
    case Outcome::Injected:
      return line + "injected";
    case Outcome::Annotated:
      return line + "annotated";
    case Outcome::Uninjected:
      return line + "uninjected";
    case Outcome::Skipped:
      return line + "skipped: " + e.reason;
  }
  return line;
}

std::string trust_root_sha256(std::string_view pem) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(pem.data(), pem.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    throw Error("cannot compute the SHA-256 of the trust anchors");
  }
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xf];
  }
  return out;
}

InjectResult inject_pod_spec(Json pod, const WorkloadRef& workload, const Json& namespace_annotations,
                             const InjectConfig& config) {
  InjectResult r{std::move(pod), ReportEntry{workload.kind, workload.name, Outcome::Skipped, ""}};
  auto skip = [&r](std::string why) {
    r.report.reason = std::move(why);
    return std::move(r);
  };
  if (!r.pod.is_object()) return skip("has no pod template");

  static const Json no_annotations = Json::object();
  const Json& ns_annotations = namespace_annotations.is_object() ? namespace_annotations : no_annotations;
  const auto pod_value = annotation(metadata_field(r.pod, "annotations"), kInjectAnnotation);
  const auto ns_value = annotation(ns_annotations, kInjectAnnotation);
  // The pod's own word beats its namespace's.
  const auto& value = pod_value ? pod_value : ns_value;
  if (value && *value != kInjectEnabled && *value != kInjectDisabled && *value != kInjectIngress) {
    return skip(str(kInjectAnnotation) + (pod_value ? "" : " on its namespace") + " is \"" + *value +
                "\", not enabled, ingress or disabled");
  }
  if (value == kInjectDisabled) {
    return skip(pod_value ? "annotation meshctl.io/inject is disabled"
                          : "its namespace has annotation meshctl.io/inject: disabled");
  }
  if (config.require_opt_in && !value) return skip("neither it nor its namespace has meshctl.io/inject: enabled");

  auto spec = r.pod.find("spec");
  if (spec == r.pod.end() || !spec->is_object()) return skip("has no pod spec");
  if (auto host = spec->find("hostNetwork"); host != spec->end() && *host == true) {
    return skip("hostNetwork is enabled");
  }
  for (const char* field : {"initContainers", "containers"}) {
    auto list = spec->find(field);
    if (list == spec->end() || !list->is_array()) continue;
    for (const auto& container : *list) {
      const auto* n = name_of(container);
      if (n && std::find(kOtherMeshContainers.begin(), kOtherMeshContainers.end(), *n) != kOtherMeshContainers.end()) {
        return skip("another mesh's sidecar is present (container " + *n + ")");
      }
    }
  }

  const bool ingress = config.ingress || value == kInjectIngress;
  Json out = r.pod;
  strip(out);
  Json& annotations = metadata_map(out, "annotations");
  for (auto it = config.override_annotations.begin(); it != config.override_annotations.end(); ++it) {
    annotations[it.key()] = it.value();
  }
  Settings settings;
  if (auto problem = resolve(config, ns_annotations, annotations, settings)) return skip(*problem);

  if (config.mode == Mode::Annotate) {
    annotations[str(kInjectAnnotation)] = str(ingress ? kInjectIngress : kInjectEnabled);
  } else {
    if (!config.created_by.empty()) annotations[str(kCreatedByAnnotation)] = config.created_by;
    annotations[str(kProxyVersionAnnotation)] = settings.proxy_version;
    annotations[str(kTrustRootSha256Annotation)] = trust_root_sha256(config.trust_anchors_pem);
    if (ingress) annotations[str(kInjectAnnotation)] = str(kInjectIngress);
    Json& labels = metadata_map(out, "labels");
    labels[str(kControlPlaneNsLabel)] = config.mesh_namespace;
    // A label value holds at most 63 characters; a longer name would make the pod invalid.
    if (workload.kind != "Pod" && !workload.name.empty() && workload.name.size() <= 63) {
      labels[str(kProxyOwnerLabelPrefix) + lower(workload.kind)] = workload.name;
    }
    if (!workload.ns.empty()) labels[str(kWorkloadNsLabel)] = workload.ns;
    add_sidecar(out["spec"], config, settings, ingress);
  }
  restore_order(out, r.pod);
  r.pod = std::move(out);
  r.report.outcome = Outcome::Injected;
  return r;
}

InjectResult uninject_pod_spec(Json pod, const WorkloadRef& workload) {
  InjectResult r{std::move(pod), ReportEntry{workload.kind, workload.name, Outcome::Skipped, ""}};
  if (r.pod.is_object() && strip(r.pod)) {
    r.report.outcome = Outcome::Uninjected;
  } else {
    r.report.reason = "not injected";
  }
  return r;
}

}  // namespace meshctl::core::inject

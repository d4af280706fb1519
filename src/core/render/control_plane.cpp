#include "core/render/control_plane.h"

#include <cctype>
#include <set>

#include "core/error.h"
#include "core/log/log.h"
#include "core/render/manifests.h"
#include "core/tls/crypto_util.h"
#include "core/util/duration.h"
#include "core/version.h"

namespace meshctl::core::render {
namespace {

const Json& lookup(const Json& values, const std::string& key) {
  const Json* node = &values;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node->is_object() || !node->contains(part)) throw Error("value " + key + " is missing");
    node = &(*node)[part];
    if (dot == std::string::npos) return *node;
    start = dot + 1;
  }
}

[[noreturn]] void bad(const std::string& key, const std::string& why, const std::string& hint = {}) {
  throw Error("value " + key + ": " + why, hint);
}

const std::string& string_value(const Json& values, const std::string& key) {
  const Json& v = lookup(values, key);
  if (!v.is_string()) bad(key, "must be a string");
  return v.get_ref<const std::string&>();
}

long long int_value(const Json& values, const std::string& key, long long min, long long max) {
  const Json& v = lookup(values, key);
  if (!v.is_number_integer()) bad(key, "must be a whole number, not " + v.dump());
  const long long n = v.get<long long>();
  if (n < min || n > max) {
    bad(key, "must be from " + std::to_string(min) + " to " + std::to_string(max) + ", not " + std::to_string(n));
  }
  return n;
}

void one_of(const Json& values, const std::string& key, const std::set<std::string>& allowed) {
  const std::string& v = string_value(values, key);
  if (!allowed.count(v)) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    bad(key, "\"" + v + "\" is not one of " + list);
  }
}

// RFC 1123 label: what Kubernetes takes as a namespace name.
bool dns_label(const std::string& s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-')) {
      return false;
    }
  }
  return true;
}

// A port number without sign or leading garbage; -1 when `s` is not one.
long port_number(const std::string& s) {
  if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stol(s);
}

bool dns_name(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    if (!dns_label(s.substr(start, dot == std::string::npos ? std::string::npos : dot - start))) return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

// The components parse durations with core::util, so install accepts exactly what they do.
void duration_value(const Json& values, const std::string& key, bool positive) {
  const auto d = util::parse_duration(string_value(values, key), "value " + key);
  if (positive && d < std::chrono::seconds(1)) bad(key, "must be at least 1s");
}

void port_list(const Json& values, const std::string& key) {
  const std::string& s = string_value(values, key);
  if (s.empty()) return;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    const std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t dash = item.find('-');
    const long lo = port_number(item.substr(0, dash));
    const long hi = dash == std::string::npos ? lo : port_number(item.substr(dash + 1));
    if (lo < 0 || hi < 0) bad(key, "\"" + item + "\" is not a port or a port range");
    if (lo < 1 || hi > 65535 || hi < lo) bad(key, "\"" + item + "\" is outside 1-65535");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
}

}  // namespace

std::string trust_domain(const Json& values) {
  const std::string& td = string_value(values, "identityTrustDomain");
  return td.empty() ? string_value(values, "clusterDomain") : td;
}

void validate_values(const Json& values) {
  const std::string& ns = string_value(values, "meshNamespace");
  if (!dns_label(ns)) {
    bad("meshNamespace", "\"" + ns + "\" is not a valid namespace name",
        "a namespace name is at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit");
  }
  if (!dns_name(string_value(values, "clusterDomain"))) bad("clusterDomain", "is not a DNS name");
  const std::string& td = string_value(values, "identityTrustDomain");
  if (!td.empty() && !dns_name(td)) bad("identityTrustDomain", "\"" + td + "\" is not a DNS name");
  if (string_value(values, "image.registry").empty()) bad("image.registry", "must not be empty");
  if (string_value(values, "image.name").empty()) bad("image.name", "must not be empty");
  one_of(values, "image.pullPolicy", {"Always", "IfNotPresent", "Never"});
  int_value(values, "controllerReplicas", 1, 100);
  log::parse_level(string_value(values, "controllerLogLevel"), "value controllerLogLevel");
  // UID 0 would defeat runAsNonRoot; Kubernetes refuses such pods anyway, but later.
  int_value(values, "controllerUID", 1, 2147483647);
  int_value(values, "controllerGID", 1, 2147483647);
  one_of(values, "webhookFailurePolicy", {"Ignore", "Fail"});
  int_value(values, "webhookTimeoutSeconds", 1, 30);
  for (const char* key : {"controllerResources.cpu.request", "controllerResources.memory.request"}) {
    if (string_value(values, key).empty()) bad(key, "must not be empty: every container has requests");
  }

  std::set<long long> used;
  for (const char* component : {"identity", "destination", "proxyInjector"}) {
    for (const char* port : {"port", "adminPort"}) {
      const std::string key = std::string(component) + "." + port;
      const long long p = int_value(values, key, 1, 65535);
      if (!used.insert(p).second) bad(key, std::to_string(p) + " is already used by another control-plane port");
    }
  }
  duration_value(values, "identity.issuer.issuanceLifetime", true);
  duration_value(values, "identity.issuer.clockSkewAllowance", false);
  if (string_value(values, "identity.tokenAudience").empty()) bad("identity.tokenAudience", "must not be empty");

  for (const auto& ns_value : lookup(values, "proxyInjector.excludedNamespaces")) {
    if (!ns_value.is_string() || !dns_label(ns_value.get<std::string>())) {
      bad("proxyInjector.excludedNamespaces", ns_value.dump() + " is not a namespace name");
    }
  }

  int_value(values, "proxy.uid", 1, 2147483647);
  for (const char* port : {"proxy.ports.inbound", "proxy.ports.outbound", "proxy.ports.admin"}) {
    int_value(values, port, 1, 65535);
  }
  one_of(values, "proxy.defaultInboundPolicy",
         {"deny", "audit", "all-authenticated", "all-unauthenticated", "cluster-authenticated",
          "cluster-unauthenticated"});
  port_list(values, "proxy.opaquePorts");
  port_list(values, "proxyInit.ignoreInboundPorts");
  port_list(values, "proxyInit.ignoreOutboundPorts");
  one_of(values, "proxyInit.iptablesMode", {"nft", "legacy"});
  for (const char* key : {"proxy.detectTimeout", "proxy.inboundConnectTimeout", "proxy.outboundConnectTimeout",
                          "proxy.shutdownGracePeriod"}) {
    duration_value(values, key, false);
  }
}

Json control_plane_context(const Json& values, const IdentityMaterial& identity) {
  Json filled = values;
  filled["identityTrustAnchorsPEM"] = identity.trust_anchors_pem;
  filled["identity"]["externalIssuer"] = identity.external_issuer;
  Json config = filled;
  // The issuer's key must stay in its Secret; its certificate goes stale when cert-manager
  // rotates it, so neither belongs in the configuration.
  config["identity"]["issuer"]["tls"]["crtPEM"] = "";
  config["identity"]["issuer"]["tls"]["keyPEM"] = "";

  Json ctx = Json::object();
  ctx["Values"] = filled;
  ctx["ConfigValues"] = config;
  ctx["Release"] = {{"Namespace", values["meshNamespace"]}, {"Name", "meshctl"}};
  ctx["Version"] = std::string(version());
  ctx["Identity"] = {{"TrustDomain", trust_domain(values)},
                     {"TrustAnchorsPEM", identity.trust_anchors_pem},
                     {"Issuer",
                      {{"External", identity.external_issuer},
                       {"CrtPEM", identity.issuer_certificate_pem},
                       {"KeyPEM", identity.issuer_key_pem}}}};
  ctx["Webhook"] = {{"CrtPEM", identity.webhook_certificate_pem},
                    {"KeyPEM", identity.webhook_key_pem},
                    {"CaBundle", tls::base64_encode(tls::as_bytes(identity.webhook_certificate_pem))}};
  return ctx;
}

std::vector<Json> render_control_plane(const Json& values, const IdentityMaterial& identity) {
  return render_manifests("control-plane", control_plane_context(values, identity));
}

std::vector<Json> render_crds(const Json& values) {
  Json ctx = Json::object();
  ctx["Values"] = values;
  ctx["Release"] = {{"Namespace", values["meshNamespace"]}, {"Name", "meshctl"}};
  ctx["Version"] = std::string(version());
  return render_manifests("crds", ctx);
}

}  // namespace meshctl::core::render

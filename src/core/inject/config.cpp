#include "core/inject/config.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "core/error.h"
#include "core/version.h"

namespace meshctl::core::inject {
namespace {

// A value as JSON text, for messages; bad UTF-8 is replaced rather than thrown on.
std::string shown(const Json& v) { return v.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string_view trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::optional<long> to_number(std::string_view s) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  long v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// Walks `values` along a dotted path; a missing or mistyped value is an error naming the path.
const Json& at(const Json& values, std::string_view path) {
  const Json* node = &values;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t dot = path.find('.', start);
    const std::string key(path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (!node->is_object() || !node->contains(key)) throw Error("mesh values: " + std::string(path) + " is missing");
    node = &(*node)[key];
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return *node;
}

std::string string_value(const Json& values, std::string_view path) {
  const Json& v = at(values, path);
  if (v.is_null()) return "";
  if (!v.is_string()) throw Error("mesh values: " + std::string(path) + " must be a string, not " + shown(v));
  return v.get<std::string>();
}

int int_value(const Json& values, std::string_view path, int min, int max) {
  const Json& v = at(values, path);
  if (!v.is_number_integer() || v.get<long long>() < min || v.get<long long>() > max) {
    throw Error("mesh values: " + std::string(path) + " must be a whole number from " + std::to_string(min) + " to " +
                std::to_string(max) + ", not " + shown(v));
  }
  return v.get<int>();
}

void require(std::string_view path, const std::optional<std::string>& problem) {
  if (problem) throw Error("mesh values: " + std::string(path) + ": " + *problem);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Consumes digits from `s` at `i`; returns how many.
size_t digits(std::string_view s, size_t& i) {
  const size_t start = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  return i - start;
}

// Go-style durations: one or more <number><unit>, such as 100ms or 1m30s.
std::optional<std::string> check_duration(std::string_view text) {
  size_t i = 0;
  bool ok = !text.empty();
  while (ok && i < text.size()) {
    ok = digits(text, i) > 0;
    if (ok && i < text.size() && text[i] == '.') {
      ++i;
      ok = digits(text, i) > 0;
    }
    if (!ok) break;
    bool unit = false;
    for (std::string_view u : {"ns", "us", "ms", "s", "m", "h"}) {
      if (text.substr(i, u.size()) == u) {
        i += u.size();
        unit = true;
        break;
      }
    }
    ok = unit;
  }
  if (ok) return std::nullopt;
  return in_quotes(text) + " is not a duration such as 100ms, 10s or 1m";
}

Resources resources_value(const Json& values, std::string_view path) {
  const std::string p(path);
  Resources r{string_value(values, p + ".cpu.request"), string_value(values, p + ".cpu.limit"),
              string_value(values, p + ".memory.request"), string_value(values, p + ".memory.limit")};
  for (const auto& [name, q] : {std::pair{".cpu.request", &r.cpu_request}, std::pair{".cpu.limit", &r.cpu_limit},
                                std::pair{".memory.request", &r.memory_request},
                                std::pair{".memory.limit", &r.memory_limit}}) {
    if (!q->empty()) require(p + name, check_quantity(*q));
  }
  return r;
}

}  // namespace

std::optional<std::string> check_ports(std::string_view text) {
  if (trim(text).empty()) return std::nullopt;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const size_t len = comma == std::string_view::npos ? std::string_view::npos : comma - start;
    const auto item = trim(text.substr(start, len));
    const size_t dash = item.find('-');
    const auto lo = to_number(item.substr(0, dash));
    const auto hi = dash == std::string_view::npos ? lo : to_number(item.substr(dash + 1));
    if (!lo || !hi) return in_quotes(item) + " is not a port or a range of ports (such as 8080 or 8000-8010)";
    for (long p : {*lo, *hi}) {
      if (p < 1 || p > 65535) return "port " + std::to_string(p) + " is out of range (1-65535)";
    }
    if (*lo > *hi) return "range " + in_quotes(item) + " ends before it starts";
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return std::nullopt;
}

std::string normalize_ports(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c != ' ' && c != '\t') out += c;
  }
  return out;
}

std::optional<std::string> check_log_level(std::string_view text) {
  static constexpr std::array<std::string_view, 6> levels{"trace", "debug", "info", "warn", "error", "off"};
  auto is_level = [](std::string_view l) {
    for (auto known : levels) {
      if (l == known) return true;
    }
    return false;
  };
  auto is_target = [](std::string_view t) {
    return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':' || c == '.' || c == '-';
    });
  };
  if (trim(text).empty()) return "the log level is empty";
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const auto directive =
        trim(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    const size_t eq = directive.find('=');
    const auto level = eq == std::string_view::npos ? directive : directive.substr(eq + 1);
    if (eq != std::string_view::npos && !is_target(directive.substr(0, eq))) {
      return in_quotes(directive) + " does not name a target (such as meshctl=debug)";
    }
    if (!is_level(level)) {
      return in_quotes(level) + " is not a log level (trace, debug, info, warn, error or off)";
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return std::nullopt;
}

std::optional<std::string> check_inbound_policy(std::string_view text) {
  static constexpr std::array<std::string_view, 6> policies{"all-unauthenticated",     "all-authenticated",
                                                            "cluster-unauthenticated", "cluster-authenticated",
                                                            "deny",                    "audit"};
  for (auto p : policies) {
    if (text == p) return std::nullopt;
  }
  return in_quotes(text) +
         " is not a policy (all-unauthenticated, all-authenticated, cluster-unauthenticated, "
         "cluster-authenticated, deny or audit)";
}

std::optional<std::string> check_quantity(std::string_view text) {
  // [+]<digits>[.<digits>] or [+].<digits>, then a binary suffix (Ki..Ei), a decimal one
  // (n, u, m, k, M..E) or an exponent.
  size_t i = 0;
  if (i < text.size() && text[i] == '+') ++i;
  const size_t whole = digits(text, i);
  size_t fraction = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    fraction = digits(text, i);
  }
  bool ok = whole > 0 || fraction > 0;
  const std::string_view suffix = text.substr(i);
  if (ok && !suffix.empty()) {
    auto one_of = [](char c, std::string_view set) { return set.find(c) != std::string_view::npos; };
    const bool binary = suffix.size() == 2 && suffix[1] == 'i' && one_of(suffix[0], "KMGTPE");
    const bool decimal = suffix.size() == 1 && one_of(suffix[0], "numkMGTPE");
    bool exponent = false;
    if (suffix[0] == 'e' || suffix[0] == 'E') {
      size_t j = 1;
      if (j < suffix.size() && (suffix[j] == '+' || suffix[j] == '-')) ++j;
      exponent = digits(suffix, j) > 0 && j == suffix.size();
    }
    ok = binary || decimal || exponent;
  }
  if (ok) return std::nullopt;
  return in_quotes(text) + " is not a quantity (such as 100m, 0.5, 64Mi or 1Gi)";
}

std::optional<std::string> check_image(std::string_view text) {
  // Lower-case repository path with an optional port and :tag, then an optional @sha256 digest.
  std::string_view name = text;
  bool ok = true;
  if (const size_t at = text.find('@'); at != std::string_view::npos) {
    name = text.substr(0, at);
    const std::string_view digest = text.substr(at + 1);
    ok = digest.size() == 71 && digest.substr(0, 7) == "sha256:" &&
         std::all_of(digest.begin() + 7, digest.end(), [](char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); });
  }
  ok = ok && !name.empty() && name.back() != ':' && name.back() != '/' &&
       (is_digit(name[0]) || (name[0] >= 'a' && name[0] <= 'z')) &&
       std::all_of(name.begin(), name.end(), [](char c) {
         return is_digit(c) || (c >= 'a' && c <= 'z') || c == '.' || c == '_' || c == '-' || c == '/' || c == ':';
       });
  if (ok) return std::nullopt;
  return in_quotes(text) + " is not an image reference (such as ghcr.io/meshctl/meshctl:1.0)";
}

InjectConfig config_from_values(const Json& values) {
  InjectConfig c;
  c.mesh_namespace = string_value(values, "meshNamespace");
  if (c.mesh_namespace.empty()) throw Error("mesh values: meshNamespace is empty");
  c.cluster_domain = string_value(values, "clusterDomain");
  if (c.cluster_domain.empty()) throw Error("mesh values: clusterDomain is empty");
  c.trust_domain = string_value(values, "identityTrustDomain");
  if (c.trust_domain.empty()) c.trust_domain = c.cluster_domain;
  c.trust_anchors_pem = string_value(values, "identityTrustAnchorsPEM");
  c.cluster_networks = string_value(values, "clusterNetworks");

  const std::string registry = string_value(values, "image.registry");
  const std::string name = string_value(values, "image.name");
  c.image = registry.empty() ? name : registry + "/" + name;
  c.image_tag = string_value(values, "image.tag");
  if (const auto proxy_name = string_value(values, "proxy.image.name"); !proxy_name.empty()) c.image = proxy_name;
  if (const auto proxy_tag = string_value(values, "proxy.image.tag"); !proxy_tag.empty()) c.image_tag = proxy_tag;
  if (c.image_tag.empty()) c.image_tag = std::string(version());
  require("proxy image", check_image(c.image + ":" + c.image_tag));
  c.image_pull_policy = string_value(values, "image.pullPolicy");
  if (c.image_pull_policy != "Always" && c.image_pull_policy != "IfNotPresent" && c.image_pull_policy != "Never") {
    throw Error("mesh values: image.pullPolicy must be Always, IfNotPresent or Never, not " +
                in_quotes(c.image_pull_policy));
  }

  c.proxy_uid = int_value(values, "proxy.uid", 1, 2147483647);
  c.inbound_port = int_value(values, "proxy.ports.inbound", 1, 65535);
  c.outbound_port = int_value(values, "proxy.ports.outbound", 1, 65535);
  c.admin_port = int_value(values, "proxy.ports.admin", 1, 65535);
  c.identity_port = int_value(values, "identity.port", 1, 65535);
  c.destination_port = int_value(values, "destination.port", 1, 65535);
  c.token_audience = string_value(values, "identity.tokenAudience");
  if (c.token_audience.empty()) throw Error("mesh values: identity.tokenAudience is empty");

  c.log_level = string_value(values, "proxy.logLevel");
  require("proxy.logLevel", check_log_level(c.log_level));
  c.opaque_ports = normalize_ports(string_value(values, "proxy.opaquePorts"));
  require("proxy.opaquePorts", check_ports(c.opaque_ports));
  c.default_inbound_policy = string_value(values, "proxy.defaultInboundPolicy");
  require("proxy.defaultInboundPolicy", check_inbound_policy(c.default_inbound_policy));
  const Json& native = at(values, "proxy.nativeSidecar");
  if (!native.is_boolean()) throw Error("mesh values: proxy.nativeSidecar must be true or false");
  c.native_sidecar = native.get<bool>();
  c.detect_timeout = string_value(values, "proxy.detectTimeout");
  require("proxy.detectTimeout", check_duration(c.detect_timeout));
  c.inbound_connect_timeout = string_value(values, "proxy.inboundConnectTimeout");
  require("proxy.inboundConnectTimeout", check_duration(c.inbound_connect_timeout));
  c.outbound_connect_timeout = string_value(values, "proxy.outboundConnectTimeout");
  require("proxy.outboundConnectTimeout", check_duration(c.outbound_connect_timeout));
  c.shutdown_grace_period = string_value(values, "proxy.shutdownGracePeriod");
  require("proxy.shutdownGracePeriod", check_duration(c.shutdown_grace_period));
  c.proxy_resources = resources_value(values, "proxy.resources");

  c.ignore_inbound_ports = normalize_ports(string_value(values, "proxyInit.ignoreInboundPorts"));
  require("proxyInit.ignoreInboundPorts", check_ports(c.ignore_inbound_ports));
  c.ignore_outbound_ports = normalize_ports(string_value(values, "proxyInit.ignoreOutboundPorts"));
  require("proxyInit.ignoreOutboundPorts", check_ports(c.ignore_outbound_ports));
  c.skip_subnets = string_value(values, "proxyInit.skipSubnets");
  c.iptables_mode = string_value(values, "proxyInit.iptablesMode");
  if (c.iptables_mode != "nft" && c.iptables_mode != "legacy") {
    throw Error("mesh values: proxyInit.iptablesMode must be nft or legacy, not " + in_quotes(c.iptables_mode));
  }
  c.init_resources = resources_value(values, "proxyInit.resources");
  return c;
}

}  // namespace meshctl::core::inject

#include "dataplane/init/redirect_rules.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "core/error.h"

namespace meshctl::dataplane::init {
namespace {

using core::Error;

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits on commas, dropping empty items so "4190,,4191," and "" are accepted.
std::vector<std::string_view> split_list(std::string_view text) {
  std::vector<std::string_view> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    const auto item = trim(text.substr(start, comma - start));
    if (!item.empty()) items.push_back(item);
    start = comma + 1;
  }
  return items;
}

bool to_int(std::string_view s, long& value) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc() && end == s.data() + s.size();
}

std::string port_match(const PortRange& r) {
  return r.first == r.last ? std::to_string(r.first) : std::to_string(r.first) + ":" + std::to_string(r.last);
}

// Counts lines of `save` that are exactly `rule` (iptables-save prints rules canonically).
int count_rule(std::string_view save, std::string_view rule) {
  int n = 0;
  size_t start = 0;
  while (start < save.size()) {
    size_t end = save.find('\n', start);
    if (end == std::string_view::npos) end = save.size();
    if (trim(save.substr(start, end - start)) == rule) ++n;
    start = end + 1;
  }
  return n;
}

std::string jump(std::string_view from, std::string_view chain) {
  return std::string(from) + " -j " + std::string(chain);
}

// Appends what makes the jump from `from` present exactly once: the jump is not a rule of our
// chains, so flushing them cannot reset it, and iptables-restore has no "append unless present".
void ensure_one_jump(std::string& out, std::string_view from, std::string_view chain, int present) {
  if (present == 0) out += "-A " + jump(from, chain) + "\n";
  for (int i = 1; i < present; ++i) out += "-D " + jump(from, chain) + "\n";
}

}  // namespace

int parse_port(std::string_view text, std::string_view flag) {
  long v = 0;
  if (!to_int(trim(text), v)) throw Error(std::string(flag) + ": " + quoted(text) + " is not a port number");
  if (v < 1 || v > 65535) throw Error(std::string(flag) + ": port " + std::to_string(v) + " is out of range (1-65535)");
  return static_cast<int>(v);
}

std::vector<PortRange> parse_port_list(std::string_view text, std::string_view flag) {
  std::vector<PortRange> out;
  for (const auto item : split_list(text)) {
    const size_t dash = item.find('-');
    long lo = 0, hi = 0;
    const bool ok = to_int(trim(item.substr(0, dash)), lo) &&
                    (dash == std::string_view::npos ? (hi = lo, true) : to_int(trim(item.substr(dash + 1)), hi));
    if (!ok) {
      throw Error(std::string(flag) + ": " + quoted(item) + " is not a port or a range of ports (such as 8080 or 8000-8010)");
    }
    for (long p : {lo, hi}) {
      if (p < 1 || p > 65535) throw Error(std::string(flag) + ": port " + std::to_string(p) + " is out of range (1-65535)");
    }
    if (lo > hi) throw Error(std::string(flag) + ": range " + quoted(item) + " ends before it starts");
    const PortRange r{static_cast<int>(lo), static_cast<int>(hi)};
    if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
  }
  return out;
}

std::vector<std::string> parse_subnet_list(std::string_view text, std::string_view flag) {
  std::vector<std::string> out;
  for (const auto item : split_list(text)) {
    const size_t slash = item.find('/');
    const std::string addr(item.substr(0, slash));
    long bits = 32;
    in_addr a{};
    if (inet_pton(AF_INET, addr.c_str(), &a) != 1 ||
        (slash != std::string_view::npos && (!to_int(item.substr(slash + 1), bits) || bits < 0 || bits > 32))) {
      throw Error(std::string(flag) + ": " + quoted(item) + " is not an IPv4 CIDR (such as 10.0.0.0/8)");
    }
    const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
    a.s_addr = htonl(ntohl(a.s_addr) & mask);
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    const std::string cidr = std::string(buf) + "/" + std::to_string(bits);
    if (std::find(out.begin(), out.end(), cidr) == out.end()) out.push_back(cidr);
  }
  return out;
}

NatState parse_nat_state(std::string_view save) {
  NatState s;
  const std::string redirect_decl = ":" + std::string(kRedirectChain) + " ";
  const std::string output_decl = ":" + std::string(kOutputChain) + " ";
  size_t start = 0;
  while (start < save.size()) {
    size_t end = save.find('\n', start);
    if (end == std::string_view::npos) end = save.size();
    const auto line = save.substr(start, end - start);
    if (line.starts_with(redirect_decl)) s.redirect_chain = true;
    if (line.starts_with(output_decl)) s.output_chain = true;
    start = end + 1;
  }
  s.prerouting_jumps = count_rule(save, "-A " + jump("PREROUTING", kRedirectChain));
  s.output_jumps = count_rule(save, "-A " + jump("OUTPUT", kOutputChain));
  return s;
}

std::string render_install(const RedirectRules& r, const NatState& current) {
  const std::string in(kRedirectChain), outc(kOutputChain);
  std::string out = "*nat\n";
  // Declaring a chain creates it; the explicit flush empties one left by an earlier run, so a
  // second run rewrites rather than appends.
  out += ":" + in + " - [0:0]\n:" + outc + " - [0:0]\n";
  out += "-F " + in + "\n-F " + outc + "\n";

  for (const auto& p : r.skip_inbound_ports) {
    out += "-A " + in + " -p tcp -m tcp --dport " + port_match(p) + " -j RETURN\n";
  }
  out += "-A " + in + " -p tcp -j REDIRECT --to-ports " + std::to_string(r.inbound_port) + "\n";

  // The proxy's own connections must leave untouched or they would loop back into it.
  out += "-A " + outc + " -m owner --uid-owner " + std::to_string(r.proxy_uid) + " -j RETURN\n";
  out += "-A " + outc + " -o lo -j RETURN\n";
  for (const auto& p : r.skip_outbound_ports) {
    out += "-A " + outc + " -p tcp -m tcp --dport " + port_match(p) + " -j RETURN\n";
  }
  for (const auto& cidr : r.skip_subnets) out += "-A " + outc + " -d " + cidr + " -j RETURN\n";
  out += "-A " + outc + " -p tcp -j REDIRECT --to-ports " + std::to_string(r.outbound_port) + "\n";

  ensure_one_jump(out, "PREROUTING", in, current.prerouting_jumps);
  ensure_one_jump(out, "OUTPUT", outc, current.output_jumps);
  out += "COMMIT\n";
  return out;
}

std::string render_uninstall(const NatState& current) {
  if (!current.redirect_chain && !current.output_chain && current.prerouting_jumps == 0 && current.output_jumps == 0) {
    return {};
  }
  std::string out = "*nat\n";
  for (int i = 0; i < current.prerouting_jumps; ++i) out += "-D " + jump("PREROUTING", kRedirectChain) + "\n";
  for (int i = 0; i < current.output_jumps; ++i) out += "-D " + jump("OUTPUT", kOutputChain) + "\n";
  // A chain can only be deleted once empty and unreferenced, hence flush, then delete.
  for (auto [exists, chain] : {std::pair{current.redirect_chain, kRedirectChain}, std::pair{current.output_chain, kOutputChain}}) {
    if (exists) out += "-F " + std::string(chain) + "\n-X " + std::string(chain) + "\n";
  }
  out += "COMMIT\n";
  return out;
}

}  // namespace meshctl::dataplane::init

#pragma once
// The pod's traffic interception as data: which TCP goes to the proxy and which is left alone,
// rendered as iptables-restore input for the nat table. Pure functions, so the exact ruleset is
// testable without privileges; applying it lives in proxy_init.h.

#include <string>
#include <string_view>
#include <vector>

namespace meshctl::dataplane::init {

inline constexpr std::string_view kRedirectChain = "MESHCTL_INIT_REDIRECT";
inline constexpr std::string_view kOutputChain = "MESHCTL_INIT_OUTPUT";

// One port (first == last) or an inclusive range.
struct PortRange {
  int first = 0;
  int last = 0;
  bool operator==(const PortRange&) const = default;
};

struct RedirectRules {
  int inbound_port = 4143;
  int outbound_port = 4140;
  int proxy_uid = 2102;
  std::vector<PortRange> skip_inbound_ports;
  std::vector<PortRange> skip_outbound_ports;
  std::vector<std::string> skip_subnets;  // normalized CIDRs, e.g. "10.0.0.0/8"
};

// What iptables-save says about the nat table, as far as the rules care: which of our chains
// exist and how many jumps into them the built-in chains hold.
struct NatState {
  bool redirect_chain = false;
  bool output_chain = false;
  int prerouting_jumps = 0;
  int output_jumps = 0;
};

// "4190,4191,8000-8010": commas between ports or ranges; blanks ignored. Throws core::Error
// naming `flag` for anything else (bad number, out of 1-65535, a range that ends before it
// starts). Duplicates are dropped, order kept.
std::vector<PortRange> parse_port_list(std::string_view text, std::string_view flag);

// "10.0.0.0/8,192.168.1.1/32": IPv4 CIDRs (a bare address means /32). Returns them normalized
// (host bits cleared, as iptables would print them); throws core::Error naming `flag`.
std::vector<std::string> parse_subnet_list(std::string_view text, std::string_view flag);

// A TCP port 1-65535 given as text; throws core::Error naming `flag`.
int parse_port(std::string_view text, std::string_view flag);

// Reads `iptables-save -t nat` output.
NatState parse_nat_state(std::string_view save_output);

// The iptables-restore input (for --noflush) that makes the nat table hold exactly our rules:
// our chains are (re)created empty and refilled, and the jumps from PREROUTING and OUTPUT end up
// present exactly once whatever `current` held.
std::string render_install(const RedirectRules& rules, const NatState& current);

// The input that removes our jumps and chains; empty when there is nothing to remove.
std::string render_uninstall(const NatState& current);

}  // namespace meshctl::dataplane::init

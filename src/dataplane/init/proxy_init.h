#pragma once
// `meshctl proxy init`: checks it may change the pod's netfilter rules, reads the nat table,
// and applies the redirect rules in one iptables-restore transaction.

#include <iosfwd>
#include <string>

#include "dataplane/init/redirect_rules.h"

namespace meshctl::dataplane::init {

// The flags as given: text, parsed and checked by `parse_init_options` so every error names the
// flag it came from.
struct InitFlags {
  std::string inbound_port = "4143";
  std::string outbound_port = "4140";
  std::string proxy_uid = "2102";
  std::string skip_inbound_ports;
  std::string skip_outbound_ports;
  std::string skip_subnets;
  std::string iptables_mode = "nft";
  bool dry_run = false;
  bool uninstall = false;
};

enum class IptablesMode { nft, legacy };

struct InitOptions {
  RedirectRules rules;
  IptablesMode mode = IptablesMode::nft;
  bool dry_run = false;
  bool uninstall = false;
};

// Ports 4190 (tap) and 4191 (admin) are always left unredirected inbound: the kubelet probes the
// admin port from outside the pod and tap is reached directly.
InitOptions parse_init_options(const InitFlags& flags);

// "iptables-nft" or "iptables-legacy", the prefix of the -save and -restore binaries.
std::string iptables_binary(IptablesMode mode);

// Names the capabilities iptables needs that this process lacks in its effective set, e.g.
// "CAP_NET_ADMIN"; empty when all are there.
std::string missing_capabilities();

// Applies (or, with dry_run, only prints) the rules; writes what it did to `out`. Throws
// core::Error on any failure, with the failing tool's own message.
int run_proxy_init(const InitOptions& options, std::ostream& out);

}  // namespace meshctl::dataplane::init

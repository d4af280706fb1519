// `meshctl proxy init`: what the injected meshctl-init container runs before the pod starts.
// The flag names are the ones core/inject writes; the longer names are accepted too so scripts
// written against proxy-init's vocabulary keep working.
#include <memory>
#include <ostream>

#include "cli/command.h"
#include "dataplane/init/proxy_init.h"

namespace meshctl::cli {

void add_proxy_init_subcommand(CLI::App& proxy, const Io& io, Runner& run) {
  namespace init = dataplane::init;
  auto* cmd = proxy.add_subcommand(
      "init", "Install the pod's iptables rules that send its TCP traffic through the proxy (needs CAP_NET_ADMIN)");
  auto flags = std::make_shared<init::InitFlags>();
  auto& f = *flags;
  // Values are taken as text and checked by parse_init_options, so a bad one fails with one line
  // naming the flag rather than CLI11's conversion message.
  cmd->add_option("--inbound-port,--incoming-proxy-port", f.inbound_port,
                  "Port of the proxy's inbound listener; inbound TCP is redirected there")
      ->type_name("PORT")
      ->capture_default_str();
  cmd->add_option("--outbound-port,--outgoing-proxy-port", f.outbound_port,
                  "Port of the proxy's outbound listener; outbound TCP is redirected there")
      ->type_name("PORT")
      ->capture_default_str();
  cmd->add_option("--proxy-uid", f.proxy_uid, "UID the proxy runs as; its own traffic is never redirected")
      ->type_name("UID")
      ->capture_default_str();
  cmd->add_option("--skip-inbound-ports,--inbound-ports-to-ignore", f.skip_inbound_ports,
                  "Inbound ports or ranges (8000-8010) that bypass the proxy; 4190 and 4191 always do")
      ->type_name("PORTS");
  cmd->add_option("--skip-outbound-ports,--outbound-ports-to-ignore", f.skip_outbound_ports,
                  "Outbound ports or ranges that bypass the proxy")
      ->type_name("PORTS");
  cmd->add_option("--skip-subnets,--subnets-to-ignore", f.skip_subnets,
                  "Destination CIDRs whose outbound traffic bypasses the proxy")
      ->type_name("CIDRS");
  cmd->add_option("--iptables-mode", f.iptables_mode, "nft or legacy: which iptables backend to use")
      ->type_name("MODE")
      ->capture_default_str();
  cmd->add_flag("--dry-run", f.dry_run, "Print the iptables-restore input and change nothing");
  cmd->add_flag("--uninstall", f.uninstall, "Remove the rules and chains an earlier run installed");
  cmd->callback([flags, &io, &run] {
    run = [flags, &io] { return init::run_proxy_init(init::parse_init_options(*flags), io.out); };
  });
}

}  // namespace meshctl::cli

// `meshctl proxy`: the sidecar. Configured only by MESHCTL_PROXY_* variables (core/proxy_env.h),
// which `meshctl proxy --help` lists with their defaults.
#include <ostream>

#include "cli/command.h"
#include "core/error.h"
#include "core/discovery/destination_client.h"
#include "core/identity/identity_client.h"
#include "core/log/log.h"
#include "core/proxy_env.h"
#include "core/tls/pem.h"
#include "dataplane/proxy/config.h"
#include "dataplane/proxy/proxy.h"

namespace meshctl::cli {
namespace {

namespace proxy = dataplane::proxy;

std::string environment_help() {
  std::string out = "\nEnvironment (the proxy reads nothing else):\n";
  for (const auto& v : core::proxy_env::kAll) {
    out += "  " + std::string(v.name) + "\n      " + std::string(v.description);
    out += v.default_value.empty() ? std::string(" (no default)") : " (default \"" + std::string(v.default_value) + "\")";
    out += "\n";
  }
  return out;
}

int run_proxy_command() {
  const auto config = proxy::parse_proxy_config(proxy::process_environment());
  core::log::set_level(config.log_level);
  proxy::require_control_plane(config);
  core::identity::IdentityClientOptions id;
  id.identity_addr = config.identity_addr;
  id.identity_server_name = config.identity_server_name;
  id.local_identity = config.identity_name;
  id.token_file = config.token_file;
  id.trust_anchors = core::tls::bundle_from_pem(config.trust_anchors_pem, core::proxy_env::kTrustAnchors.name);
  core::identity::IdentityClient identity(id);
  identity.start();
  // Discovery speaks mutual TLS with the workload certificate, so it connects once the identity
  // client holds one; until then it retries with backoff like after any failed connect.
  core::discovery::DestinationClientOptions dst;
  dst.addr = config.destination_addr;
  dst.server_identity = config.destination_name;
  dst.identity = [&identity] { return identity.current(); };
  // A target keeps its answer for a while after its last connection closed: the next connection
  // needs no new round trip and still finds it while the destination is unreachable.
  dst.idle_retention = std::chrono::seconds(60);
  core::discovery::DestinationClient resolver(dst);
  resolver.start();
  return proxy::run_proxy(config, resolver, [&identity] { return identity.current(); });
}

}  // namespace

void add_proxy_command(CLI::App& app, const Io& io, Runner& run) {
  auto* cmd = app.add_subcommand("proxy", "Run the sidecar proxy (configured by MESHCTL_PROXY_* variables)");
  cmd->footer(environment_help());
  cmd->require_subcommand(0, 1);
  add_proxy_init_subcommand(*cmd, io, run);
  cmd->callback([cmd, &run] {
    if (!cmd->get_subcommands().empty()) return;
    run = [] { return run_proxy_command(); };
  });
}

}  // namespace meshctl::cli

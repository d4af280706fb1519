// `meshctl proxy`: the group of sidecar commands. Today it holds `init`, which prepares a pod's
// network for the proxy; the proxy itself joins this group as its default action.
#include "cli/command.h"

namespace meshctl::cli {

void add_proxy_command(CLI::App& app, const Io& io, Runner& run) {
  auto* cmd = app.add_subcommand("proxy", "Prepare a pod's network for the sidecar proxy (proxy init)");
  cmd->require_subcommand(1);
  add_proxy_init_subcommand(*cmd, io, run);
}

}  // namespace meshctl::cli

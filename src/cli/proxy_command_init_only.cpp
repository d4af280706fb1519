// A stand-in for `meshctl proxy` that carries only its `init` subcommand, so the branch that
// adds init is runnable on its own. The full proxy command replaces this file.
#include "cli/command.h"

namespace meshctl::cli {

void add_proxy_command(CLI::App& app, const Io& io, Runner& run) {
  auto* cmd = app.add_subcommand("proxy", "The sidecar proxy and the tools that set up its pod");
  cmd->require_subcommand(1);
  add_proxy_init_subcommand(*cmd, io, run);
}

}  // namespace meshctl::cli

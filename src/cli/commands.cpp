#include "cli/command.h"

namespace meshctl::cli {

// The order here is the order of `meshctl --help`: what a user meets first comes first.
void add_commands(CLI::App& app, const Io& io, Runner& run) {
  add_install_command(app, io, run);
  add_uninstall_command(app, io, run);
  add_inject_command(app, io, run);
  add_uninject_command(app, io, run);
  add_identity_command(app, io, run);
  add_proxy_command(app, io, run);
  add_version_command(app, io, run);
}

}  // namespace meshctl::cli

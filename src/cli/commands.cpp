#include "cli/command.h"

namespace meshctl::cli {

void add_commands(CLI::App& app, const Io& io, Runner& run) {
  add_identity_command(app, io, run);
  add_version_command(app, io, run);
  add_install_command(app, io, run);
  add_uninstall_command(app, io, run);
}

}  // namespace meshctl::cli

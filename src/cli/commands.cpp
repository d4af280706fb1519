#include "cli/command.h"

namespace meshctl::cli {

void add_commands(CLI::App& app, const Io& io, Runner& run) {
  add_version_command(app, io, run);
  add_inject_command(app, io, run);
  add_uninject_command(app, io, run);
}

}  // namespace meshctl::cli

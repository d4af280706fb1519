#include <ostream>

#include "cli/command.h"
#include "core/version.h"

namespace meshctl::cli {

void add_version_command(CLI::App& app, const Io& io, Runner& run) {
  auto* cmd = app.add_subcommand("version", "Print the version of meshctl");
  cmd->callback([&io, &run] {
    run = [&io] {
      io.out << "meshctl " << core::version() << "\n";
      return 0;
    };
  });
}

}  // namespace meshctl::cli

#include <ostream>

#include "cli/command.h"
#include "core/error.h"

namespace meshctl::cli {

int run_meshctl(const std::vector<std::string>& args, const Io& io) {
  CLI::App app{"meshctl: a service mesh for Kubernetes", "meshctl"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print help for every subcommand");
  Runner run;
  add_commands(app, io, run);

  if (args.empty()) {
    io.out << app.help();
    return 0;
  }
  // CLI11 parses from the last argument backwards when given a vector.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    // --help is a "parse error" that succeeds; every real one is one line and exit code 1, the
    // same as errors the commands themselves report.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e, io.out, io.err);
    io.err << "Error: " << e.what() << "\n";
    return 1;
  }
  try {
    return run ? run() : 0;
  } catch (const core::Error& e) {
    io.err << "Error: " << e.what() << "\n";
    if (!e.hint().empty()) io.err << "Hint: " << e.hint() << "\n";
    return 1;
  } catch (const std::exception& e) {
    io.err << "Error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace meshctl::cli

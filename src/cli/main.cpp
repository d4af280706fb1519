// meshctl: one binary for the CLI, the control plane and the proxy, chosen by subcommand.
#include <iostream>

#include "cli/command.h"
#include "core/error.h"

int main(int argc, char** argv) {
  using namespace meshctl;
  CLI::App app{"meshctl: a service mesh for Kubernetes", "meshctl"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print help for every subcommand");

  cli::Io io{std::cin, std::cout, std::cerr};
  cli::Runner run;
  cli::add_commands(app, io, run);

  if (argc == 1) {
    std::cout << app.help();
    return 0;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is a "parse error" that succeeds; every real one is one line and exit code 1, the
    // same as errors the commands themselves report.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e, std::cout, std::cerr);
    std::cerr << "Error: " << e.what() << "\n";
    return 1;
  }
  try {
    return run ? run() : 0;
  } catch (const core::Error& e) {
    std::cerr << "Error: " << e.what() << "\n";
    if (!e.hint().empty()) std::cerr << "Hint: " << e.hint() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << "\n";
    return 1;
  }
}

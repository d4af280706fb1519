#pragma once
// Runs a meshctl command line in-process, as main does, with stdin, stdout and stderr in
// strings: tests see exactly what a user would.

#include <sstream>
#include <string>
#include <vector>

#include "cli/command.h"

namespace meshctl::test {

struct CliRun {
  int code = 0;
  std::string out;
  std::string err;
};

inline CliRun run_cli(const std::vector<std::string>& args, const std::string& stdin_text = "") {
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  CLI::App app{"meshctl", "meshctl"};
  app.require_subcommand(1);
  cli::Io io{in, out, err};
  cli::Runner run;
  cli::add_commands(app, io, run);

  std::vector<std::string> storage{"meshctl"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  CliRun result;
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
    result.code = run ? run() : 0;
  } catch (const CLI::ParseError& e) {
    result.code = app.exit(e, out, err);
  }
  result.out = out.str();
  result.err = err.str();
  return result;
}

}  // namespace meshctl::test

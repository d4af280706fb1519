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

// Exactly main's path (cli::run_meshctl), so exit codes and messages are what a user sees.
inline CliRun run_cli(const std::vector<std::string>& args, const std::string& stdin_text = "") {
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  CliRun result;
  result.code = cli::run_meshctl(args, cli::Io{in, out, err});
  result.out = out.str();
  result.err = err.str();
  return result;
}

}  // namespace meshctl::test

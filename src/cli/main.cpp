// meshctl: one binary for the CLI, the control plane and the proxy, chosen by subcommand.
#include <iostream>

#include "cli/command.h"

int main(int argc, char** argv) {
  const meshctl::cli::Io io{std::cin, std::cout, std::cerr};
  return meshctl::cli::run_meshctl(std::vector<std::string>(argv + 1, argv + argc), io);
}

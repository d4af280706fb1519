#pragma once
// How a subcommand plugs into main: it declares its flags on the CLI11 app and, when chosen,
// leaves a runner behind. The runner is a function over streams so tests can call it directly.

#include <CLI/CLI.hpp>
#include <functional>
#include <iosfwd>

namespace meshctl::cli {

struct Io {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
};

// Set by the chosen subcommand's callback; main runs it after parsing.
using Runner = std::function<int()>;

// Registers every subcommand that works; the list lives in commands.cpp.
void add_commands(CLI::App& app, const Io& io, Runner& run);

void add_version_command(CLI::App& app, const Io& io, Runner& run);
void add_identity_command(CLI::App& app, const Io& io, Runner& run);
void add_install_command(CLI::App& app, const Io& io, Runner& run);
void add_uninstall_command(CLI::App& app, const Io& io, Runner& run);
void add_inject_command(CLI::App& app, const Io& io, Runner& run);
void add_uninject_command(CLI::App& app, const Io& io, Runner& run);
void add_proxy_command(CLI::App& app, const Io& io, Runner& run);
// `meshctl proxy init` (iptables for the pod), registered under the proxy command.
void add_proxy_init_subcommand(CLI::App& proxy, const Io& io, Runner& run);

}  // namespace meshctl::cli

#include "dataplane/init/proxy_init.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <ostream>
#include <vector>

#include "core/error.h"

namespace meshctl::dataplane::init {
namespace {

using core::Error;

struct ToolResult {
  int exit_code = -1;
  std::string out, err;
};

// Runs a tool found on PATH with `input` on its stdin, without a shell, and collects both
// streams. poll() drives all three pipes so a tool that writes a lot before reading cannot
// deadlock against us.
ToolResult run_tool(const std::vector<std::string>& argv, const std::string& input) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    throw Error(std::string("pipe: ") + std::strerror(errno));
  }
  const pid_t pid = fork();
  if (pid < 0) throw Error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    const std::string msg = argv[0] + ": " + std::strerror(errno) + "\n";
    (void)!write(2, msg.data(), msg.size());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  // A tool that exits without reading its input must not kill us with SIGPIPE.
  struct sigaction ignore{}, previous{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &previous);

  ToolResult r;
  size_t written = 0;
  int in_fd = in[1];
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  bool out_open = true, err_open = true;
  char buf[4096];
  while (out_open || err_open) {
    pollfd fds[3] = {{out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0}, {in_fd, POLLOUT, 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      } else {
        (i == 0 ? out_open : err_open) = false;
      }
    }
    if (in_fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t n = write(in_fd, input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n <= 0 || written == input.size()) {
        close(in_fd);
        in_fd = -1;
      }
    }
  }
  if (in_fd >= 0) close(in_fd);
  close(out[0]);
  close(err[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  sigaction(SIGPIPE, &previous, nullptr);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string first_line(const std::string& s) {
  const auto end = s.find('\n');
  return s.substr(0, end);
}

std::string read_nat_table(const std::string& tool) {
  const auto r = run_tool({tool + "-save", "-t", "nat"}, "");
  if (r.exit_code == 127) throw Error(first_line(r.err), "install Debian's iptables package");
  if (r.exit_code != 0) throw Error(tool + "-save -t nat failed: " + first_line(r.err));
  return r.out;
}

void restore(const std::string& tool, const std::string& input) {
  // -w waits for the xtables lock instead of failing when another writer holds it.
  const auto r = run_tool({tool + "-restore", "-w", "--noflush"}, input);
  if (r.exit_code == 127) throw Error(first_line(r.err), "install Debian's iptables package");
  if (r.exit_code != 0) {
    throw Error(tool + "-restore failed (exit " + std::to_string(r.exit_code) + "): " + first_line(r.err));
  }
}

}  // namespace

InitOptions parse_init_options(const InitFlags& f) {
  InitOptions o;
  o.rules.inbound_port = parse_port(f.inbound_port, "--inbound-port");
  o.rules.outbound_port = parse_port(f.outbound_port, "--outbound-port");
  long uid = -1;
  try {
    size_t used = 0;
    uid = std::stol(f.proxy_uid, &used);
    if (used != f.proxy_uid.size()) uid = -1;
  } catch (const std::exception&) {
  }
  if (uid < 0 || uid > 2147483647) throw Error("--proxy-uid: \"" + f.proxy_uid + "\" is not a user id");
  o.rules.proxy_uid = static_cast<int>(uid);
  o.rules.skip_inbound_ports = parse_port_list("4190,4191," + f.skip_inbound_ports, "--skip-inbound-ports");
  o.rules.skip_outbound_ports = parse_port_list(f.skip_outbound_ports, "--skip-outbound-ports");
  o.rules.skip_subnets = parse_subnet_list(f.skip_subnets, "--skip-subnets");
  if (f.iptables_mode == "nft") {
    o.mode = IptablesMode::nft;
  } else if (f.iptables_mode == "legacy") {
    o.mode = IptablesMode::legacy;
  } else {
    throw Error("--iptables-mode: \"" + f.iptables_mode + "\" is not nft or legacy");
  }
  if (o.rules.inbound_port == o.rules.outbound_port) {
    throw Error("--outbound-port: must differ from --inbound-port (" + std::to_string(o.rules.inbound_port) + ")");
  }
  o.dry_run = f.dry_run;
  o.uninstall = f.uninstall;
  return o;
}

std::string iptables_binary(IptablesMode mode) {
  return mode == IptablesMode::nft ? "iptables-nft" : "iptables-legacy";
}

std::string missing_capabilities() {
  std::ifstream status("/proc/self/status");
  std::string line;
  unsigned long long effective = 0;
  while (std::getline(status, line)) {
    if (line.rfind("CapEff:", 0) == 0) effective = std::stoull(line.substr(7), nullptr, 16);
  }
  // Bit numbers from linux/capability.h: NET_ADMIN changes the tables, NET_RAW opens the
  // socket iptables-legacy talks to the kernel through.
  constexpr int kNetAdmin = 12, kNetRaw = 13;
  std::string missing;
  for (auto [bit, name] : {std::pair{kNetAdmin, "CAP_NET_ADMIN"}, std::pair{kNetRaw, "CAP_NET_RAW"}}) {
    if (!(effective & (1ULL << bit))) missing += (missing.empty() ? "" : " and ") + std::string(name);
  }
  return missing;
}

int run_proxy_init(const InitOptions& o, std::ostream& out) {
  const std::string tool = iptables_binary(o.mode);
  if (o.dry_run) {
    out << "# dry run: " << tool << "-restore -w --noflush would be given (jumps shown as on a pod without rules)\n"
        << (o.uninstall ? render_uninstall({true, true, 1, 1}) : render_install(o.rules, {}));
    return 0;
  }
  if (const auto missing = missing_capabilities(); !missing.empty()) {
    throw Error("proxy init: changing iptables rules needs " + missing + ", which this process does not have");
  }
  const NatState state = parse_nat_state(read_nat_table(tool));
  if (o.uninstall) {
    const std::string input = render_uninstall(state);
    if (input.empty()) {
      out << "proxy init: no " << kRedirectChain << " or " << kOutputChain << " rules to remove\n";
      return 0;
    }
    restore(tool, input);
    out << "proxy init: removed the redirect rules with " << tool << "-restore:\n" << input;
    return 0;
  }
  const std::string input = render_install(o.rules, state);
  restore(tool, input);
  out << "proxy init: " << (state.redirect_chain || state.output_chain ? "replaced" : "installed")
      << " the redirect rules with " << tool << "-restore:\n"
      << input;
  return 0;
}

}  // namespace meshctl::dataplane::init

#include "support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace meshctl::test {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/meshctl-test-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {
int spawn(const std::vector<std::string>& argv, const std::string& out_path, const std::string& err_path) {
  const int pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // execvp: a bare name ("ip", "tcpdump") is looked up on PATH; a path runs as given.
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}
}  // namespace

Process::Process(std::vector<std::string> argv, std::string log_dir) {
  static int counter = 0;
  const std::string base = log_dir + "/proc-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
  err_path_ = base + ".err";
  pid_ = spawn(argv, base + ".out", err_path_);
  if (pid_ < 0) throw std::runtime_error("fork failed");
}

Process::~Process() {
  if (!exit_code_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::string Process::stderr_text() const { return read_file(err_path_); }

std::optional<std::string> Process::wait_for_log(const std::string& needle, std::chrono::milliseconds timeout,
                                                 size_t from) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = stderr_text();
    const size_t at = text.size() > from ? text.find(needle, from) : std::string::npos;
    if (at != std::string::npos) {
      const size_t start = text.rfind('\n', at);
      const size_t end = text.find('\n', at);
      return text.substr(start == std::string::npos ? 0 : start + 1,
                         end == std::string::npos ? std::string::npos : end - (start == std::string::npos ? 0 : start + 1));
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      const_cast<Process*>(this)->exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::nullopt;
}

int Process::stop(int sig, std::chrono::milliseconds timeout) {
  if (exit_code_) return *exit_code_;
  kill(pid_, sig);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return *exit_code_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  exit_code_ = 137;
  return *exit_code_;
}

CommandResult run_command(const std::vector<std::string>& argv) {
  TempDir dir;
  const int pid = spawn(argv, dir.file("out"), dir.file("err"));
  int status = 0;
  waitpid(pid, &status, 0);
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(dir.file("out"));
  r.err = read_file(dir.file("err"));
  return r;
}

}  // namespace meshctl::test

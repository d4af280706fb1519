#pragma once
// Runs a real meshctl process for a test: stdout and stderr go to files in a temp dir, the
// process is killed when the handle goes away (even when an assertion fails first).

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace meshctl::test {

class Process {
 public:
  Process(std::vector<std::string> argv, std::string log_dir);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Waits until the process's stderr contains `needle`; returns the line holding it.
  // Only text from byte `from` on is searched, so a test can wait for a line that comes after
  // what it has already seen.
  std::optional<std::string> wait_for_log(const std::string& needle, std::chrono::milliseconds timeout,
                                          size_t from = 0) const;
  std::string stderr_text() const;
  // Sends `sig` and waits for exit; returns the exit code (or 128+signal).
  int stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  std::string err_path_;
  std::optional<int> exit_code_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a command to completion, capturing both streams.
CommandResult run_command(const std::vector<std::string>& argv);

// A fresh directory under /tmp, removed with everything in it when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content);

}  // namespace meshctl::test

#include "core/log/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

#include "core/error.h"

namespace meshctl::core::log {
namespace {
std::atomic<Level> g_level{Level::info};
std::mutex g_mu;

const char* name(Level l) {
  switch (l) {
    case Level::debug: return "DEBUG";
    case Level::info: return "INFO";
    case Level::warn: return "WARN";
    case Level::error: return "ERROR";
  }
  return "INFO";
}
}  // namespace

void set_level(Level level) { g_level.store(level); }

Level parse_level(std::string_view text, std::string_view source) {
  if (text == "debug") return Level::debug;
  if (text == "info") return Level::info;
  if (text == "warn") return Level::warn;
  if (text == "error") return Level::error;
  throw Error(std::string(source) + ": unknown log level \"" + std::string(text) + "\" (debug, info, warn, error)");
}

void write(Level level, std::string_view component, std::string_view message) {
  if (level < g_level.load()) return;
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::string line;
  line.reserve(message.size() + component.size() + 40);
  line.append(ts).append(" ").append(name(level)).append(" ").append(component).append(": ").append(message);
  line += '\n';
  std::lock_guard lock(g_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace meshctl::core::log

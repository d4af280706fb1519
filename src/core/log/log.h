#pragma once
// Line-oriented logging to stderr for the long-running components: one line per event,
// "<RFC 3339 time> <LEVEL> <component>: <message>". Never pass secrets or tokens here.

#include <string_view>

namespace meshctl::core::log {

enum class Level { debug, info, warn, error };

// Messages below `level` are dropped. Default info.
void set_level(Level level);
// Parses "debug", "info", "warn" or "error"; throws core::Error naming `source` otherwise.
Level parse_level(std::string_view text, std::string_view source);

void write(Level level, std::string_view component, std::string_view message);
inline void debug(std::string_view c, std::string_view m) { write(Level::debug, c, m); }
inline void info(std::string_view c, std::string_view m) { write(Level::info, c, m); }
inline void warn(std::string_view c, std::string_view m) { write(Level::warn, c, m); }
inline void error(std::string_view c, std::string_view m) { write(Level::error, c, m); }

}  // namespace meshctl::core::log

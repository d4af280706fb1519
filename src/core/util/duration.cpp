#include "core/util/duration.h"

#include <cmath>

#include "core/error.h"

namespace meshctl::core::util {

std::chrono::milliseconds parse_duration(std::string_view text, std::string_view source) {
  auto bad = [&] {
    return Error(std::string(source) + ": \"" + std::string(text) + "\" is not a duration",
                 "use a number with a unit: ms, s, m or h, e.g. 24h, 1h30m, 500ms");
  };
  if (text.empty()) throw bad();
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    if (start == i) throw bad();
    double number = 0;
    try {
      size_t used = 0;
      number = std::stod(std::string(text.substr(start, i - start)), &used);
      if (used != i - start) throw bad();
    } catch (const std::invalid_argument&) {
      throw bad();
    }
    size_t unit_start = i;
    while (i < text.size() && ((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= 'A' && text[i] <= 'Z'))) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    double factor = 0;
    if (unit == "ms") factor = 1;
    else if (unit == "s") factor = 1000;
    else if (unit == "m") factor = 60 * 1000;
    else if (unit == "h") factor = 3600 * 1000;
    else throw bad();
    total_ms += number * factor;
  }
  if (!std::isfinite(total_ms) || total_ms > 1e15) throw bad();
  return std::chrono::milliseconds(static_cast<long long>(std::llround(total_ms)));
}

std::string format_duration(std::chrono::milliseconds d) {
  long long ms = d.count();
  if (ms < 1000) return std::to_string(ms) + "ms";
  long long s = ms / 1000;
  const long long h = s / 3600;
  s %= 3600;
  const long long m = s / 60;
  s %= 60;
  return std::to_string(h) + "h" + std::to_string(m) + "m" + std::to_string(s) + "s";
}

}  // namespace meshctl::core::util

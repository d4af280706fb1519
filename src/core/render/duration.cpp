#include "core/render/duration.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/error.h"

namespace meshctl::core::render {

std::chrono::nanoseconds parse_duration(std::string_view text, std::string_view what) {
  auto bad = [&](const std::string& why) {
    return Error(std::string(what) + ": \"" + std::string(text) + "\" " + why,
                 "write a duration such as 30s, 1500ms, 24h or 1h30m");
  };
  if (text == "0") return std::chrono::nanoseconds(0);
  if (text.empty()) throw bad("is not a duration");
  if (text.front() == '-') throw bad("is negative");
  size_t pos = text.front() == '+' ? 1 : 0;
  if (pos == text.size()) throw bad("is not a duration");
  long double total = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    while (pos < text.size() && (std::isdigit(static_cast<unsigned char>(text[pos])) || text[pos] == '.')) ++pos;
    const std::string number(text.substr(start, pos - start));
    if (number.empty() || number == "." || std::count(number.begin(), number.end(), '.') > 1) {
      throw bad("is not a duration");
    }
    const size_t unit_start = pos;
    while (pos < text.size() && !std::isdigit(static_cast<unsigned char>(text[pos])) && text[pos] != '.') ++pos;
    const std::string_view unit = text.substr(unit_start, pos - unit_start);
    long double scale = 0;
    if (unit == "ns") scale = 1;
    else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs") scale = 1e3;
    else if (unit == "ms") scale = 1e6;
    else if (unit == "s") scale = 1e9;
    else if (unit == "m") scale = 60e9;
    else if (unit == "h") scale = 3600e9;
    else if (unit.empty()) throw bad("has a number without a unit (ns, us, ms, s, m or h)");
    else throw bad("has an unknown unit \"" + std::string(unit) + "\"");
    total += std::stold(number) * scale;
  }
  if (total > 9.2e18L) throw bad("is too long");
  return std::chrono::nanoseconds(static_cast<long long>(std::llround(static_cast<double>(total))));
}

}  // namespace meshctl::core::render

#pragma once
// Certificate times. Callers always pass times in (never "now" inside the library), so
// install's output is reproducible and tests can move the clock.

#include <chrono>
#include <cstdint>
#include <string>

namespace meshctl::core::tls {

using Time = std::chrono::system_clock::time_point;

// X.509 times have whole-second precision; finer parts of a Time are truncated toward the past.
struct Validity {
  Time not_before;
  Time not_after;
};

Time from_unix_seconds(std::int64_t seconds);
std::int64_t to_unix_seconds(Time t);

// RFC 3339 in UTC with whole seconds: "2024-05-01T12:00:00Z".
std::string format_rfc3339(Time t);

}  // namespace meshctl::core::tls

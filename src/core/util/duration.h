#pragma once
// Durations as operators write them in flags, values and annotations, Go style:
// "24h", "1h30m", "20s", "500ms", "8760h". A bare number is refused: the unit is the point.

#include <chrono>
#include <string>
#include <string_view>

namespace meshctl::core::util {

// Throws core::Error naming `source` when `text` is not a non-negative duration.
std::chrono::milliseconds parse_duration(std::string_view text, std::string_view source);

// "24h0m0s" style, whole seconds, or "250ms" below a second.
std::string format_duration(std::chrono::milliseconds d);

}  // namespace meshctl::core::util

#pragma once
// Durations as Go writes them ("24h0m0s", "20s", "1500ms", "1h30m"), which is how Linkerd users
// already spell them in values and flags.

#include <chrono>
#include <string>
#include <string_view>

namespace meshctl::core::render {

// Parses a Go duration: one or more number+unit pairs, units ns, us (or µs), ms, s, m, h,
// decimals allowed ("1.5h"); "0" alone is zero. Throws core::Error "<what>: ..." naming `what`
// (a flag or value key) when the text is not a duration or is negative.
std::chrono::nanoseconds parse_duration(std::string_view text, std::string_view what);

}  // namespace meshctl::core::render

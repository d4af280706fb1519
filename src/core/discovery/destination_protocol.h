#pragma once
// The destination protocol's lines (docs/destination-protocol.md): what a proxy sends, what the
// destination service answers, encoded and parsed in one place for both sides. Lines come from
// the network: parsing never throws, it says what is wrong.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/discovery/endpoint.h"

namespace meshctl::core::discovery::protocol {

inline constexpr std::size_t kMaxLineBytes = 1024 * 1024;

// Proxy -> destination.
struct Request {
  enum class Kind { keepalive, watch, cancel };
  Kind kind = Kind::keepalive;
  std::uint64_t watch = 0;
  std::string target;  // for watch
};

struct RequestResult {
  std::optional<Request> request;
  // When the line is refused: why, and the watch id it named when it named one (0 otherwise).
  std::string error;
  std::uint64_t watch = 0;
};

// One line without its "\n" (a trailing "\r" is ignored).
RequestResult parse_request(std::string_view line);
std::string encode_watch(std::uint64_t watch, std::string_view target);  // ends in "\n"
std::string encode_cancel(std::uint64_t watch);

// Destination -> proxy. An answer's text without its watch id, so the destination encodes one
// state once and sends it to every watcher: `{"watch":<id>,` + body.
std::string encode_answer_body(const EndpointSet& set);  // ends in "}\n"
std::string encode_answer(std::uint64_t watch, std::string_view body);
// An error about one watch, or about a line that named none (watch 0: no "watch" field).
std::string encode_error(std::uint64_t watch, std::string_view message);

struct Answer {
  std::uint64_t watch = 0;  // 0 for an error about no watch
  std::optional<EndpointSet> set;
  std::string error;  // set when the destination refused the watch or the line
};

// Nothing, with `problem` set, when the line is not an answer; an empty line is a keep-alive
// (nothing, `problem` empty).
std::optional<Answer> parse_answer(std::string_view line, std::string& problem);

std::string_view hint_name(ProtocolHint hint);

}  // namespace meshctl::core::discovery::protocol

#pragma once
// Protocol detection on a connection's first bytes, as Linkerd does it: the HTTP/2 preface,
// else an HTTP/1 request line, else opaque TCP. Only a prefix of the stream is inspected, and
// the caller bounds the wait for it (a server-speaks-first protocol sends nothing).

#include <string_view>

namespace meshctl::dataplane::proxy {

enum class Protocol { http1, http2, opaque };

// How many bytes detection looks at, at most.
inline constexpr std::size_t kDetectBytes = 1024;

// `complete` is false when more bytes could still change the answer (a prefix of the preface or
// of a request line); the caller may read again while its deadline allows.
struct Detection {
  Protocol protocol = Protocol::opaque;
  bool complete = true;
};

Detection detect_protocol(std::string_view first_bytes);

const char* to_string(Protocol p);

}  // namespace meshctl::dataplane::proxy

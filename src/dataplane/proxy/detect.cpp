#include "dataplane/proxy/detect.h"

#include <algorithm>

namespace meshctl::dataplane::proxy {
namespace {

constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

bool is_token_char(char c) {
  if (c >= 'A' && c <= 'Z') return true;
  if (c >= 'a' && c <= 'z') return true;
  if (c >= '0' && c <= '9') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// "METHOD SP target SP HTTP/1.x CRLF". Returns complete=false for a valid prefix.
Detection request_line(std::string_view b) {
  std::size_t i = 0;
  while (i < b.size() && is_token_char(b[i])) ++i;
  if (i == b.size()) return {Protocol::http1, !(i < 32)};  // a method still arriving
  if (i == 0 || b[i] != ' ') return {};
  const std::size_t target = ++i;
  while (i < b.size() && b[i] != ' ' && b[i] != '\r' && b[i] != '\n' && static_cast<unsigned char>(b[i]) > 0x20) ++i;
  if (i == b.size()) return {Protocol::http1, i - target > 8192};
  if (i == target || b[i] != ' ') return {};
  const std::string_view version = b.substr(i + 1);
  constexpr std::string_view kPrefix = "HTTP/1.";
  const std::size_t n = std::min(version.size(), kPrefix.size());
  if (version.substr(0, n) != kPrefix.substr(0, n)) return {};
  if (version.size() < kPrefix.size() + 1) return {Protocol::http1, false};
  if (version[kPrefix.size()] != '0' && version[kPrefix.size()] != '1') return {};
  if (version.size() < kPrefix.size() + 2) return {Protocol::http1, false};
  const char end = version[kPrefix.size() + 1];
  if (end == '\r' || end == '\n') return {Protocol::http1, true};
  return {};
}

}  // namespace

Detection detect_protocol(std::string_view b) {
  if (b.empty()) return {Protocol::opaque, false};
  const std::size_t n = std::min(b.size(), kH2Preface.size());
  if (b.substr(0, n) == kH2Preface.substr(0, n)) return {Protocol::http2, n == kH2Preface.size()};
  auto d = request_line(b.substr(0, std::min(b.size(), kDetectBytes)));
  // Detection never waits past its buffer.
  if (!d.complete && b.size() >= kDetectBytes) return {Protocol::opaque, true};
  if (!d.complete || d.protocol != Protocol::http1) return d;
  return d;
}

const char* to_string(Protocol p) {
  switch (p) {
    case Protocol::http1: return "HTTP/1";
    case Protocol::http2: return "HTTP/2";
    case Protocol::opaque: return "opaque";
  }
  return "?";
}

}  // namespace meshctl::dataplane::proxy

#include "dataplane/proxy/transport_header.h"

namespace meshctl::dataplane::proxy {
namespace {
constexpr std::string_view kPrefix = "meshctl-transport/1 ";
}

std::string encode_transport_header(int port) { return std::string(kPrefix) + std::to_string(port) + "\n"; }

HeaderStatus decode_transport_header(std::string_view bytes, TransportHeader& out) {
  const std::size_t n = std::min(bytes.size(), kPrefix.size());
  if (bytes.substr(0, n) != kPrefix.substr(0, n)) return HeaderStatus::invalid;
  const auto nl = bytes.find('\n');
  if (nl == std::string_view::npos) {
    return bytes.size() >= kTransportHeaderMax ? HeaderStatus::invalid : HeaderStatus::incomplete;
  }
  if (nl > kTransportHeaderMax) return HeaderStatus::invalid;
  const auto digits = bytes.substr(kPrefix.size(), nl - kPrefix.size());
  if (digits.empty() || digits.size() > 5) return HeaderStatus::invalid;
  int port = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return HeaderStatus::invalid;
    port = port * 10 + (c - '0');
  }
  if (port < 1 || port > 65535) return HeaderStatus::invalid;
  out = {port, nl + 1};
  return HeaderStatus::complete;
}

}  // namespace meshctl::dataplane::proxy

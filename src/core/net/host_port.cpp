#include "core/net/host_port.h"

#include <charconv>

#include "core/error.h"

namespace meshctl::core::net {

std::string HostPort::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

HostPort parse_host_port(std::string_view text, std::string_view source) {
  auto bad = [&](const std::string& why) {
    return Error(std::string(source) + ": \"" + std::string(text) + "\" " + why, "write host:port, e.g. 127.0.0.1:8080");
  };
  HostPort hp;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw bad("is not [ipv6]:port");
    }
    hp.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) throw bad("has no port");
    hp.host = std::string(text.substr(0, colon));
    if (hp.host.find(':') != std::string::npos) throw bad("needs brackets around an IPv6 address");
    port = text.substr(colon + 1);
  }
  if (hp.host.empty()) throw bad("has no host");
  int value = -1;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || value < 0 || value > 65535) {
    throw bad("has a port that is not 0-65535");
  }
  hp.port = value;
  return hp;
}

}  // namespace meshctl::core::net

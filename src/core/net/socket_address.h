#pragma once
// An IP endpoint as the proxy names it in discovery lookups, logs and metric labels:
// "10.0.0.1:8080" or "[fd00::1]:8080".

#include <string>

namespace meshctl::core::net {

struct SocketAddress {
  std::string ip;  // without brackets
  int port = 0;
  std::string to_string() const { return (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + std::to_string(port); }
  bool is_loopback() const { return ip.rfind("127.", 0) == 0 || ip == "::1"; }
  friend bool operator==(const SocketAddress&, const SocketAddress&) = default;
};

// The address the client originally dialled before an iptables REDIRECT sent it to us
// (SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST). When the connection was not redirected the kernel
// has no such entry, and the local address of the socket is the honest answer.
SocketAddress original_destination(int fd);
SocketAddress local_address(int fd);
SocketAddress peer_address(int fd);

}  // namespace meshctl::core::net

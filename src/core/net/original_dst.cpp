#include <arpa/inet.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/net/socket_address.h"

// From <linux/netfilter_ipv6/ip6_tables.h>, which does not build as C++ on every kernel header set.
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

namespace meshctl::core::net {
namespace {

SocketAddress from_storage(const sockaddr_storage& s) {
  char text[INET6_ADDRSTRLEN] = {};
  if (s.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(s);
    inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
    return {text, ntohs(a.sin_port)};
  }
  if (s.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(s);
    // A v4-mapped address is the IPv4 client of a dual-stack socket: name it as IPv4.
    if (IN6_IS_ADDR_V4MAPPED(&a.sin6_addr)) {
      inet_ntop(AF_INET, &a.sin6_addr.s6_addr[12], text, sizeof text);
    } else {
      inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof text);
    }
    return {text, ntohs(a.sin6_port)};
  }
  return {};
}

}  // namespace

SocketAddress local_address(int fd) {
  sockaddr_storage s{};
  socklen_t len = sizeof s;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&s), &len) != 0) return {};
  return from_storage(s);
}

SocketAddress peer_address(int fd) {
  sockaddr_storage s{};
  socklen_t len = sizeof s;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&s), &len) != 0) return {};
  return from_storage(s);
}

SocketAddress original_destination(int fd) {
  const auto local = local_address(fd);
  sockaddr_storage s{};
  socklen_t len = sizeof s;
  const bool v6 = local.ip.find(':') != std::string::npos;
  const int rc = v6 ? getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &s, &len)
                    : getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &s, &len);
  if (rc != 0) return local;
  auto dst = from_storage(s);
  return dst.port == 0 ? local : dst;
}

}  // namespace meshctl::core::net

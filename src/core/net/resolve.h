#pragma once
// Name resolution without NSS: a static glibc binary cannot load NSS modules, so names go to the
// DNS servers of /etc/resolv.conf through c-ares (and /etc/hosts, which c-ares reads too).
// Numeric addresses never touch DNS.

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <vector>

namespace meshctl::core::net {

struct ResolvedAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  std::string text;  // "10.0.0.1:8080" / "[::1]:8080"
};

// Addresses of `host` with `port`, IPv4 first. Throws core::Error naming the host on failure.
std::vector<ResolvedAddress> resolve(const std::string& host, int port, std::chrono::milliseconds timeout);

}  // namespace meshctl::core::net

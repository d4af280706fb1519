#include "core/net/resolve.h"

#include <arpa/inet.h>
#include <ares.h>
#include <poll.h>

#include <cstring>
#include <mutex>

#include "core/error.h"

namespace meshctl::core::net {
namespace {

ResolvedAddress from_sockaddr(const sockaddr* sa, socklen_t len, int port) {
  ResolvedAddress a;
  std::memcpy(&a.storage, sa, len);
  a.length = len;
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&a.storage);
    in->sin_port = htons(static_cast<uint16_t>(port));
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    a.text = std::string(buf) + ":" + std::to_string(port);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    a.text = "[" + std::string(buf) + "]:" + std::to_string(port);
  }
  return a;
}

struct Lookup {
  int status = ARES_ENOTFOUND;
  std::vector<ResolvedAddress> v4, v6;
  int port = 0;
};

void on_result(void* arg, int status, int, ares_addrinfo* result) {
  auto* lookup = static_cast<Lookup*>(arg);
  lookup->status = status;
  if (status == ARES_SUCCESS && result) {
    for (auto* n = result->nodes; n; n = n->ai_next) {
      auto a = from_sockaddr(n->ai_addr, static_cast<socklen_t>(n->ai_addrlen), lookup->port);
      (n->ai_family == AF_INET ? lookup->v4 : lookup->v6).push_back(std::move(a));
    }
  }
  if (result) ares_freeaddrinfo(result);
}

}  // namespace

std::vector<ResolvedAddress> resolve(const std::string& host, int port, std::chrono::milliseconds timeout) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  if (inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
    return {from_sockaddr(reinterpret_cast<sockaddr*>(&v4), sizeof v4, port)};
  }
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  if (inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
    return {from_sockaddr(reinterpret_cast<sockaddr*>(&v6), sizeof v6, port)};
  }

  static std::once_flag init_once;
  std::call_once(init_once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  ares_channel channel = nullptr;
  if (ares_init(&channel) != ARES_SUCCESS) throw Error("resolve " + host + ": cannot initialise the DNS resolver");
  Lookup lookup;
  lookup.port = port;
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  ares_getaddrinfo(channel, host.c_str(), nullptr, &hints, on_result, &lookup);

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    const int bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
    std::vector<pollfd> fds;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short events = 0;
      if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
      if (events) fds.push_back({socks[i], events, 0});
    }
    if (fds.empty()) break;  // the query finished
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ares_cancel(channel);
      lookup.status = ARES_ETIMEOUT;
      break;
    }
    poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(left.count(), 100)));
    for (const auto& p : fds) {
      ares_process_fd(channel, (p.revents & (POLLIN | POLLERR | POLLHUP)) ? p.fd : ARES_SOCKET_BAD,
                      (p.revents & POLLOUT) ? p.fd : ARES_SOCKET_BAD);
    }
    ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts and retries
  }
  ares_destroy(channel);
  if (lookup.status != ARES_SUCCESS || (lookup.v4.empty() && lookup.v6.empty())) {
    throw Error("resolve " + host + ": " + ares_strerror(lookup.status));
  }
  auto out = std::move(lookup.v4);
  out.insert(out.end(), lookup.v6.begin(), lookup.v6.end());
  return out;
}

}  // namespace meshctl::core::net

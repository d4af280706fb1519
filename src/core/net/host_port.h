#pragma once
// "host:port" addresses as flags and environment variables give them: "0.0.0.0:8080",
// "[::1]:4191", "meshctl-identity.meshctl.svc.cluster.local.:8080".

#include <string>
#include <string_view>

namespace meshctl::core::net {

struct HostPort {
  std::string host;  // without IPv6 brackets
  int port = 0;      // 0..65535; 0 asks the kernel for a free port where that makes sense
  // "host:port" again, with brackets around an IPv6 host.
  std::string to_string() const;
};

// Throws core::Error naming `source` (a flag or variable) when `text` is not host:port.
HostPort parse_host_port(std::string_view text, std::string_view source);

}  // namespace meshctl::core::net

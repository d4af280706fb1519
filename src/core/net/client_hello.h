#pragma once
// Reads the server name (SNI) and ALPN offers out of the first TLS record of a connection
// without terminating TLS, so the inbound listener can tell TLS meant for this proxy from TLS
// the application terminates itself. The bytes are untrusted: every length is checked.

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace meshctl::core::net {

struct ClientHello {
  std::string server_name;  // empty when the client sent no SNI
  std::vector<std::string> alpn;
};

enum class ClientHelloStatus {
  complete,    // parsed
  incomplete,  // a prefix of a TLS handshake record: read more
  not_tls,     // not a TLS ClientHello
};

struct ClientHelloResult {
  ClientHelloStatus status = ClientHelloStatus::not_tls;
  ClientHello hello;
};

// Parses the ClientHello in the first record of `bytes` (the record layer header included).
ClientHelloResult parse_client_hello(std::span<const unsigned char> bytes);

}  // namespace meshctl::core::net

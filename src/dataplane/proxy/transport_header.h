#pragma once
// The header an outbound proxy writes first inside mutual TLS (ALPN meshctl.io/transport) when
// it carries opaque TCP to a peer's inbound port: it names the application port the bytes are
// for, since the connection itself was dialled to the proxy's port. One text line,
// "meshctl-transport/1 <port>\n", so it is easy to read in a packet capture and to bound.

#include <optional>
#include <string>
#include <string_view>

namespace meshctl::dataplane::proxy {

inline constexpr std::string_view kTransportAlpn = "meshctl.io/transport";
inline constexpr std::size_t kTransportHeaderMax = 64;

std::string encode_transport_header(int port);

struct TransportHeader {
  int port = 0;
  std::size_t length = 0;  // bytes the header occupied, newline included
};

enum class HeaderStatus { complete, incomplete, invalid };

// Decodes a header at the start of `bytes`.
HeaderStatus decode_transport_header(std::string_view bytes, TransportHeader& out);

}  // namespace meshctl::dataplane::proxy

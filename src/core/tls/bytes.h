#pragma once
// Byte strings as the TLS code passes them around: owned bytes are a vector, borrowed bytes a
// span, so DER, seeds, digests and random material never masquerade as text.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace meshctl::core::tls {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// The bytes of a string, for hashing PEM text or passing labels to HKDF.
inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace meshctl::core::tls

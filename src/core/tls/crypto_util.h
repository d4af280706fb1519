#pragma once
// Small primitives the rest of meshctl needs around certificates: randomness, HKDF for
// deriving key seeds, base64 for Kubernetes Secrets and tokens, SHA-256 for fingerprints.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/tls/bytes.h"

namespace meshctl::core::tls {

// `n` bytes from OpenSSL's CSPRNG (RAND_bytes). Throws core::Error if the generator fails.
Bytes random_bytes(std::size_t n);

// HKDF-SHA256 (RFC 5869, extract then expand) of `length` bytes. `salt` may be empty (HKDF
// then uses a zero salt); `info` binds the output to its purpose, e.g. "meshctl trust anchor".
// `length` is at most 255 * 32 bytes.
Bytes hkdf_sha256(ByteView key_material, ByteView salt, ByteView info, std::size_t length);

// Standard base64 (RFC 4648 section 4) with padding and no line breaks.
std::string base64_encode(ByteView data);
// Decodes standard base64; padding is required, whitespace is not allowed. Throws core::Error
// "<source>: invalid base64" naming `source`.
Bytes base64_decode(std::string_view text, std::string_view source = "base64 text");

// URL-safe base64 without padding (RFC 4648 section 5), as JWTs use.
std::string base64url_encode(ByteView data);
// Decodes URL-safe base64 with or without padding. Throws core::Error naming `source`.
Bytes base64url_decode(std::string_view text, std::string_view source = "base64url text");

// SHA-256 digest (32 bytes).
Bytes sha256(ByteView data);
// SHA-256 digest as 64 lowercase hex characters.
std::string sha256_hex(ByteView data);
inline std::string sha256_hex(std::string_view text) { return sha256_hex(as_bytes(text)); }

// Lowercase hex, two characters per byte, no separators.
std::string hex_encode(ByteView data);

}  // namespace meshctl::core::tls

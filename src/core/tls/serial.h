#pragma once
// Certificate serial numbers. Callers choose them (install passes fixed ones for reproducible
// output; the identity service uses random ones so serials never repeat across restarts).

#include <cstdint>
#include <string>

#include "core/tls/bytes.h"

namespace meshctl::core::tls {

// A positive serial number as its big-endian magnitude. RFC 5280 allows at most 20 octets once
// DER-encoded, so at most 20 bytes here (19 significant when the top bit of the first is set).
struct SerialNumber {
  Bytes big_endian;

  static SerialNumber from_uint64(std::uint64_t value);
  // 128 random bits (never zero), as CA/Browser Forum practice recommends at least 64.
  static SerialNumber random();

  // Lowercase hex of the magnitude without leading zero bytes ("0" never occurs: zero is invalid).
  std::string hex() const;

  friend bool operator==(const SerialNumber& a, const SerialNumber& b);
};

}  // namespace meshctl::core::tls

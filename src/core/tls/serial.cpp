#include "core/tls/serial.h"

#include <algorithm>

#include "core/tls/crypto_util.h"

namespace meshctl::core::tls {

SerialNumber SerialNumber::from_uint64(std::uint64_t value) {
  SerialNumber s;
  for (int shift = 56; shift >= 0; shift -= 8) {
    const auto byte = static_cast<std::uint8_t>(value >> shift);
    if (byte != 0 || !s.big_endian.empty()) s.big_endian.push_back(byte);
  }
  return s;
}

SerialNumber SerialNumber::random() {
  SerialNumber s;
  do {
    s.big_endian = random_bytes(16);
  } while (std::all_of(s.big_endian.begin(), s.big_endian.end(), [](std::uint8_t b) { return b == 0; }));
  return s;
}

std::string SerialNumber::hex() const {
  auto first = std::find_if(big_endian.begin(), big_endian.end(), [](std::uint8_t b) { return b != 0; });
  if (first == big_endian.end()) return "00";
  return hex_encode(ByteView(&*first, static_cast<std::size_t>(big_endian.end() - first)));
}

bool operator==(const SerialNumber& a, const SerialNumber& b) {
  // Leading zero bytes do not change the number.
  auto strip = [](const Bytes& v) {
    auto it = std::find_if(v.begin(), v.end(), [](std::uint8_t b) { return b != 0; });
    return ByteView(v.data() + (it - v.begin()), static_cast<std::size_t>(v.end() - it));
  };
  const ByteView x = strip(a.big_endian);
  const ByteView y = strip(b.big_endian);
  return std::equal(x.begin(), x.end(), y.begin(), y.end());
}

}  // namespace meshctl::core::tls

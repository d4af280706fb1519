#include <catch2/catch.hpp>

#include <string>

#include "core/error.h"
#include "core/tls/crypto_util.h"
#include "support/tls_fixtures.h"

namespace tls = meshctl::core::tls;
using meshctl::test::openssl_queue_empty;

namespace {

tls::Bytes from_hex(std::string_view hex) {
  tls::Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

}  // namespace

TEST_CASE("random bytes have the asked length and differ", "[tls]") {
  const tls::Bytes a = tls::random_bytes(32);
  const tls::Bytes b = tls::random_bytes(32);
  CHECK(a.size() == 32);
  CHECK(a != b);
  CHECK(tls::random_bytes(0).empty());
}

TEST_CASE("HKDF-SHA256 matches RFC 5869 test case 1", "[tls]") {
  const tls::Bytes ikm(22, 0x0b);
  const tls::Bytes salt = from_hex("000102030405060708090a0b0c");
  const tls::Bytes info = from_hex("f0f1f2f3f4f5f6f7f8f9");
  const tls::Bytes okm = tls::hkdf_sha256(ikm, salt, info, 42);
  CHECK(tls::hex_encode(okm) ==
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  // RFC 5869 test case 3: no salt, no info.
  CHECK(tls::hex_encode(tls::hkdf_sha256(ikm, {}, {}, 42)) ==
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
  CHECK_THROWS_AS(tls::hkdf_sha256(ikm, salt, info, 0), meshctl::core::Error);
  CHECK_THROWS_AS(tls::hkdf_sha256(ikm, salt, info, 255 * 32 + 1), meshctl::core::Error);
  CHECK(openssl_queue_empty());
}

TEST_CASE("base64 follows RFC 4648 and rejects malformed text", "[tls]") {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    CHECK(tls::base64_encode(tls::as_bytes(plain)) == encoded);
    const tls::Bytes decoded = tls::base64_decode(encoded);
    CHECK(std::string(decoded.begin(), decoded.end()) == plain);
  }
  const tls::Bytes binary = {0xfb, 0xff, 0xfe};
  CHECK(tls::base64_encode(binary) == "+//+");
  CHECK(tls::base64url_encode(binary) == "-__-");
  CHECK(tls::base64url_encode(tls::as_bytes("f")) == "Zg");
  CHECK(tls::base64url_decode("-__-") == binary);
  CHECK(tls::base64url_decode("Zg") == tls::Bytes{'f'});
  CHECK(tls::base64url_decode("Zg==") == tls::Bytes{'f'});

  for (const char* bad : {"Zg", "Zg=", "Z===", "Zm9v\n", "Zm 9v", "Zh==", "-__-", "Zg==Zg=="}) {
    INFO(bad);
    CHECK_THROWS_AS(tls::base64_decode(bad), meshctl::core::Error);
  }
  try {
    tls::base64_decode("!!!!", "secret ca.crt");
    FAIL("no error");
  } catch (const meshctl::core::Error& e) {
    CHECK(std::string(e.what()) == "secret ca.crt: invalid base64");
  }
}

TEST_CASE("SHA-256 and hex", "[tls]") {
  CHECK(tls::sha256_hex(std::string_view("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(tls::sha256(tls::as_bytes("")).size() == 32);
  CHECK(tls::hex_encode(tls::Bytes{0x00, 0x0f, 0xa0, 0xff}) == "000fa0ff");
}

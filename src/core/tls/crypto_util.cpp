#include "core/tls/crypto_util.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <array>
#include <climits>

#include "core/error.h"
#include "core/tls/handles.h"
#include "core/tls/openssl_error.h"

namespace meshctl::core::tls {

Bytes random_bytes(std::size_t n) {
  Bytes out(n);
  // RAND_bytes takes an int; large requests are filled in chunks.
  std::size_t done = 0;
  while (done < n) {
    const int chunk = static_cast<int>(std::min<std::size_t>(n - done, INT_MAX));
    if (RAND_bytes(out.data() + done, chunk) != 1) throw_openssl_error("random bytes");
    done += static_cast<std::size_t>(chunk);
  }
  return out;
}

Bytes hkdf_sha256(ByteView key_material, ByteView salt, ByteView info, std::size_t length) {
  if (length == 0 || length > 255 * 32) {
    throw Error("HKDF-SHA256: output length " + std::to_string(length) + " is outside 1..8160");
  }
  EvpKdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) throw_openssl_error("HKDF-SHA256: fetching HKDF");
  EvpKdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) throw_openssl_error("HKDF-SHA256: creating context");

  // OSSL_PARAM wants non-const pointers; OpenSSL only reads these buffers.
  auto octets = [](const char* key, ByteView v) {
    return OSSL_PARAM_construct_octet_string(key, const_cast<std::uint8_t*>(v.data()), v.size());
  };
  char digest[] = "SHA256";
  std::array<OSSL_PARAM, 5> params{};
  std::size_t i = 0;
  params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[i++] = octets(OSSL_KDF_PARAM_KEY, key_material);
  if (!salt.empty()) params[i++] = octets(OSSL_KDF_PARAM_SALT, salt);
  if (!info.empty()) params[i++] = octets(OSSL_KDF_PARAM_INFO, info);
  params[i] = OSSL_PARAM_construct_end();

  Bytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params.data()) != 1) {
    throw_openssl_error("HKDF-SHA256: deriving");
  }
  return out;
}

namespace {

constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Written by hand rather than with EVP_EncodeBlock: OpenSSL's decoder accepts whitespace and
// trailing garbage in ways a strict token or Secret parser should not.
std::string encode(ByteView data, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  const std::size_t rest = data.size() - i;
  if (rest > 0) {
    std::uint32_t v = std::uint32_t{data[i]} << 16;
    if (rest == 2) v |= std::uint32_t{data[i + 1]} << 8;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (rest == 2) out += alphabet[(v >> 6) & 63];
    if (pad) out.append(rest == 1 ? 2 : 1, '=');
  }
  return out;
}

int value_of(char c, bool url) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == (url ? '-' : '+')) return 62;
  if (c == (url ? '_' : '/')) return 63;
  return -1;
}

Bytes decode(std::string_view text, bool url, bool padding_required, std::string_view source) {
  auto fail = [&]() -> Error { return Error(std::string(source) + ": invalid " + (url ? "base64url" : "base64")); };
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  if (padding > 0 && text.size() % 4 != 0) throw fail();
  if (padding_required && text.size() % 4 != 0) throw fail();
  const std::string_view body = text.substr(0, text.size() - padding);
  if (body.size() % 4 == 1) throw fail();

  Bytes out;
  out.reserve(body.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : body) {
    const int v = value_of(c, url);
    if (v < 0) throw fail();
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero, or two different texts would decode to the same bytes.
  if ((acc & ((1u << bits) - 1)) != 0) throw fail();
  return out;
}

}  // namespace

std::string base64_encode(ByteView data) { return encode(data, kStd, true); }

Bytes base64_decode(std::string_view text, std::string_view source) { return decode(text, false, true, source); }

std::string base64url_encode(ByteView data) { return encode(data, kUrl, false); }

Bytes base64url_decode(std::string_view text, std::string_view source) { return decode(text, true, false, source); }

Bytes sha256(ByteView data) {
  Bytes out(32);
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 || len != 32) {
    throw_openssl_error("SHA-256");
  }
  return out;
}

std::string sha256_hex(ByteView data) { return hex_encode(sha256(data)); }

std::string hex_encode(ByteView data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (std::uint8_t b : data) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

}  // namespace meshctl::core::tls

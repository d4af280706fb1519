#include "core/identity/jwt.h"

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>

#include <memory>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/tls/crypto_util.h"

namespace meshctl::core::identity {
namespace {

using Json = nlohmann::json;
constexpr size_t kMaxTokenSize = 16 * 1024;  // real service-account tokens are about 1 KiB

struct SigDeleter {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct BnDeleter {
  void operator()(BIGNUM* b) const { BN_free(b); }
};

// JWS carries ECDSA signatures as the fixed-width big-endian r||s, OpenSSL as DER.
tls::Bytes der_to_raw(const tls::Bytes& der) {
  const unsigned char* p = der.data();
  std::unique_ptr<ECDSA_SIG, SigDeleter> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) throw Error("ES256: cannot decode the signature");
  tls::Bytes raw(64, 0);
  const BIGNUM* r = ECDSA_SIG_get0_r(sig.get());
  const BIGNUM* s = ECDSA_SIG_get0_s(sig.get());
  if (BN_bn2binpad(r, raw.data(), 32) != 32 || BN_bn2binpad(s, raw.data() + 32, 32) != 32) {
    throw Error("ES256: signature component too large");
  }
  return raw;
}

bool raw_to_der(const tls::Bytes& raw, tls::Bytes& der) {
  if (raw.size() != 64) return false;
  std::unique_ptr<BIGNUM, BnDeleter> r(BN_bin2bn(raw.data(), 32, nullptr));
  std::unique_ptr<BIGNUM, BnDeleter> s(BN_bin2bn(raw.data() + 32, 32, nullptr));
  std::unique_ptr<ECDSA_SIG, SigDeleter> sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return false;
  r.release();  // owned by sig now
  s.release();
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return false;
  der.resize(static_cast<size_t>(len));
  unsigned char* p = der.data();
  return i2d_ECDSA_SIG(sig.get(), &p) == len;
}

Json claims_to_json(const TokenClaims& c) {
  Json j = Json::object();
  if (!c.issuer.empty()) j["iss"] = c.issuer;
  j["sub"] = c.subject;
  j["aud"] = c.audience;
  j["iat"] = c.issued_at;
  if (c.not_before != 0) j["nbf"] = c.not_before;
  j["exp"] = c.expires_at;
  return j;
}

std::string decode_part(std::string_view part) {
  const tls::Bytes b = tls::base64url_decode(part, "token");
  return std::string(b.begin(), b.end());
}

}  // namespace

std::string_view to_string(JwtError e) {
  switch (e) {
    case JwtError::none: return "ok";
    case JwtError::malformed: return "malformed token";
    case JwtError::unsupported_alg: return "unsupported signing algorithm";
    case JwtError::bad_signature: return "bad signature";
    case JwtError::expired: return "token expired";
    case JwtError::not_yet_valid: return "token not yet valid";
    case JwtError::wrong_audience: return "wrong audience";
    case JwtError::wrong_issuer: return "wrong issuer";
  }
  return "unknown";
}

std::string sign_jwt_es256(const TokenClaims& claims, const tls::PrivateKey& key) {
  if (key.algorithm() != tls::KeyAlgorithm::ecdsa_p256) {
    throw Error("ES256 tokens need an ECDSA P-256 key, not " + key.type_name());
  }
  const std::string header = R"({"alg":"ES256","typ":"JWT"})";
  const std::string body = claims_to_json(claims).dump();
  std::string signing_input = tls::base64url_encode(tls::as_bytes(header)) + "." +
                              tls::base64url_encode(tls::as_bytes(body));
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.native()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    throw Error("ES256: cannot sign the token");
  }
  tls::Bytes der(len);
  if (EVP_DigestSign(ctx.get(), der.data(), &len, reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    throw Error("ES256: cannot sign the token");
  }
  der.resize(len);
  return signing_input + "." + tls::base64url_encode(der_to_raw(der));
}

JwtResult verify_jwt_es256(std::string_view token, const tls::PublicKey& key, const JwtCheck& check) {
  JwtResult result;
  auto fail = [&](JwtError e, std::string detail) {
    result.error = e;
    result.detail = std::move(detail);
    return result;
  };
  if (token.size() > kMaxTokenSize) return fail(JwtError::malformed, "token larger than 16 KiB");
  const size_t d1 = token.find('.');
  const size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
    return fail(JwtError::malformed, "a token has three dot-separated parts");
  }
  Json header, body;
  tls::Bytes signature;
  try {
    header = Json::parse(decode_part(token.substr(0, d1)));
    body = Json::parse(decode_part(token.substr(d1 + 1, d2 - d1 - 1)));
    signature = tls::base64url_decode(token.substr(d2 + 1), "token signature");
  } catch (const std::exception&) {
    return fail(JwtError::malformed, "token parts are not base64url JSON");
  }
  if (!header.is_object() || !body.is_object()) return fail(JwtError::malformed, "token parts are not JSON objects");
  if (!header.contains("alg") || header["alg"] != "ES256") {
    return fail(JwtError::unsupported_alg, "alg must be ES256");
  }
  tls::Bytes der;
  if (!raw_to_der(signature, der)) return fail(JwtError::bad_signature, "signature is not 64 bytes");
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  const std::string_view input = token.substr(0, d2);
  const bool valid = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.native()) == 1 &&
                     EVP_DigestVerify(ctx.get(), der.data(), der.size(),
                                      reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  ERR_clear_error();
  if (!valid) return fail(JwtError::bad_signature, "signature does not verify with the configured key");

  try {
    auto& c = result.claims;
    c.issuer = body.value("iss", "");
    c.subject = body.value("sub", "");
    if (body.contains("aud")) {
      if (body["aud"].is_string()) {
        c.audience.push_back(body["aud"]);
      } else {
        c.audience = body["aud"].get<std::vector<std::string>>();
      }
    }
    c.issued_at = body.value("iat", std::int64_t{0});
    c.not_before = body.value("nbf", std::int64_t{0});
    if (!body.contains("exp")) return fail(JwtError::malformed, "token has no exp claim");
    c.expires_at = body["exp"].get<std::int64_t>();
  } catch (const std::exception&) {
    return fail(JwtError::malformed, "token claims have the wrong types");
  }
  const auto& c = result.claims;
  if (check.now >= c.expires_at + check.leeway_seconds) return fail(JwtError::expired, "token expired");
  if ((c.not_before != 0 && check.now + check.leeway_seconds < c.not_before) ||
      (c.issued_at != 0 && check.now + check.leeway_seconds < c.issued_at)) {
    return fail(JwtError::not_yet_valid, "token is not valid yet");
  }
  if (!check.issuer.empty() && c.issuer != check.issuer) {
    return fail(JwtError::wrong_issuer, "token issuer \"" + c.issuer + "\" is not \"" + check.issuer + "\"");
  }
  if (!check.audience.empty() &&
      std::find(c.audience.begin(), c.audience.end(), check.audience) == c.audience.end()) {
    return fail(JwtError::wrong_audience, "token is not for audience \"" + check.audience + "\"");
  }
  result.error = JwtError::none;
  return result;
}

}  // namespace meshctl::core::identity

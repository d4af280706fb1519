#pragma once
// ES256 JSON Web Tokens in the shape of Kubernetes service-account tokens. With no cluster,
// meshctl signs such tokens itself and the identity service verifies them, so a proxy's token
// flow is the same in both places.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/tls/key.h"

namespace meshctl::core::identity {

struct TokenClaims {
  std::string issuer;                 // iss
  std::string subject;                // sub: "system:serviceaccount:<ns>:<sa>"
  std::vector<std::string> audience;  // aud (a string or a list in the token)
  std::int64_t issued_at = 0;         // iat, seconds since the epoch
  std::int64_t not_before = 0;        // nbf; 0 when absent
  std::int64_t expires_at = 0;        // exp
};

// A compact JWS: base64url(header).base64url(claims).base64url(r||s), header {"alg":"ES256"}.
// `key` must be an ECDSA P-256 key.
std::string sign_jwt_es256(const TokenClaims& claims, const tls::PrivateKey& key);

enum class JwtError {
  none,
  malformed,           // not three base64url parts of JSON, or claims of the wrong type
  unsupported_alg,     // anything but ES256, "none" included
  bad_signature,
  expired,             // now >= exp (after the leeway)
  not_yet_valid,       // now < nbf or iat (before the leeway)
  wrong_audience,
  wrong_issuer,
};

std::string_view to_string(JwtError e);

struct JwtCheck {
  std::int64_t now = 0;               // seconds since the epoch
  std::int64_t leeway_seconds = 0;    // clock skew allowed on exp/nbf/iat
  std::string audience;               // must be one of aud; empty skips the check
  std::string issuer;                 // must equal iss; empty skips the check
};

struct JwtResult {
  JwtError error = JwtError::malformed;
  std::string detail;  // one line for logs; never contains the token
  TokenClaims claims;  // filled when the token parsed
  bool ok() const { return error == JwtError::none; }
};

// Verifies signature, algorithm and claims. Never throws on bad input.
JwtResult verify_jwt_es256(std::string_view token, const tls::PublicKey& key, const JwtCheck& check);

}  // namespace meshctl::core::identity

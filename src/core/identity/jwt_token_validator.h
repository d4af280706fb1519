#pragma once
// Validates ES256 service-account-shaped tokens with a public key given by the operator.

#include <functional>
#include <string>

#include "core/identity/token_validator.h"
#include "core/tls/key.h"

namespace meshctl::core::identity {

struct JwtValidatorOptions {
  std::string audience;         // required audience, e.g. "identity.meshctl.io"
  std::string issuer;           // required iss; empty accepts any
  std::int64_t leeway_seconds = 20;
};

class JwtTokenValidator final : public TokenValidator {
 public:
  // `now` returns seconds since the epoch; tests move it.
  JwtTokenValidator(tls::PublicKey key, JwtValidatorOptions options, std::function<std::int64_t()> now = {});
  TokenVerdict validate(std::string_view token) override;

 private:
  tls::PublicKey key_;
  JwtValidatorOptions options_;
  std::function<std::int64_t()> now_;
};

}  // namespace meshctl::core::identity

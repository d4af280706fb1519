#pragma once
// The identity service asks a TokenValidator who presented a token. Two implementations: a
// Kubernetes TokenReview against the API server, and ES256 tokens meshctl signs itself for a
// mesh without a cluster.

#include <memory>
#include <string>
#include <string_view>

#include "core/identity/identity_name.h"

namespace meshctl::core::identity {

struct TokenVerdict {
  bool valid = false;
  ServiceAccountRef service_account;  // set when valid
  // Why the token was refused, one line for the response and the log; never contains the token.
  std::string reason;
  // A short stable word for metrics: "expired", "bad_signature", "wrong_audience", ...
  std::string reason_code;
};

class TokenValidator {
 public:
  virtual ~TokenValidator() = default;
  // Must be safe to call from several threads at once. Never throws for a bad token.
  virtual TokenVerdict validate(std::string_view token) = 0;
};

}  // namespace meshctl::core::identity

#include "core/identity/jwt_token_validator.h"

#include <chrono>

#include "core/identity/jwt.h"

namespace meshctl::core::identity {

JwtTokenValidator::JwtTokenValidator(tls::PublicKey key, JwtValidatorOptions options,
                                     std::function<std::int64_t()> now)
    : key_(std::move(key)), options_(std::move(options)), now_(std::move(now)) {
  if (!now_) {
    now_ = [] {
      return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
}

TokenVerdict JwtTokenValidator::validate(std::string_view token) {
  TokenVerdict verdict;
  const JwtResult r = verify_jwt_es256(token, key_, {now_(), options_.leeway_seconds, options_.audience, options_.issuer});
  if (!r.ok()) {
    verdict.reason = r.detail;
    std::string code(to_string(r.error));
    for (auto& c : code) c = c == ' ' ? '_' : c;
    verdict.reason_code = code;
    return verdict;
  }
  auto sa = parse_service_account_username(r.claims.subject);
  if (!sa) {
    verdict.reason = "token subject \"" + r.claims.subject + "\" is not system:serviceaccount:<namespace>:<name>";
    verdict.reason_code = "not_a_service_account";
    return verdict;
  }
  verdict.valid = true;
  verdict.service_account = *sa;
  return verdict;
}

}  // namespace meshctl::core::identity

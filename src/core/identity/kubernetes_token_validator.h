#pragma once
// Validates a proxy's projected service-account token with a TokenReview
// (authentication.k8s.io/v1) against the API server, asking for the identity audience.

#include <string>

#include "core/identity/token_validator.h"
#include "core/kube/api_endpoint.h"

namespace meshctl::core::identity {

class KubernetesTokenValidator final : public TokenValidator {
 public:
  KubernetesTokenValidator(kube::ApiEndpoint endpoint, std::string audience);
  TokenVerdict validate(std::string_view token) override;

 private:
  kube::ApiEndpoint endpoint_;
  std::string audience_;
};

}  // namespace meshctl::core::identity

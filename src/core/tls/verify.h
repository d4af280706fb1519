#pragma once
// Chain verification at a caller-given time: install checks its issuer against the trust
// anchors, the proxy checks its new certificate and its peers' against the anchors.

#include <optional>
#include <span>
#include <string>

#include "core/tls/certificate.h"
#include "core/tls/validity.h"

namespace meshctl::core::tls {

enum class VerifyStatus {
  ok,
  expired,            // some certificate of the chain is past its notAfter
  not_yet_valid,      // some certificate of the chain is before its notBefore
  unknown_issuer,     // no path to a trust anchor (wrong anchors, missing intermediate)
  bad_signature,      // a signature in the chain does not verify
  invalid_ca,         // an issuer is not a CA, may not sign certificates, or path length exceeded
  name_mismatch,      // the chain is valid but the leaf lacks the expected DNS name
  other,              // anything else OpenSSL rejects; see reason
};

struct VerifyResult {
  VerifyStatus status = VerifyStatus::other;
  // Empty when ok; otherwise one line for humans, naming the certificate at fault:
  // `certificate "CN=web..." expired at 2024-05-02T00:00:00Z (checked at 2024-05-03T00:00:00Z)`.
  std::string reason;
  // Position in the chain of the certificate at fault (0 = the leaf); -1 when not applicable.
  int depth = -1;

  bool ok() const { return status == VerifyStatus::ok; }
  explicit operator bool() const { return ok(); }
};

struct VerifyOptions {
  Time at;  // the time to check validity periods at; callers pass their clock's now
  // When set, the leaf must carry this DNS SAN (exact, case-insensitive; wildcards are not
  // honoured and the subject CN is never consulted).
  std::optional<std::string> dns_name;
  // Accept a chain that ends in a trust anchor that is not self-signed (an intermediate).
  bool allow_partial_chain = false;
};

// Verifies `leaf` through any of `intermediates` up to one of `trust_anchors`. Never throws for
// an invalid chain (that is a result); throws core::Error only when OpenSSL cannot set up the
// check (out of memory). `leaf` may itself be a CA, which is how install checks its issuer.
VerifyResult verify_certificate(const Certificate& leaf, std::span<const Certificate> intermediates,
                                std::span<const Certificate> trust_anchors,
                                const VerifyOptions& options);

// As verify_certificate, but throws core::Error "<what>: <reason>" unless the chain is valid.
void require_valid_certificate(std::string_view what, const Certificate& leaf,
                               std::span<const Certificate> intermediates,
                               std::span<const Certificate> trust_anchors,
                               const VerifyOptions& options);

// A short name for a status: "ok", "expired", "not yet valid", "unknown issuer", ...
std::string_view to_string(VerifyStatus status);

}  // namespace meshctl::core::tls

#pragma once
// The identity service's decision: given {identity, token, csr}, either a signed workload
// certificate or a refusal naming the check that failed. Checks run in a fixed order: the issuer
// is loaded and valid; the CSR parses, its signature holds and it asks for exactly the requested
// identity as its one DNS SAN; the token is valid; the token's service account gives exactly
// the requested identity. Independent of HTTP so it can be tested and reused directly.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "controlplane/identity/issuer_store.h"
#include "core/identity/token_validator.h"
#include "core/metrics/registry.h"
#include "core/tls/validity.h"

namespace meshctl::controlplane::identity {

struct CertifierOptions {
  std::string mesh_namespace = "meshctl";
  std::string trust_domain = "cluster.local";
  std::chrono::seconds lifetime{24 * 3600};
  std::chrono::seconds clock_skew{20};  // certificates start this much in the past
};

struct CertifyOutcome {
  int status = 500;  // HTTP status
  std::string body;  // JSON
  // For the log: the refused check ("issuer", "request", "csr", "token", "identity") or "".
  std::string failed_check;
  std::string detail;
};

class Certifier {
 public:
  Certifier(CertifierOptions options, const IssuerStore& issuers, core::identity::TokenValidator& tokens,
            core::metrics::Registry& metrics, IssuerStore::Clock clock);

  // `request_body` is the JSON body of POST /v1/certify.
  CertifyOutcome certify(std::string_view request_body);

  // Signs a certificate for `identity` without a token: the service's own serving certificate.
  struct Issued {
    std::string leaf_pem;
    std::string chain_pem;
    core::tls::Time valid_until;
  };
  Issued issue_for_self(const core::tls::PrivateKey& key, const std::string& identity);

 private:
  CertifyOutcome refuse(int status, std::string check, std::string reason_code, std::string detail);

  CertifierOptions options_;
  const IssuerStore& issuers_;
  core::identity::TokenValidator& tokens_;
  core::metrics::Registry& metrics_;
  IssuerStore::Clock clock_;
};

}  // namespace meshctl::controlplane::identity

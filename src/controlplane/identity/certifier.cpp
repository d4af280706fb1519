#include "controlplane/identity/certifier.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/identity/identity_name.h"
#include "core/tls/csr.h"
#include "core/tls/issue.h"
#include "core/tls/pem.h"

namespace meshctl::controlplane::identity {
namespace tls = core::tls;
using Json = nlohmann::json;

Certifier::Certifier(CertifierOptions options, const IssuerStore& issuers, core::identity::TokenValidator& tokens,
                     core::metrics::Registry& metrics, IssuerStore::Clock clock)
    : options_(std::move(options)), issuers_(issuers), tokens_(tokens), metrics_(metrics), clock_(std::move(clock)) {}

CertifyOutcome Certifier::refuse(int status, std::string check, std::string reason_code, std::string detail) {
  metrics_.counter("identity_certify_refused_total", "Certify requests refused, by the check that failed",
                   {{"check", check}, {"reason", reason_code}})
      .inc();
  CertifyOutcome out;
  out.status = status;
  out.failed_check = check;
  out.detail = detail;
  out.body = Json{{"error", detail}, {"check", check}, {"reason", reason_code}}.dump();
  return out;
}

CertifyOutcome Certifier::certify(std::string_view request_body) {
  const tls::Time now = clock_();

  // 1. The issuer is loaded and valid.
  const auto issuer = issuers_.current();
  if (!issuer) return refuse(503, "issuer", "not_loaded", "no issuer is loaded");
  if (now >= issuer->chain[0].not_after()) {
    return refuse(503, "issuer", "expired",
                  "the issuer expired at " + tls::format_rfc3339(issuer->chain[0].not_after()));
  }
  if (now < issuer->chain[0].not_before()) {
    return refuse(503, "issuer", "not_yet_valid",
                  "the issuer is not valid before " + tls::format_rfc3339(issuer->chain[0].not_before()));
  }

  // The request itself.
  Json req = Json::parse(request_body, nullptr, false);
  if (!req.is_object()) return refuse(400, "request", "malformed", "the body is not a JSON object");
  for (const char* field : {"identity", "token", "csr"}) {
    if (!req.contains(field) || !req[field].is_string() || req[field].get_ref<const std::string&>().empty()) {
      return refuse(400, "request", "missing_field", std::string("field \"") + field + "\" must be a non-empty string");
    }
  }
  const std::string identity = req["identity"];
  const auto requested_sa = core::identity::parse_identity_name(identity, options_.mesh_namespace, options_.trust_domain);
  if (!requested_sa) {
    return refuse(400, "request", "bad_identity",
                  "identity \"" + identity + "\" is not <serviceaccount>.<namespace>.serviceaccount.identity." +
                      options_.mesh_namespace + "." + options_.trust_domain);
  }

  // 2. The CSR parses, is signed by its key, and asks for exactly the requested identity.
  std::optional<tls::CertificateRequest> csr;
  try {
    csr = tls::csr_from_pem(req["csr"].get_ref<const std::string&>(), "csr");
  } catch (const core::Error& e) {
    return refuse(422, "csr", "malformed", std::string("the CSR does not parse: ") + e.what());
  }
  if (!csr->verify_signature()) return refuse(422, "csr", "bad_signature", "the CSR's signature does not verify");
  tls::SubjectAltNames sans;
  try {
    sans = csr->subject_alt_names();
  } catch (const core::Error& e) {
    return refuse(422, "csr", "malformed", e.what());
  }
  if (sans.dns.size() != 1 || sans.size() != 1) {
    return refuse(422, "csr", "bad_sans",
                  "the CSR must carry exactly one DNS SAN and nothing else, it has: " +
                      (sans.empty() ? std::string("none") : sans.to_string()));
  }
  if (sans.dns[0] != identity) {
    return refuse(422, "csr", "identity_mismatch",
                  "the CSR asks for \"" + sans.dns[0] + "\", not the requested \"" + identity + "\"");
  }
  const std::string cn = csr->common_name();
  if (!cn.empty() && cn != identity) {
    return refuse(422, "csr", "identity_mismatch", "the CSR's common name \"" + cn + "\" is not the requested identity");
  }
  std::optional<tls::PublicKey> key;
  try {
    key = csr->public_key();
  } catch (const core::Error& e) {
    return refuse(422, "csr", "bad_key", e.what());
  }
  if (key->algorithm() != tls::KeyAlgorithm::ecdsa_p256) {
    return refuse(422, "csr", "bad_key", "workload keys must be ECDSA P-256, not " + key->type_name());
  }

  // 3. The token is valid.
  const auto verdict = tokens_.validate(req["token"].get_ref<const std::string&>());
  if (!verdict.valid) return refuse(401, "token", verdict.reason_code, verdict.reason);

  // 4. The token's service account gives exactly the requested identity.
  if (!(verdict.service_account == *requested_sa)) {
    const std::string proven = core::identity::identity_name(verdict.service_account, options_.mesh_namespace,
                                                             options_.trust_domain);
    return refuse(403, "identity", "mismatch",
                  "the token belongs to \"" + proven + "\", not the requested \"" + identity + "\"");
  }

  tls::LeafOptions leaf_options;
  leaf_options.dns_name = identity;
  leaf_options.spiffe_id = core::identity::spiffe_id(*requested_sa, options_.trust_domain);
  leaf_options.validity.not_before = now - options_.clock_skew;
  leaf_options.validity.not_after = now + options_.lifetime;
  // A workload certificate never outlives the issuer that signed it.
  if (leaf_options.validity.not_after > issuer->chain[0].not_after()) {
    leaf_options.validity.not_after = issuer->chain[0].not_after();
  }
  leaf_options.serial = tls::SerialNumber::random();
  const auto leaf = tls::issue_leaf(*key, leaf_options, issuer->chain[0], issuer->key);

  metrics_.counter("identity_certificates_issued_total", "Workload certificates issued").inc();
  CertifyOutcome out;
  out.status = 200;
  out.body = Json{{"leaf", tls::certificate_to_pem(leaf)},
                  {"chain", issuer->chain_pem},
                  {"validUntil", tls::format_rfc3339(leaf.not_after())}}
                 .dump();
  out.detail = "issued " + identity + " until " + tls::format_rfc3339(leaf.not_after());
  return out;
}

Certifier::Issued Certifier::issue_for_self(const tls::PrivateKey& key, const std::string& identity) {
  const auto issuer = issuers_.current();
  if (!issuer) throw core::Error("no issuer is loaded");
  const tls::Time now = clock_();
  tls::LeafOptions o;
  o.dns_name = identity;
  if (auto sa = core::identity::parse_identity_name(identity, options_.mesh_namespace, options_.trust_domain)) {
    o.spiffe_id = core::identity::spiffe_id(*sa, options_.trust_domain);
  }
  o.validity = {now - options_.clock_skew, std::min(now + options_.lifetime, issuer->chain[0].not_after())};
  o.serial = tls::SerialNumber::random();
  const auto leaf = tls::issue_leaf(key.public_key(), o, issuer->chain[0], issuer->key);
  return {tls::certificate_to_pem(leaf), issuer->chain_pem, leaf.not_after()};
}

}  // namespace meshctl::controlplane::identity

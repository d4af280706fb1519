#include "core/render/identity_material.h"

#include "core/error.h"
#include "core/tls/certificate.h"
#include "core/tls/crypto_util.h"
#include "core/tls/issue.h"
#include "core/tls/key.h"
#include "core/tls/pem.h"
#include "core/tls/verify.h"

namespace meshctl::core::render {
namespace {

// A CN must fit in 64 characters; long trust domains fall back to a shorter, still unique-ish
// name (the CN is for humans; nothing matches on it).
std::string ca_common_name(const std::string& prefix, const std::string& ns, const std::string& trust_domain) {
  std::string cn = prefix + "." + ns + "." + trust_domain;
  if (cn.size() > 64) cn = prefix + "." + ns + ".meshctl";
  if (cn.size() > 64) cn = prefix + ".meshctl";
  return cn;
}

std::string describe(const tls::Certificate& cert) {
  const std::string subject = cert.subject();
  return subject.empty() ? "certificate with serial " + cert.serial().hex() : "\"" + subject + "\"";
}

tls::CertificateBundle check_anchors(const PemInput& in, tls::Time now) {
  tls::CertificateBundle anchors = tls::bundle_from_pem(in.pem, in.source);
  for (size_t i = 0; i < anchors.size(); ++i) {
    const auto& anchor = anchors[i];
    const std::string which = anchors.size() > 1 ? " (certificate " + std::to_string(i + 1) + ")" : "";
    if (!anchor.is_ca()) {
      throw Error(in.source + ": trust anchor " + describe(anchor) + which + " is not a CA certificate",
                  "trust anchors must have basicConstraints CA:TRUE");
    }
    if (now > anchor.not_after()) {
      throw Error(in.source + ": trust anchor " + describe(anchor) + which + " expired at " +
                  tls::format_rfc3339(anchor.not_after()));
    }
    if (now < anchor.not_before()) {
      throw Error(in.source + ": trust anchor " + describe(anchor) + which + " is not valid before " +
                  tls::format_rfc3339(anchor.not_before()));
    }
  }
  return anchors;
}

struct UserIssuer {
  tls::Certificate certificate;
  tls::PrivateKey key;
};

UserIssuer check_issuer(const PemInput& crt_in, const PemInput& key_in, const PemInput& anchors_in,
                        const tls::CertificateBundle& anchors, tls::Time now) {
  // The file may carry intermediates after the issuer, as cert-manager's tls.crt can.
  tls::CertificateBundle chain = tls::bundle_from_pem(crt_in.pem, crt_in.source);
  const tls::Certificate& issuer = chain.front();
  if (!issuer.is_ca()) {
    throw Error(crt_in.source + ": issuer " + describe(issuer) + " is not a CA certificate",
                "the issuer signs workload certificates, so it needs basicConstraints CA:TRUE");
  }
  tls::VerifyOptions options;
  options.at = now;
  const std::span<const tls::Certificate> intermediates(chain.data() + 1, chain.size() - 1);
  const tls::VerifyResult result = tls::verify_certificate(issuer, intermediates, anchors, options);
  if (!result.ok()) {
    if (result.status == tls::VerifyStatus::expired || result.status == tls::VerifyStatus::not_yet_valid) {
      throw Error(crt_in.source + ": " + result.reason);
    }
    throw Error(crt_in.source + ": issuer " + describe(issuer) + " does not chain to the trust anchors in " +
                    anchors_in.source + ": " + result.reason,
                "the issuer must be signed by one of the trust anchors");
  }
  tls::PrivateKey key = tls::private_key_from_pem(key_in.pem, key_in.source);
  if (key.algorithm() != tls::KeyAlgorithm::ecdsa_p256) {
    throw Error(key_in.source + ": the issuer key is " + key.type_name() + "; the mesh's issuer must be ECDSA P-256");
  }
  if (!tls::key_matches_certificate(key, issuer)) {
    throw Error(key_in.source + ": the key does not match the issuer certificate in " + crt_in.source);
  }
  return {issuer, key};
}

struct Webhook {
  std::string certificate_pem;
  std::string key_pem;
};

Webhook derived_webhook(const tls::PrivateKey& issuer_key, const tls::Certificate& issuer,
                        const std::string& mesh_namespace) {
  // PKCS#8 DER is one canonical encoding of the key, whatever form the user's file had.
  const tls::Bytes ikm = tls::private_key_to_der(issuer_key);
  const tls::Bytes okm = tls::hkdf_sha256(ikm, {}, tls::as_bytes("meshctl webhook"), 32 + 16);
  const tls::PrivateKey key = tls::ed25519_from_seed(tls::ByteView(okm.data(), 32));
  tls::SerialNumber serial{tls::Bytes(okm.begin() + 32, okm.end())};
  serial.big_endian[0] &= 0x7f;  // positive
  serial.big_endian[0] |= 0x01;  // and never zero
  tls::ServerCertOptions options;
  options.dns_names = {webhook_dns_name(mesh_namespace)};
  options.validity = {issuer.not_before(), issuer.not_after()};
  options.serial = serial;
  const tls::Certificate cert = tls::make_self_signed_server(key, options);
  return {tls::certificate_to_pem(cert), tls::private_key_to_pem(key)};
}

Webhook random_webhook(const std::string& mesh_namespace, tls::Time now) {
  const tls::PrivateKey key = tls::generate_ecdsa_p256();
  tls::ServerCertOptions options;
  options.dns_names = {webhook_dns_name(mesh_namespace)};
  options.validity = {now - std::chrono::minutes(5), now + kGeneratedCaLifetime};
  options.serial = tls::SerialNumber::random();
  const tls::Certificate cert = tls::make_self_signed_server(key, options);
  return {tls::certificate_to_pem(cert), tls::private_key_to_pem(key)};
}

}  // namespace

std::string webhook_dns_name(const std::string& mesh_namespace) {
  return "meshctl-proxy-injector." + mesh_namespace + ".svc";
}

IdentityMaterial prepare_identity(const IdentityRequest& req) {
  IdentityMaterial out;
  out.external_issuer = req.external_issuer;
  const bool has_crt = req.issuer_certificate.has_value(), has_key = req.issuer_key.has_value();

  if (req.external_issuer) {
    if (!req.trust_anchors) {
      throw Error("an external issuer needs the trust anchors that signed it",
                  "pass --identity-trust-anchors-file with the CA bundle cert-manager's issuer chains to");
    }
    if (has_crt || has_key) {
      throw Error("an external issuer's certificate and key live in the Secret cert-manager writes; do not "
                  "give them to install (" + (has_crt ? req.issuer_certificate->source : req.issuer_key->source) + ")");
    }
    check_anchors(*req.trust_anchors, req.now);
    out.trust_anchors_pem = req.trust_anchors->pem;
    const Webhook webhook = random_webhook(req.mesh_namespace, req.now);
    out.webhook_certificate_pem = webhook.certificate_pem;
    out.webhook_key_pem = webhook.key_pem;
    return out;
  }

  if (has_crt != has_key) {
    throw Error(has_crt ? req.issuer_certificate->source + " is given without the issuer's key"
                        : req.issuer_key->source + " is given without the issuer's certificate",
                "give both --identity-issuer-certificate-file and --identity-issuer-key-file");
  }
  if (has_crt && !req.trust_anchors) {
    throw Error("the issuer certificate " + req.issuer_certificate->source + " is given without its trust anchors",
                "pass --identity-trust-anchors-file with the CA that signed the issuer");
  }
  if (req.trust_anchors && !has_crt) {
    throw Error("the trust anchors " + req.trust_anchors->source + " are given without an issuer",
                "pass --identity-issuer-certificate-file and --identity-issuer-key-file, or "
                "--identity-external-issuer when cert-manager provides the issuer");
  }

  if (has_crt) {
    const tls::CertificateBundle anchors = check_anchors(*req.trust_anchors, req.now);
    const UserIssuer issuer = check_issuer(*req.issuer_certificate, *req.issuer_key, *req.trust_anchors, anchors, req.now);
    out.trust_anchors_pem = req.trust_anchors->pem;
    out.issuer_certificate_pem = req.issuer_certificate->pem;
    out.issuer_key_pem = req.issuer_key->pem;
    const Webhook webhook = derived_webhook(issuer.key, issuer.certificate, req.mesh_namespace);
    out.webhook_certificate_pem = webhook.certificate_pem;
    out.webhook_key_pem = webhook.key_pem;
    out.reproducible = true;
    return out;
  }

  // Nothing given: a new trust anchor and issuer.
  const tls::Validity validity{req.now - std::chrono::minutes(5), req.now + kGeneratedCaLifetime};
  const tls::PrivateKey root_key = tls::generate_ecdsa_p256();
  const tls::Certificate root = tls::make_root_ca(
      root_key, {ca_common_name("root", req.mesh_namespace, req.trust_domain), validity, tls::SerialNumber::random()});
  const tls::PrivateKey issuer_key = tls::generate_ecdsa_p256();
  const tls::Certificate issuer = tls::make_intermediate_ca(
      issuer_key.public_key(),
      {ca_common_name("identity", req.mesh_namespace, req.trust_domain), validity, tls::SerialNumber::random()}, root,
      root_key);
  out.trust_anchors_pem = tls::certificate_to_pem(root);
  out.issuer_certificate_pem = tls::certificate_to_pem(issuer);
  out.issuer_key_pem = tls::private_key_to_pem(issuer_key);
  const Webhook webhook = derived_webhook(issuer_key, issuer, req.mesh_namespace);
  out.webhook_certificate_pem = webhook.certificate_pem;
  out.webhook_key_pem = webhook.key_pem;
  return out;
}

}  // namespace meshctl::core::render

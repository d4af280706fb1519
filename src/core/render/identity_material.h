#pragma once
// The certificates install puts into the control plane: the trust anchors, the issuer the
// identity service signs with, and the webhook's serving certificate.
//
//   no PEM given          a fresh ECDSA P-256 trust anchor and an issuer it signs, both for
//                         365 days with random serials;
//   anchors + issuer      the user's, checked: the anchors are CA certificates, the issuer is a
//   certificate + key     CA that chains to them now, the key is ECDSA P-256 and matches it.
//                         Nothing random is added: the webhook key is Ed25519 derived with
//                         HKDF-SHA256 from the issuer key (info "meshctl webhook"), its serial
//                         from the same HKDF, its validity copied from the issuer, so the whole
//                         install is byte-for-byte reproducible;
//   external issuer       only the anchors, checked; cert-manager writes the issuer Secret. The
//                         webhook certificate is then generated at random (there is no key to
//                         derive it from).

#include <optional>
#include <string>

#include "core/tls/validity.h"

namespace meshctl::core::render {

// PEM text and where it came from, for errors ("ca.crt", "value identityTrustAnchorsPEM").
struct PemInput {
  std::string pem;
  std::string source;
};

struct IdentityRequest {
  std::string trust_domain;    // e.g. "cluster.local"
  std::string mesh_namespace;  // e.g. "meshctl"
  bool external_issuer = false;
  std::optional<PemInput> trust_anchors;
  std::optional<PemInput> issuer_certificate;
  std::optional<PemInput> issuer_key;
  tls::Time now;  // checks validity at this time; a fresh anchor starts here
};

struct IdentityMaterial {
  std::string trust_anchors_pem;
  std::string issuer_certificate_pem;  // empty with an external issuer
  std::string issuer_key_pem;          // empty with an external issuer
  std::string webhook_certificate_pem;
  std::string webhook_key_pem;
  bool external_issuer = false;
  bool reproducible = false;  // true when nothing in it was generated at random
};

// Lifetime of the trust anchor and issuer install generates.
inline constexpr std::chrono::hours kGeneratedCaLifetime{24 * 365};

// Builds or checks the material as described above. Throws core::Error naming the input
// (file or value) and what is wrong with it.
IdentityMaterial prepare_identity(const IdentityRequest& request);

// The webhook's DNS name in `mesh_namespace`.
std::string webhook_dns_name(const std::string& mesh_namespace);

}  // namespace meshctl::core::render

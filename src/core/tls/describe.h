#pragma once
// A certificate for humans: what `meshctl` prints for operator certificate tools and `check`.

#include <optional>
#include <string>

#include "core/tls/certificate.h"
#include "core/tls/subject_alt_names.h"
#include "core/tls/validity.h"

namespace meshctl::core::tls {

struct CertificateDescription {
  std::string subject;             // RFC 2253
  std::string issuer;              // RFC 2253
  std::string serial;              // lowercase hex
  Time not_before;
  Time not_after;
  SubjectAltNames subject_alt_names;
  bool is_ca = false;
  std::optional<long> path_length;  // CA only, when set
  bool self_signed = false;
  std::string key_type;             // "ECDSA P-256", "Ed25519", ...
  std::string sha256_fingerprint;   // lowercase hex of the DER's SHA-256
};

CertificateDescription describe(const Certificate& cert);

// One "Label: value" line per field, times in RFC 3339 UTC, SANs one per line:
//   Subject:      CN=root.meshctl.cluster.local
//   Issuer:       CN=root.meshctl.cluster.local
//   Serial:       01
//   Not Before:   2024-01-01T00:00:00Z
//   Not After:    2034-01-01T00:00:00Z
//   CA:           yes (self-signed)
//   Key Type:     Ed25519
//   SANs:         DNS:web.default.serviceaccount.identity.meshctl.cluster.local
//                 URI:spiffe://cluster.local/ns/default/sa/web
//   SHA-256:      3f1c...
// Ends in "\n".
std::string render(const CertificateDescription& description);

}  // namespace meshctl::core::tls

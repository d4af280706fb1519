#pragma once
// An X.509 certificate and what callers read from it. Parsing and encoding live in pem.h;
// building and signing in issue.h.

#include <optional>
#include <string>
#include <vector>

#include "core/tls/bytes.h"
#include "core/tls/handles.h"
#include "core/tls/key.h"
#include "core/tls/serial.h"
#include "core/tls/subject_alt_names.h"
#include "core/tls/validity.h"

namespace meshctl::core::tls {

// Copies share the underlying X509 (up-referenced); certificates are never mutated once built.
class Certificate {
 public:
  // Takes ownership; throws core::Error on a null pointer.
  explicit Certificate(X509Ptr cert);
  Certificate(const Certificate& other);
  Certificate& operator=(const Certificate& other);
  Certificate(Certificate&&) noexcept = default;
  Certificate& operator=(Certificate&&) noexcept = default;

  X509* native() const noexcept { return cert_.get(); }

  // Distinguished names in RFC 2253 order and escaping: "CN=root.meshctl.cluster.local".
  std::string subject() const;
  std::string issuer() const;
  // The subject's (first) commonName; empty when there is none.
  std::string common_name() const;

  SerialNumber serial() const;
  Time not_before() const;
  Time not_after() const;
  SubjectAltNames subject_alt_names() const;

  // basicConstraints CA:TRUE.
  bool is_ca() const;
  // basicConstraints pathLenConstraint, when the certificate is a CA and sets one.
  std::optional<long> path_length() const;
  // Issuer and subject names are equal and the certificate verifies with its own key.
  bool is_self_signed() const;

  PublicKey public_key() const;

  // SHA-256 of the DER encoding, 64 lowercase hex characters.
  std::string sha256_fingerprint() const;

  // Same DER encoding.
  friend bool operator==(const Certificate& a, const Certificate& b);

 private:
  X509Ptr cert_;
};

// One or more certificates in order, as a PEM bundle holds them (trust anchors, or a leaf
// followed by its intermediates).
using CertificateBundle = std::vector<Certificate>;

// True when `key` is the private key of `cert`.
bool key_matches_certificate(const PrivateKey& key, const Certificate& cert);

}  // namespace meshctl::core::tls

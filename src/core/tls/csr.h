#pragma once
// Certificate signing requests: the proxy creates one for its identity, the identity service
// parses, checks and signs it. Everything in a CSR is untrusted until the identity service has
// checked its signature and that it asks for exactly the identity the caller proved.

#include <string>
#include <string_view>

#include "core/tls/handles.h"
#include "core/tls/key.h"
#include "core/tls/subject_alt_names.h"

namespace meshctl::core::tls {

// Copies duplicate the X509_REQ (OpenSSL has no reference count for requests).
class CertificateRequest {
 public:
  // Takes ownership; throws core::Error on a null pointer.
  explicit CertificateRequest(X509ReqPtr req);
  CertificateRequest(const CertificateRequest& other);
  CertificateRequest& operator=(const CertificateRequest& other);
  CertificateRequest(CertificateRequest&&) noexcept = default;
  CertificateRequest& operator=(CertificateRequest&&) noexcept = default;

  X509_REQ* native() const noexcept { return req_.get(); }

  // Subject in RFC 2253 form; empty for an empty subject.
  std::string subject() const;
  // The subject's (first) commonName; empty when there is none.
  std::string common_name() const;
  // The SANs of the request's extensionRequest attribute. Throws core::Error if the
  // extension is present but malformed.
  SubjectAltNames subject_alt_names() const;
  // Throws core::Error when the request's public key cannot be decoded.
  PublicKey public_key() const;
  // True when the request is signed by the private half of its own public key. Never throws
  // for a bad signature; OpenSSL's error queue is left empty.
  bool verify_signature() const;

 private:
  X509ReqPtr req_;
};

enum class CsrSubject {
  common_name,  // CN = the identity (when it fits in 64 characters, else empty)
  empty,        // an empty subject; the identity is only in the SAN
};

// A CSR for `key` asking for exactly one DNS SAN, `dns_name`, signed with `key` (SHA-256 for
// ECDSA, no digest for Ed25519).
CertificateRequest create_csr(const PrivateKey& key, std::string_view dns_name,
                              CsrSubject subject = CsrSubject::common_name);

}  // namespace meshctl::core::tls

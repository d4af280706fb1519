#pragma once
// Building and signing certificates: the mesh's trust anchor (a self-signed root), the issuer
// (an intermediate the identity service signs with), workload leaves, and self-signed serving
// certificates for webhooks. Every input that ends up in the certificate, times and serial
// included, comes from the caller, so the same inputs and an Ed25519 key give the same bytes.
//
// Signatures: ECDSA and RSA keys sign with SHA-256; Ed25519 signs with no separate digest.

#include <optional>
#include <string>
#include <vector>

#include "core/tls/certificate.h"
#include "core/tls/key.h"
#include "core/tls/serial.h"
#include "core/tls/validity.h"

namespace meshctl::core::tls {

// A CA certificate's subject and lifetime.
struct CaOptions {
  std::string common_name;  // e.g. "root.meshctl.cluster.local"; required, at most 64 characters
  Validity validity;
  SerialNumber serial;
};

// Self-signed root CA: subject = issuer = CN, basicConstraints critical CA:TRUE (no path
// length limit), keyUsage critical keyCertSign+cRLSign, subjectKeyIdentifier.
Certificate make_root_ca(const PrivateKey& key, const CaOptions& options);

// Intermediate CA (the mesh's issuer) for `subject_key`, signed by `root` with `root_key`:
// basicConstraints critical CA:TRUE pathlen:0, keyUsage critical keyCertSign+cRLSign,
// subjectKeyIdentifier, authorityKeyIdentifier (the root's subjectKeyIdentifier, omitted when
// the root has none). Throws core::Error if `root` is not a CA or `root_key` is not its key.
Certificate make_intermediate_ca(const PublicKey& subject_key, const CaOptions& options,
                                 const Certificate& root, const PrivateKey& root_key);

// A workload certificate.
struct LeafOptions {
  // The workload identity, the one DNS SAN:
  // "web.default.serviceaccount.identity.meshctl.cluster.local". Required.
  std::string dns_name;
  // Optional SPIFFE ID as a URI SAN: "spiffe://cluster.local/ns/default/sa/web".
  std::optional<std::string> spiffe_id;
  // Subject CN. Empty means `dns_name` when it fits the 64-character limit of a CN, and an empty
  // subject otherwise (the SAN is then marked critical, as RFC 5280 requires).
  std::string common_name;
  Validity validity;
  SerialNumber serial;
};

// Leaf for `subject_key` signed by `issuer` with `issuer_key`: basicConstraints critical
// CA:FALSE, keyUsage critical digitalSignature, extendedKeyUsage serverAuth+clientAuth,
// subjectAltName, subjectKeyIdentifier, authorityKeyIdentifier (as for intermediates).
// Throws core::Error if `issuer` is not a CA, `issuer_key` is not its key, or a name is empty
// or malformed.
Certificate issue_leaf(const PublicKey& subject_key, const LeafOptions& options,
                       const Certificate& issuer, const PrivateKey& issuer_key);

// A self-signed serving certificate (webhooks), which is its own trust anchor.
struct ServerCertOptions {
  // DNS SANs, e.g. "meshctl-proxy-injector.meshctl.svc". At least one DNS name or IP address.
  std::vector<std::string> dns_names;
  // IP SANs as text ("127.0.0.1", "::1").
  std::vector<std::string> ip_addresses;
  // Subject CN. Empty means the first DNS name when it fits in 64 characters.
  std::string common_name;
  Validity validity;
  SerialNumber serial;
};

// Self-signed leaf: basicConstraints critical CA:FALSE, keyUsage critical digitalSignature
// (plus keyEncipherment for RSA keys), extendedKeyUsage serverAuth, subjectAltName,
// subjectKeyIdentifier. Works with ECDSA P-256 and Ed25519 keys.
Certificate make_self_signed_server(const PrivateKey& key, const ServerCertOptions& options);

}  // namespace meshctl::core::tls

#pragma once
// PEM and DER encodings of keys, certificates, bundles and CSRs. Every parser takes `source`,
// which names the input in errors ("ca.crt", "MESHCTL_PROXY_TRUST_ANCHORS", "CSR from web"):
// `ca.crt: not a PEM certificate`.
//
// PEM parsing is strict about block types (a private key inside a certificate bundle is an
// error, not silently skipped) and tolerant of text between blocks, as OpenSSL's tools write it.

#include <span>
#include <string>
#include <string_view>

#include "core/tls/bytes.h"
#include "core/tls/certificate.h"
#include "core/tls/csr.h"
#include "core/tls/key.h"

namespace meshctl::core::tls {

// Private keys. Written as unencrypted PKCS#8 ("-----BEGIN PRIVATE KEY-----"). Read from
// PKCS#8 or the traditional "EC PRIVATE KEY"/"RSA PRIVATE KEY" forms; encrypted keys are
// refused (nothing in the mesh has a passphrase to ask for).
std::string private_key_to_pem(const PrivateKey& key);
Bytes private_key_to_der(const PrivateKey& key);
PrivateKey private_key_from_pem(std::string_view pem, std::string_view source);
PrivateKey private_key_from_der(ByteView der, std::string_view source);

// Public keys as SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----").
std::string public_key_to_pem(const PublicKey& key);
Bytes public_key_to_der(const PublicKey& key);
PublicKey public_key_from_pem(std::string_view pem, std::string_view source);
PublicKey public_key_from_der(ByteView der, std::string_view source);

// Certificates. certificate_from_pem wants exactly one certificate; use bundle_from_pem for
// chains and trust bundles.
std::string certificate_to_pem(const Certificate& cert);
Bytes certificate_to_der(const Certificate& cert);
Certificate certificate_from_pem(std::string_view pem, std::string_view source);
Certificate certificate_from_der(ByteView der, std::string_view source);

// Bundles: the PEM of each certificate in order, concatenated. Parsing refuses an empty
// bundle, garbage and non-certificate blocks, naming `source` and the block's position.
std::string bundle_to_pem(std::span<const Certificate> certs);
CertificateBundle bundle_from_pem(std::string_view pem, std::string_view source);

// CSRs ("-----BEGIN CERTIFICATE REQUEST-----"; "NEW CERTIFICATE REQUEST" is read too).
std::string csr_to_pem(const CertificateRequest& csr);
Bytes csr_to_der(const CertificateRequest& csr);
CertificateRequest csr_from_pem(std::string_view pem, std::string_view source);
CertificateRequest csr_from_der(ByteView der, std::string_view source);

// SHA-256 (lowercase hex) of a PEM bundle's exact bytes, as the `meshctl.io/trust-root-sha256`
// pod annotation carries it: any change to the text, whitespace included, changes it.
std::string pem_sha256(std::string_view pem);

}  // namespace meshctl::core::tls

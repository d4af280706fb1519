#include "core/tls/certificate.h"

#include <openssl/x509v3.h>

#include "core/error.h"
#include "core/tls/crypto_util.h"
#include "core/tls/openssl_error.h"
#include "core/tls/x509_util.h"

namespace meshctl::core::tls {

namespace {

X509Ptr share(X509* cert) {
  if (cert != nullptr && X509_up_ref(cert) != 1) throw_openssl_error("copying a certificate");
  return X509Ptr(cert);
}

}  // namespace

Certificate::Certificate(X509Ptr cert) : cert_(std::move(cert)) {
  if (!cert_) throw Error("certificate: no certificate");
}

Certificate::Certificate(const Certificate& other) : cert_(share(other.cert_.get())) {}

Certificate& Certificate::operator=(const Certificate& other) {
  if (this != &other) cert_ = share(other.cert_.get());
  return *this;
}

std::string Certificate::subject() const { return detail::name_to_string(X509_get_subject_name(cert_.get())); }

std::string Certificate::issuer() const { return detail::name_to_string(X509_get_issuer_name(cert_.get())); }

std::string Certificate::common_name() const {
  return detail::common_name_of(X509_get_subject_name(cert_.get()));
}

SerialNumber Certificate::serial() const {
  BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert_.get()), nullptr));
  if (!bn) throw_openssl_error("reading the certificate serial number");
  SerialNumber s;
  s.big_endian.resize(static_cast<std::size_t>(BN_num_bytes(bn.get())));
  BN_bn2bin(bn.get(), s.big_endian.data());
  return s;
}

Time Certificate::not_before() const { return detail::asn1_time_to_time(X509_get0_notBefore(cert_.get())); }

Time Certificate::not_after() const { return detail::asn1_time_to_time(X509_get0_notAfter(cert_.get())); }

SubjectAltNames Certificate::subject_alt_names() const {
  int critical = -1;
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert_.get(), NID_subject_alt_name, &critical, nullptr)));
  if (!names) {
    if (critical == -1) return {};  // no such extension
    throw_openssl_error(critical == -2 ? "certificate has more than one subjectAltName extension"
                                       : "certificate has a malformed subjectAltName extension");
  }
  return detail::parse_general_names(names.get());
}

bool Certificate::is_ca() const { return (X509_get_extension_flags(cert_.get()) & EXFLAG_CA) != 0; }

std::optional<long> Certificate::path_length() const {
  if (!is_ca()) return std::nullopt;
  const long len = X509_get_pathlen(cert_.get());
  if (len < 0) return std::nullopt;
  return len;
}

bool Certificate::is_self_signed() const {
  const bool self = X509_self_signed(cert_.get(), 1) == 1;
  clear_openssl_errors();
  return self;
}

PublicKey Certificate::public_key() const {
  EvpPkeyPtr pkey(X509_get_pubkey(cert_.get()));
  if (!pkey) throw_openssl_error("reading the certificate's public key");
  return PublicKey(std::move(pkey));
}

std::string Certificate::sha256_fingerprint() const {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert_.get(), EVP_sha256(), md, &len) != 1) throw_openssl_error("certificate fingerprint");
  return hex_encode(ByteView(md, len));
}

bool operator==(const Certificate& a, const Certificate& b) { return X509_cmp(a.native(), b.native()) == 0; }

bool key_matches_certificate(const PrivateKey& key, const Certificate& cert) {
  EVP_PKEY* pub = X509_get0_pubkey(cert.native());
  const bool match = pub != nullptr && EVP_PKEY_eq(key.native(), pub) == 1;
  clear_openssl_errors();
  return match;
}

}  // namespace meshctl::core::tls

#include "core/tls/issue.h"

#include <openssl/x509v3.h>

#include <algorithm>

#include "core/error.h"
#include "core/tls/openssl_error.h"
#include "core/tls/x509_util.h"

namespace meshctl::core::tls {

namespace {

Asn1IntegerPtr encode_serial(const SerialNumber& serial) {
  auto first = std::find_if(serial.big_endian.begin(), serial.big_endian.end(), [](std::uint8_t b) { return b != 0; });
  const auto size = static_cast<std::size_t>(serial.big_endian.end() - first);
  if (size == 0) throw Error("certificate serial number must not be zero");
  // DER adds a zero byte in front of a magnitude whose top bit is set; RFC 5280 caps the
  // encoded value at 20 octets.
  if (size + ((*first & 0x80) != 0 ? 1 : 0) > 20) {
    throw Error("certificate serial number " + serial.hex() + " is longer than 20 octets");
  }
  BignumPtr bn(BN_bin2bn(&*first, static_cast<int>(size), nullptr));
  if (!bn) throw_openssl_error("encoding the serial number");
  Asn1IntegerPtr out(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!out) throw_openssl_error("encoding the serial number");
  return out;
}

// A v3 certificate with everything but extensions and signature.
X509Ptr new_certificate(const X509_NAME* subject, const X509_NAME* issuer, EVP_PKEY* subject_key,
                        const Validity& validity, const SerialNumber& serial) {
  if (to_unix_seconds(validity.not_after) <= to_unix_seconds(validity.not_before)) {
    throw Error("certificate validity: not after (" + format_rfc3339(validity.not_after) +
                ") must be later than not before (" + format_rfc3339(validity.not_before) + ")");
  }
  X509Ptr cert(X509_new());
  if (!cert) throw_openssl_error("allocating a certificate");
  const Asn1IntegerPtr number = encode_serial(serial);
  const Asn1TimePtr not_before = detail::time_to_asn1(validity.not_before);
  const Asn1TimePtr not_after = detail::time_to_asn1(validity.not_after);
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 || X509_set_serialNumber(cert.get(), number.get()) != 1 ||
      X509_set_subject_name(cert.get(), subject) != 1 || X509_set_issuer_name(cert.get(), issuer) != 1 ||
      X509_set1_notBefore(cert.get(), not_before.get()) != 1 ||
      X509_set1_notAfter(cert.get(), not_after.get()) != 1 || X509_set_pubkey(cert.get(), subject_key) != 1) {
    throw_openssl_error("building a certificate");
  }
  return cert;
}

// Adds an extension written in OpenSSL's configuration syntax. Only for fixed values:
// names from callers go through add_subject_alt_names, which cannot be injected into.
void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509V3_set_ctx_nodb(&ctx);
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    throw_openssl_error(std::string("adding extension ") + OBJ_nid2sn(nid) + " = " + value);
  }
}

// The issuer's subjectKeyIdentifier as authorityKeyIdentifier. An operator's CA made by a tool
// that omits the identifier can still sign; chains then build by name, as RFC 5280 allows.
void add_authority_key_id(X509* cert, X509* issuer) {
  if (X509_get0_subject_key_id(issuer) == nullptr) {
    clear_openssl_errors();
    return;
  }
  add_extension(cert, issuer, NID_authority_key_identifier, "keyid:always");
}

void add_subject_alt_names(X509* cert, GENERAL_NAMES* names, bool critical) {
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names, critical ? 1 : 0, X509V3_ADD_DEFAULT) != 1) {
    throw_openssl_error("adding subjectAltName");
  }
}

Certificate sign(X509Ptr cert, const PrivateKey& key) {
  if (X509_sign(cert.get(), key.native(), detail::signing_digest(key.native())) <= 0) {
    throw_openssl_error("signing the certificate with a " + key.type_name() + " key");
  }
  return Certificate(std::move(cert));
}

void check_issuer(const Certificate& issuer, const PrivateKey& issuer_key, std::string_view role) {
  if (!issuer.is_ca()) {
    throw Error(std::string(role) + " \"" + issuer.subject() + "\" is not a CA certificate");
  }
  if (!key_matches_certificate(issuer_key, issuer)) {
    throw Error(std::string(role) + " key does not match the " + std::string(role) + " certificate \"" +
                issuer.subject() + "\"");
  }
}

// The subject CN: the caller's, else `fallback` when it fits a CN, else none.
std::string pick_common_name(const std::string& explicit_cn, const std::string& fallback) {
  if (!explicit_cn.empty()) return explicit_cn;
  const auto chars = std::count_if(fallback.begin(), fallback.end(),
                                   [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; });
  return chars <= 64 ? fallback : std::string();
}

}  // namespace

Certificate make_root_ca(const PrivateKey& key, const CaOptions& options) {
  if (options.common_name.empty()) throw Error("root CA: a common name is required");
  const X509NamePtr name = detail::name_with_common_name(options.common_name);
  X509Ptr cert = new_certificate(name.get(), name.get(), key.native(), options.validity, options.serial);
  add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  return sign(std::move(cert), key);
}

Certificate make_intermediate_ca(const PublicKey& subject_key, const CaOptions& options, const Certificate& root,
                                 const PrivateKey& root_key) {
  if (options.common_name.empty()) throw Error("intermediate CA: a common name is required");
  check_issuer(root, root_key, "root");
  const X509NamePtr name = detail::name_with_common_name(options.common_name);
  X509Ptr cert = new_certificate(name.get(), X509_get_subject_name(root.native()), subject_key.native(),
                                 options.validity, options.serial);
  add_extension(cert.get(), root.native(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(cert.get(), root.native(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert.get(), root.native(), NID_subject_key_identifier, "hash");
  add_authority_key_id(cert.get(), root.native());
  return sign(std::move(cert), root_key);
}

Certificate issue_leaf(const PublicKey& subject_key, const LeafOptions& options, const Certificate& issuer,
                       const PrivateKey& issuer_key) {
  if (options.dns_name.empty()) throw Error("leaf certificate: a DNS name (the identity) is required");
  if (options.spiffe_id && options.spiffe_id->rfind("spiffe://", 0) != 0) {
    throw Error("leaf certificate: SPIFFE ID \"" + *options.spiffe_id + "\" does not start with spiffe://");
  }
  check_issuer(issuer, issuer_key, "issuer");
  const std::string cn = pick_common_name(options.common_name, options.dns_name);
  const X509NamePtr name = detail::name_with_common_name(cn);
  std::vector<std::string> uris;
  if (options.spiffe_id) uris.push_back(*options.spiffe_id);
  const GeneralNamesPtr sans =
      detail::make_general_names("leaf certificate for " + options.dns_name, {options.dns_name}, {}, uris);

  X509Ptr cert = new_certificate(name.get(), X509_get_subject_name(issuer.native()), subject_key.native(),
                                 options.validity, options.serial);
  add_extension(cert.get(), issuer.native(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), issuer.native(), NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), issuer.native(), NID_ext_key_usage, "serverAuth,clientAuth");
  add_extension(cert.get(), issuer.native(), NID_subject_key_identifier, "hash");
  add_authority_key_id(cert.get(), issuer.native());
  add_subject_alt_names(cert.get(), sans.get(), cn.empty());
  return sign(std::move(cert), issuer_key);
}

Certificate make_self_signed_server(const PrivateKey& key, const ServerCertOptions& options) {
  if (options.dns_names.empty() && options.ip_addresses.empty()) {
    throw Error("serving certificate: at least one DNS name or IP address is required");
  }
  const std::string cn =
      pick_common_name(options.common_name, options.dns_names.empty() ? std::string() : options.dns_names.front());
  const X509NamePtr name = detail::name_with_common_name(cn);
  const GeneralNamesPtr sans =
      detail::make_general_names("serving certificate", options.dns_names, options.ip_addresses, {});

  X509Ptr cert = new_certificate(name.get(), name.get(), key.native(), options.validity, options.serial);
  add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  // RSA key exchange encrypts to the certificate's key; ECDSA and Ed25519 keys only sign.
  add_extension(cert.get(), cert.get(), NID_key_usage,
                EVP_PKEY_is_a(key.native(), "RSA") ? "critical,digitalSignature,keyEncipherment"
                                                   : "critical,digitalSignature");
  add_extension(cert.get(), cert.get(), NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  add_subject_alt_names(cert.get(), sans.get(), cn.empty());
  return sign(std::move(cert), key);
}

}  // namespace meshctl::core::tls

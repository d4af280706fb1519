#include <catch2/catch.hpp>

#include <openssl/x509v3.h>

#include "core/error.h"
#include "core/tls/crypto_util.h"
#include "core/tls/issue.h"
#include "core/tls/pem.h"
#include "support/tls_fixtures.h"

namespace tls = meshctl::core::tls;
using meshctl::test::days_after;
using meshctl::test::kIdentity;
using meshctl::test::kSpiffe;
using meshctl::test::openssl_queue_empty;
using meshctl::test::t2024;

namespace {

std::string error_of(auto&& fn) {
  try {
    fn();
  } catch (const meshctl::core::Error& e) {
    return e.what();
  }
  return "(no error)";
}

// DER of an extension's value, as hex, or "" when absent.
std::string extension_hex(const tls::Certificate& cert, int nid, bool* critical = nullptr) {
  const int index = X509_get_ext_by_NID(cert.native(), nid, -1);
  if (index < 0) return {};
  X509_EXTENSION* ext = X509_get_ext(cert.native(), index);
  if (critical != nullptr) *critical = X509_EXTENSION_get_critical(ext) == 1;
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
  return tls::hex_encode(tls::ByteView(ASN1_STRING_get0_data(data), static_cast<std::size_t>(ASN1_STRING_length(data))));
}

std::string key_id(const tls::Certificate& cert) {
  const ASN1_OCTET_STRING* id = X509_get0_subject_key_id(cert.native());
  return id == nullptr ? "" : tls::hex_encode(tls::ByteView(ASN1_STRING_get0_data(id), static_cast<std::size_t>(ASN1_STRING_length(id))));
}

std::string authority_key_id(const tls::Certificate& cert) {
  const ASN1_OCTET_STRING* id = X509_get0_authority_key_id(cert.native());
  return id == nullptr ? "" : tls::hex_encode(tls::ByteView(ASN1_STRING_get0_data(id), static_cast<std::size_t>(ASN1_STRING_length(id))));
}

}  // namespace

TEST_CASE("a root CA is self-signed with CA extensions and the caller's inputs", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  const tls::Certificate& root = pki.root;
  CHECK(root.subject() == "CN=root.meshctl.cluster.local");
  CHECK(root.issuer() == root.subject());
  CHECK(root.common_name() == "root.meshctl.cluster.local");
  CHECK(root.serial() == tls::SerialNumber::from_uint64(1));
  CHECK(root.not_before() == t2024());
  CHECK(root.not_after() == days_after(t2024(), 3650));
  CHECK(root.is_ca());
  CHECK_FALSE(root.path_length());
  CHECK(root.is_self_signed());
  CHECK(X509_get_version(root.native()) == X509_VERSION_3);
  bool critical = false;
  CHECK(extension_hex(root, NID_basic_constraints, &critical) == "30030101ff");
  CHECK(critical);
  CHECK((X509_get_key_usage(root.native()) & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  CHECK((X509_get_key_usage(root.native()) & KU_DIGITAL_SIGNATURE) == 0);
  CHECK(key_id(root).size() == 40);
  CHECK(X509_get_signature_nid(root.native()) == NID_ecdsa_with_SHA256);
  CHECK(tls::key_matches_certificate(pki.root_key, root));
  CHECK_FALSE(tls::key_matches_certificate(pki.issuer_key, root));
  CHECK(root.subject_alt_names().empty());
  CHECK(openssl_queue_empty());
}

TEST_CASE("an intermediate CA has pathlen 0 and names its root's key", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  const tls::Certificate& issuer = pki.issuer;
  CHECK(issuer.subject() == "CN=identity.meshctl.cluster.local");
  CHECK(issuer.issuer() == "CN=root.meshctl.cluster.local");
  CHECK(issuer.is_ca());
  REQUIRE(issuer.path_length());
  CHECK(*issuer.path_length() == 0);
  CHECK_FALSE(issuer.is_self_signed());
  CHECK(authority_key_id(issuer) == key_id(pki.root));
  CHECK(key_id(issuer).size() == 40);
  CHECK(key_id(issuer) != key_id(pki.root));
  CHECK((X509_get_key_usage(issuer.native()) & KU_KEY_CERT_SIGN) != 0);
  CHECK(tls::key_matches_certificate(pki.issuer_key, issuer));
  CHECK(X509_verify(issuer.native(), pki.root_key.native()) == 1);
}

TEST_CASE("a workload leaf carries the identity, SPIFFE ID, and leaf extensions", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  const tls::Certificate& leaf = pki.leaf;
  CHECK(leaf.subject() == "CN=" + kIdentity);
  CHECK(leaf.issuer() == "CN=identity.meshctl.cluster.local");
  const tls::SubjectAltNames sans = leaf.subject_alt_names();
  CHECK(sans.dns == std::vector<std::string>{kIdentity});
  CHECK(sans.uri == std::vector<std::string>{kSpiffe});
  CHECK(sans.ip.empty());
  CHECK(sans.email.empty());
  CHECK(sans.other.empty());
  CHECK_FALSE(leaf.is_ca());
  bool critical = false;
  CHECK(extension_hex(leaf, NID_basic_constraints, &critical) == "3000");
  CHECK(critical);
  CHECK(X509_get_key_usage(leaf.native()) == KU_DIGITAL_SIGNATURE);
  CHECK(X509_get_extended_key_usage(leaf.native()) == (XKU_SSL_SERVER | XKU_SSL_CLIENT));
  CHECK(authority_key_id(leaf) == key_id(pki.issuer));
  CHECK(leaf.not_before() == days_after(t2024(), 9));
  CHECK(leaf.not_after() == days_after(t2024(), 10));
  CHECK(tls::key_matches_certificate(pki.leaf_key, leaf));
  CHECK_FALSE(tls::key_matches_certificate(pki.issuer_key, leaf));
  CHECK(X509_verify(leaf.native(), pki.issuer_key.native()) == 1);
  CHECK(X509_verify(leaf.native(), pki.root_key.native()) != 1);
  ERR_clear_error();
}

TEST_CASE("a leaf without SPIFFE ID, and one whose identity is too long for a CN", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  tls::LeafOptions options;
  options.dns_name = "a.b.serviceaccount.identity.meshctl.cluster.local";
  options.validity = {t2024(), days_after(t2024(), 1)};
  options.serial = tls::SerialNumber::from_uint64(7);
  const tls::Certificate plain = tls::issue_leaf(tls::generate_ecdsa_p256().public_key(), options, pki.issuer, pki.issuer_key);
  CHECK(plain.subject_alt_names().uri.empty());
  CHECK(plain.subject_alt_names().dns == std::vector<std::string>{options.dns_name});
  bool critical = true;
  extension_hex(plain, NID_subject_alt_name, &critical);
  CHECK_FALSE(critical);

  options.dns_name = std::string(40, 'x') + ".default.serviceaccount.identity.meshctl.cluster.local";
  const tls::Certificate long_name = tls::issue_leaf(tls::generate_ecdsa_p256().public_key(), options, pki.issuer, pki.issuer_key);
  CHECK(long_name.subject().empty());
  CHECK(long_name.subject_alt_names().dns == std::vector<std::string>{options.dns_name});
  extension_hex(long_name, NID_subject_alt_name, &critical);
  CHECK(critical);
}

TEST_CASE("issuing refuses a wrong issuer key, a non-CA issuer, and bad inputs", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  tls::LeafOptions options;
  options.dns_name = kIdentity;
  options.validity = {t2024(), days_after(t2024(), 1)};
  options.serial = tls::SerialNumber::from_uint64(9);
  const tls::PublicKey subject = tls::generate_ecdsa_p256().public_key();

  CHECK(error_of([&] { tls::issue_leaf(subject, options, pki.issuer, pki.root_key); }) ==
        "issuer key does not match the issuer certificate \"CN=identity.meshctl.cluster.local\"");
  CHECK(error_of([&] { tls::issue_leaf(subject, options, pki.leaf, pki.leaf_key); }) ==
        "issuer \"CN=" + kIdentity + "\" is not a CA certificate");
  CHECK(error_of([&] {
          tls::make_intermediate_ca(subject, {"x", options.validity, options.serial}, pki.root, pki.issuer_key);
        }) == "root key does not match the root certificate \"CN=root.meshctl.cluster.local\"");

  auto bad = options;
  bad.serial = tls::SerialNumber{{0, 0}};
  CHECK(error_of([&] { tls::issue_leaf(subject, bad, pki.issuer, pki.issuer_key); }) ==
        "certificate serial number must not be zero");
  bad.serial = tls::SerialNumber{tls::Bytes(20, 0xff)};
  CHECK(error_of([&] { tls::issue_leaf(subject, bad, pki.issuer, pki.issuer_key); }).find("longer than 20 octets") !=
        std::string::npos);
  bad = options;
  bad.validity = {t2024(), t2024()};
  CHECK(error_of([&] { tls::issue_leaf(subject, bad, pki.issuer, pki.issuer_key); })
            .rfind("certificate validity: not after (2024-01-01T00:00:00Z) must be later", 0) == 0);
  bad = options;
  bad.dns_name = "web,DNS:evil.example";
  CHECK(error_of([&] { tls::issue_leaf(subject, bad, pki.issuer, pki.issuer_key); }).find("invalid DNS name") !=
        std::string::npos);
  bad = options;
  bad.spiffe_id = "https://example";
  CHECK(error_of([&] { tls::issue_leaf(subject, bad, pki.issuer, pki.issuer_key); }).find("spiffe://") !=
        std::string::npos);
  bad = options;
  bad.dns_name.clear();
  CHECK_THROWS_AS(tls::issue_leaf(subject, bad, pki.issuer, pki.issuer_key), meshctl::core::Error);
  CHECK(error_of([&] {
          tls::make_root_ca(pki.root_key, {std::string(65, 'r'), options.validity, options.serial});
        }) == "common name \"" + std::string(65, 'r') + "\" is longer than 64 characters");
  CHECK(openssl_queue_empty());
}

TEST_CASE("serial numbers: from a number, random, and the 20-octet limit", "[tls]") {
  CHECK(tls::SerialNumber::from_uint64(0x0102).big_endian == tls::Bytes{1, 2});
  CHECK(tls::SerialNumber::from_uint64(0x0102).hex() == "0102");
  CHECK(tls::SerialNumber{{0, 0, 5}} == tls::SerialNumber::from_uint64(5));
  const tls::SerialNumber a = tls::SerialNumber::random();
  const tls::SerialNumber b = tls::SerialNumber::random();
  CHECK(a.big_endian.size() == 16);
  CHECK_FALSE(a == b);

  const auto key = tls::ed25519_from_seed(tls::Bytes(32, 3));
  tls::CaOptions options{"r", {t2024(), days_after(t2024(), 1)}, tls::SerialNumber{tls::Bytes(20, 0x7f)}};
  CHECK(tls::make_root_ca(key, options).serial() == options.serial);
  options.serial = a;
  CHECK(tls::make_root_ca(key, options).serial() == a);
}

TEST_CASE("Ed25519 certificates are byte-for-byte reproducible", "[tls]") {
  auto build = [](std::uint64_t serial) {
    const tls::PrivateKey root_key = tls::ed25519_from_seed(tls::Bytes(32, 0x11));
    const tls::PrivateKey issuer_key = tls::ed25519_from_seed(tls::Bytes(32, 0x22));
    const tls::Validity validity{t2024(), days_after(t2024(), 365)};
    const tls::Certificate root = tls::make_root_ca(root_key, {"root.meshctl.cluster.local", validity, tls::SerialNumber::from_uint64(serial)});
    const tls::Certificate issuer = tls::make_intermediate_ca(
        issuer_key.public_key(), {"identity.meshctl.cluster.local", validity, tls::SerialNumber::from_uint64(2)}, root,
        root_key);
    return tls::certificate_to_pem(root) + tls::certificate_to_pem(issuer);
  };
  const std::string first = build(1);
  CHECK(first == build(1));
  CHECK(first != build(3));
  const auto bundle = tls::bundle_from_pem(first, "generated");
  REQUIRE(bundle.size() == 2);
  CHECK(X509_get_signature_nid(bundle[0].native()) == NID_ED25519);
  CHECK(X509_get_signature_nid(bundle[1].native()) == NID_ED25519);
}

TEST_CASE("self-signed serving certificates work with Ed25519 and ECDSA keys", "[tls]") {
  tls::ServerCertOptions options;
  options.dns_names = {"meshctl-proxy-injector.meshctl.svc", "meshctl-proxy-injector.meshctl.svc.cluster.local"};
  options.ip_addresses = {"127.0.0.1", "::1"};
  options.validity = {t2024(), days_after(t2024(), 365)};
  options.serial = tls::SerialNumber::from_uint64(42);
  for (const tls::PrivateKey& key : {tls::ed25519_from_seed(tls::Bytes(32, 7)), tls::generate_ecdsa_p256()}) {
    INFO(key.type_name());
    const tls::Certificate cert = tls::make_self_signed_server(key, options);
    CHECK(cert.subject() == "CN=meshctl-proxy-injector.meshctl.svc");
    CHECK(cert.is_self_signed());
    CHECK_FALSE(cert.is_ca());
    const auto sans = cert.subject_alt_names();
    CHECK(sans.dns == options.dns_names);
    CHECK(sans.ip == std::vector<std::string>{"127.0.0.1", "::1"});
    CHECK(X509_get_extended_key_usage(cert.native()) == XKU_SSL_SERVER);
    CHECK(X509_get_key_usage(cert.native()) == KU_DIGITAL_SIGNATURE);
    CHECK(X509_get_signature_nid(cert.native()) ==
          (key.algorithm() == tls::KeyAlgorithm::ed25519 ? NID_ED25519 : NID_ecdsa_with_SHA256));
    CHECK(tls::key_matches_certificate(key, cert));
  }
  const auto key = tls::generate_ecdsa_p256();
  options.ip_addresses = {"300.1.1.1"};
  CHECK(error_of([&] { tls::make_self_signed_server(key, options); }) ==
        "serving certificate: invalid IP address \"300.1.1.1\"");
  options.dns_names.clear();
  options.ip_addresses.clear();
  CHECK_THROWS_AS(tls::make_self_signed_server(key, options), meshctl::core::Error);
  CHECK(openssl_queue_empty());
}

TEST_CASE("an operator's CA without a subjectKeyIdentifier can still issue", "[tls]") {
  // A minimal CA as some tools write it: basicConstraints only.
  const auto ca_key = tls::generate_ecdsa_p256();
  tls::X509Ptr raw(X509_new());
  X509_set_version(raw.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(raw.get()), 1);
  const tls::X509NamePtr name(X509_NAME_new());
  X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("bare-ca"), -1, -1, 0);
  X509_set_subject_name(raw.get(), name.get());
  X509_set_issuer_name(raw.get(), name.get());
  ASN1_TIME_set(X509_getm_notBefore(raw.get()), tls::to_unix_seconds(t2024()));
  ASN1_TIME_set(X509_getm_notAfter(raw.get()), tls::to_unix_seconds(days_after(t2024(), 30)));
  X509_set_pubkey(raw.get(), ca_key.native());
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, raw.get(), raw.get(), nullptr, nullptr, 0);
  tls::X509ExtensionPtr bc(X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:TRUE"));
  REQUIRE(bc);
  X509_add_ext(raw.get(), bc.get(), -1);
  REQUIRE(X509_sign(raw.get(), ca_key.native(), EVP_sha256()) > 0);
  const tls::Certificate ca(std::move(raw));
  REQUIRE(X509_get0_subject_key_id(ca.native()) == nullptr);

  tls::LeafOptions options;
  options.dns_name = kIdentity;
  options.validity = {t2024(), days_after(t2024(), 1)};
  options.serial = tls::SerialNumber::from_uint64(3);
  const tls::Certificate leaf = tls::issue_leaf(tls::generate_ecdsa_p256().public_key(), options, ca, ca_key);
  CHECK(X509_get0_authority_key_id(leaf.native()) == nullptr);
  CHECK(key_id(leaf).size() == 40);
  CHECK(X509_verify(leaf.native(), ca_key.native()) == 1);
  CHECK(openssl_queue_empty());
}

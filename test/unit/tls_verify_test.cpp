#include <catch2/catch.hpp>

#include "core/error.h"
#include "core/tls/pem.h"
#include "core/tls/verify.h"
#include "support/tls_fixtures.h"

namespace tls = meshctl::core::tls;
using meshctl::test::days_after;
using meshctl::test::kIdentity;
using meshctl::test::openssl_queue_empty;
using meshctl::test::t2024;

namespace {

// Inside the leaf's one-day life.
tls::Time leaf_time() { return days_after(t2024(), 9) + std::chrono::hours(12); }

tls::VerifyOptions at(tls::Time t, std::optional<std::string> dns = std::nullopt) {
  tls::VerifyOptions o;
  o.at = t;
  o.dns_name = std::move(dns);
  return o;
}

}  // namespace

TEST_CASE("root -> issuer -> leaf verifies, with and without the identity check", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  const std::vector<tls::Certificate> intermediates{pki.issuer};
  const std::vector<tls::Certificate> anchors{pki.root};
  tls::VerifyResult r = tls::verify_certificate(pki.leaf, intermediates, anchors, at(leaf_time()));
  CHECK(r.ok());
  CHECK(r.reason.empty());
  r = tls::verify_certificate(pki.leaf, intermediates, anchors, at(leaf_time(), kIdentity));
  CHECK(r.ok());
  // DNS names compare case-insensitively.
  CHECK(tls::verify_certificate(pki.leaf, intermediates, anchors, at(leaf_time(), "WEB.default.serviceaccount.identity.meshctl.cluster.LOCAL")));
  // Install's check: the issuer itself against the anchors.
  CHECK(tls::verify_certificate(pki.issuer, {}, anchors, at(t2024())).ok());
  // The right anchor among others.
  const auto other = meshctl::test::make_pki("other-root");
  CHECK(tls::verify_certificate(pki.leaf, intermediates, std::vector{other.root, pki.root}, at(leaf_time())).ok());
  CHECK(openssl_queue_empty());
}

TEST_CASE("an expired leaf is reported with its notAfter", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  const auto r = tls::verify_certificate(pki.leaf, std::vector{pki.issuer}, std::vector{pki.root},
                                         at(days_after(t2024(), 11)));
  CHECK(r.status == tls::VerifyStatus::expired);
  CHECK(r.depth == 0);
  CHECK(r.reason == "certificate \"CN=" + kIdentity +
                        "\" expired at 2024-01-11T00:00:00Z (checked at 2024-01-12T00:00:00Z)");
  CHECK(tls::to_string(r.status) == "expired");
  CHECK(openssl_queue_empty());
}

TEST_CASE("a not yet valid leaf is reported with its notBefore", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  const auto r = tls::verify_certificate(pki.leaf, std::vector{pki.issuer}, std::vector{pki.root},
                                         at(days_after(t2024(), 5)));
  CHECK(r.status == tls::VerifyStatus::not_yet_valid);
  CHECK(r.depth == 0);
  CHECK(r.reason == "certificate \"CN=" + kIdentity +
                        "\" is not valid until 2024-01-10T00:00:00Z (checked at 2024-01-06T00:00:00Z)");
}

TEST_CASE("an expired issuer fails the chain even while the leaf is valid", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  // A leaf that outlives its issuer (2024-01-01 + 365 days).
  tls::LeafOptions options;
  options.dns_name = kIdentity;
  options.validity = {t2024(), days_after(t2024(), 800)};
  options.serial = tls::SerialNumber::from_uint64(5);
  const auto leaf = tls::issue_leaf(pki.leaf_key.public_key(), options, pki.issuer, pki.issuer_key);
  const auto r = tls::verify_certificate(leaf, std::vector{pki.issuer}, std::vector{pki.root},
                                         at(days_after(t2024(), 400)));
  CHECK(r.status == tls::VerifyStatus::expired);
  CHECK(r.depth == 1);
  CHECK(r.reason.find("CN=identity.meshctl.cluster.local") != std::string::npos);
}

TEST_CASE("the wrong trust anchor is an unknown issuer", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  const auto other = meshctl::test::make_pki("other-root");
  const auto r = tls::verify_certificate(pki.leaf, std::vector{pki.issuer}, std::vector{other.root}, at(leaf_time()));
  CHECK(r.status == tls::VerifyStatus::unknown_issuer);
  CHECK(r.depth == 1);
  CHECK(r.reason ==
        "unknown issuer: neither the trust anchors nor the intermediates hold the issuer "
        "\"CN=root.meshctl.cluster.local\" of certificate \"CN=identity.meshctl.cluster.local\"");

  // Same subject name, different key: the names match but the signature cannot.
  const auto impostor = meshctl::test::make_pki();
  const auto r2 = tls::verify_certificate(pki.leaf, std::vector{pki.issuer}, std::vector{impostor.root}, at(leaf_time()));
  CHECK_FALSE(r2.ok());
  CHECK(r2.status != tls::VerifyStatus::ok);
  CHECK_FALSE(r2.reason.empty());

  const auto r3 = tls::verify_certificate(pki.leaf, std::vector{pki.issuer}, {}, at(leaf_time()));
  CHECK(r3.status == tls::VerifyStatus::unknown_issuer);
  CHECK(r3.reason == "unknown issuer: there are no trust anchors");
  CHECK(openssl_queue_empty());
}

TEST_CASE("a missing intermediate is an unknown issuer naming the leaf", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  const auto r = tls::verify_certificate(pki.leaf, {}, std::vector{pki.root}, at(leaf_time()));
  CHECK(r.status == tls::VerifyStatus::unknown_issuer);
  CHECK(r.depth == 0);
  CHECK(r.reason.find("\"CN=identity.meshctl.cluster.local\" of certificate \"CN=" + kIdentity + "\"") !=
        std::string::npos);
  // A partial chain anchored at the issuer is accepted only when asked for.
  auto options = at(leaf_time());
  CHECK_FALSE(tls::verify_certificate(pki.leaf, {}, std::vector{pki.issuer}, options).ok());
  options.allow_partial_chain = true;
  CHECK(tls::verify_certificate(pki.leaf, {}, std::vector{pki.issuer}, options).ok());
}

TEST_CASE("a valid chain for another identity is a name mismatch", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  const auto r = tls::verify_certificate(pki.leaf, std::vector{pki.issuer}, std::vector{pki.root},
                                         at(leaf_time(), "api.default.serviceaccount.identity.meshctl.cluster.local"));
  CHECK(r.status == tls::VerifyStatus::name_mismatch);
  CHECK(r.reason == "certificate \"CN=" + kIdentity +
                        "\" is not valid for DNS name \"api.default.serviceaccount.identity.meshctl.cluster.local\" "
                        "(its DNS names: " + kIdentity + ")");
  // The subject CN is never consulted, and the root has no DNS names at all.
  const auto r2 = tls::verify_certificate(pki.root, {}, std::vector{pki.root}, at(t2024(), "root.meshctl.cluster.local"));
  CHECK(r2.status == tls::VerifyStatus::name_mismatch);
  CHECK(r2.reason.find("it has no DNS names") != std::string::npos);
}

TEST_CASE("a tampered signature and a self-signed stranger are rejected", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  tls::Bytes der = tls::certificate_to_der(pki.leaf);
  der.back() ^= 0x01;  // last byte of the ECDSA signature's s
  const tls::Certificate tampered = tls::certificate_from_der(der, "tampered");
  const auto r = tls::verify_certificate(tampered, std::vector{pki.issuer}, std::vector{pki.root}, at(leaf_time()));
  CHECK(r.status == tls::VerifyStatus::bad_signature);
  CHECK(r.depth == 0);

  const auto stranger = meshctl::test::make_pki("stranger");
  const auto r2 = tls::verify_certificate(stranger.root, {}, std::vector{pki.root}, at(t2024()));
  CHECK(r2.status == tls::VerifyStatus::unknown_issuer);
  CHECK(r2.reason == "unknown issuer: certificate \"CN=stranger\" is self-signed and not one of the trust anchors");
  CHECK(openssl_queue_empty());
}

TEST_CASE("a leaf cannot act as a CA", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  // Forge a certificate "issued" by the leaf, bypassing issue_leaf's own check.
  X509* raw = X509_new();
  tls::X509Ptr forged(raw);
  X509_set_version(raw, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(raw), 77);
  X509_set_issuer_name(raw, X509_get_subject_name(pki.leaf.native()));
  const tls::X509NamePtr name(X509_NAME_new());
  X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("forged"), -1, -1, 0);
  X509_set_subject_name(raw, name.get());
  ASN1_TIME_set(X509_getm_notBefore(raw), tls::to_unix_seconds(days_after(t2024(), 9)));
  ASN1_TIME_set(X509_getm_notAfter(raw), tls::to_unix_seconds(days_after(t2024(), 10)));
  const auto key = tls::generate_ecdsa_p256();
  X509_set_pubkey(raw, key.native());
  REQUIRE(X509_sign(raw, pki.leaf_key.native(), EVP_sha256()) > 0);
  const tls::Certificate cert(std::move(forged));
  const auto r = tls::verify_certificate(cert, std::vector{pki.leaf, pki.issuer}, std::vector{pki.root}, at(leaf_time()));
  CHECK(r.status == tls::VerifyStatus::invalid_ca);
  CHECK(r.reason.find("is not a CA") != std::string::npos);
}

TEST_CASE("require_valid_certificate throws the reason", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  CHECK_NOTHROW(tls::require_valid_certificate("issuer", pki.issuer, {}, std::vector{pki.root}, at(t2024())));
  try {
    tls::require_valid_certificate("issuer certificate", pki.issuer, {}, std::vector{pki.root},
                                   at(days_after(t2024(), 366)));
    FAIL("no error");
  } catch (const meshctl::core::Error& e) {
    CHECK(std::string(e.what()) ==
          "issuer certificate: certificate \"CN=identity.meshctl.cluster.local\" expired at 2024-12-31T00:00:00Z "
          "(checked at 2025-01-01T00:00:00Z)");
  }
}

TEST_CASE("a self-signed serving certificate is its own trust anchor", "[tls]") {
  tls::ServerCertOptions options;
  options.dns_names = {"meshctl-proxy-injector.meshctl.svc"};
  options.validity = {t2024(), days_after(t2024(), 365)};
  options.serial = tls::SerialNumber::from_uint64(1);
  const tls::Certificate cert = tls::make_self_signed_server(tls::ed25519_from_seed(tls::Bytes(32, 5)), options);
  const std::vector<tls::Certificate> anchors{cert};
  CHECK(tls::verify_certificate(cert, {}, anchors, at(days_after(t2024(), 1), "meshctl-proxy-injector.meshctl.svc")).ok());
  CHECK(tls::verify_certificate(cert, {}, anchors, at(days_after(t2024(), 1), "other.meshctl.svc")).status ==
        tls::VerifyStatus::name_mismatch);
  CHECK(tls::verify_certificate(cert, {}, anchors, at(days_after(t2024(), 366))).status == tls::VerifyStatus::expired);
  CHECK(openssl_queue_empty());
}

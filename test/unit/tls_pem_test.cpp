#include <catch2/catch.hpp>

#include "core/error.h"
#include "core/tls/crypto_util.h"
#include "core/tls/pem.h"
#include "support/tls_fixtures.h"

namespace tls = meshctl::core::tls;
using meshctl::test::openssl_queue_empty;

namespace {

std::string error_of(auto&& fn) {
  try {
    fn();
  } catch (const meshctl::core::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("a certificate round-trips through PEM and DER", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  const std::string pem = tls::certificate_to_pem(pki.leaf);
  CHECK(pem.rfind("-----BEGIN CERTIFICATE-----\n", 0) == 0);
  CHECK(pem.substr(pem.size() - 26) == "-----END CERTIFICATE-----\n");
  const tls::Certificate back = tls::certificate_from_pem(pem, "leaf.crt");
  CHECK(back == pki.leaf);
  CHECK(tls::certificate_to_pem(back) == pem);
  const tls::Bytes der = tls::certificate_to_der(pki.leaf);
  CHECK(tls::certificate_from_der(der, "leaf.der") == pki.leaf);
  CHECK(tls::sha256_hex(der) == pki.leaf.sha256_fingerprint());
  CHECK_FALSE(pki.leaf == pki.issuer);
  CHECK(openssl_queue_empty());
}

TEST_CASE("a bundle of two keeps its order and text around blocks is tolerated", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  const std::string pem = tls::bundle_to_pem(std::vector{pki.issuer, pki.root});
  CHECK(pem == tls::certificate_to_pem(pki.issuer) + tls::certificate_to_pem(pki.root));
  const tls::CertificateBundle bundle = tls::bundle_from_pem(pem, "ca-bundle.crt");
  REQUIRE(bundle.size() == 2);
  CHECK(bundle[0] == pki.issuer);
  CHECK(bundle[1] == pki.root);
  CHECK(tls::bundle_to_pem(bundle) == pem);

  const std::string annotated = "# issuer\n" + tls::certificate_to_pem(pki.issuer) + "\n# root\n" +
                                tls::certificate_to_pem(pki.root) + "\n\n";
  CHECK(tls::bundle_from_pem(annotated, "annotated").size() == 2);
  CHECK(tls::bundle_from_pem(tls::certificate_to_pem(pki.root), "one").size() == 1);
  CHECK(openssl_queue_empty());
}

TEST_CASE("empty, garbage and mixed bundles are errors naming the source", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  CHECK(error_of([] { tls::bundle_from_pem("", "MESHCTL_PROXY_TRUST_ANCHORS"); }) ==
        "MESHCTL_PROXY_TRUST_ANCHORS: empty certificate bundle");
  CHECK(error_of([] { tls::bundle_from_pem(" \n\n", "ca.crt"); }) == "ca.crt: empty certificate bundle");
  CHECK(error_of([] { tls::bundle_from_pem("this is not PEM\n", "ca.crt"); }) ==
        "ca.crt: not a PEM certificate bundle (no PEM blocks found)");
  const std::string mixed = tls::certificate_to_pem(pki.root) + tls::private_key_to_pem(pki.root_key);
  CHECK(error_of([&] { tls::bundle_from_pem(mixed, "ca.crt"); }) ==
        "ca.crt: block 2 of 2 is a PRIVATE KEY, not a CERTIFICATE");
  const std::string broken_base64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
  CHECK(error_of([&] { tls::bundle_from_pem(broken_base64, "ca.crt"); }).rfind("ca.crt: malformed PEM block 1", 0) == 0);
  const std::string not_der = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  CHECK(error_of([&] { tls::bundle_from_pem(tls::certificate_to_pem(pki.root) + not_der, "ca.crt"); })
            .rfind("ca.crt: block 2 of 2 is a malformed certificate", 0) == 0);
  std::string truncated = tls::certificate_to_pem(pki.root);
  truncated.resize(truncated.size() - 30);
  CHECK(error_of([&] { tls::bundle_from_pem(truncated, "ca.crt"); }).rfind("ca.crt: malformed PEM block 1", 0) == 0);
  CHECK(openssl_queue_empty());
}

TEST_CASE("certificate_from_pem wants exactly one certificate", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  CHECK(error_of([] { tls::certificate_from_pem("garbage", "issuer.crt"); }) == "issuer.crt: not a PEM certificate");
  CHECK(error_of([&] { tls::certificate_from_pem(tls::private_key_to_pem(pki.issuer_key), "issuer.crt"); }) ==
        "issuer.crt: not a PEM certificate (found PRIVATE KEY)");
  CHECK(error_of([&] { tls::certificate_from_pem(tls::bundle_to_pem(std::vector{pki.issuer, pki.root}), "issuer.crt"); }) ==
        "issuer.crt: expected one certificate, found 2 PEM blocks");
  tls::Bytes der = tls::certificate_to_der(pki.root);
  der.push_back(0);
  CHECK(error_of([&] { tls::certificate_from_der(der, "root.der"); }) ==
        "root.der: not a DER certificate (trailing bytes after the certificate)");
  CHECK(error_of([] { tls::certificate_from_der(tls::Bytes{0x30, 0x03, 0x02, 0x01}, "x.der"); })
            .rfind("x.der: not a DER certificate", 0) == 0);
  CHECK(openssl_queue_empty());
}

TEST_CASE("CSRs round-trip through PEM and DER", "[tls]") {
  const auto key = tls::generate_ecdsa_p256();
  const tls::CertificateRequest csr = tls::create_csr(key, meshctl::test::kIdentity);
  const std::string pem = tls::csr_to_pem(csr);
  CHECK(pem.rfind("-----BEGIN CERTIFICATE REQUEST-----\n", 0) == 0);
  const tls::CertificateRequest back = tls::csr_from_pem(pem, "csr");
  CHECK(tls::csr_to_pem(back) == pem);
  CHECK(back.verify_signature());
  CHECK(tls::csr_to_der(tls::csr_from_der(tls::csr_to_der(csr), "csr.der")) == tls::csr_to_der(csr));
  CHECK_THROWS_AS(tls::csr_from_pem(tls::private_key_to_pem(key), "csr"), meshctl::core::Error);
  CHECK(error_of([] { tls::csr_from_der(tls::Bytes{1, 2}, "csr from web"); }).rfind("csr from web: not a DER certificate request", 0) == 0);
  CHECK(openssl_queue_empty());
}

TEST_CASE("the trust-root hash is SHA-256 of the exact PEM bytes", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  const std::string pem = tls::certificate_to_pem(pki.root);
  CHECK(tls::pem_sha256(pem) == tls::sha256_hex(std::string_view(pem)));
  CHECK(tls::pem_sha256(pem).size() == 64);
  CHECK(tls::pem_sha256(pem) != tls::pem_sha256(pem + "\n"));
  CHECK(tls::pem_sha256("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

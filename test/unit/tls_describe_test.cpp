#include <catch2/catch.hpp>

#include "core/tls/describe.h"
#include "support/tls_fixtures.h"

namespace tls = meshctl::core::tls;
using meshctl::test::kIdentity;
using meshctl::test::kSpiffe;

TEST_CASE("describe reports every field of a leaf", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  const tls::CertificateDescription d = tls::describe(pki.leaf);
  CHECK(d.subject == "CN=" + kIdentity);
  CHECK(d.issuer == "CN=identity.meshctl.cluster.local");
  CHECK(d.serial == pki.leaf.serial().hex());
  CHECK(d.not_before == meshctl::test::days_after(meshctl::test::t2024(), 9));
  CHECK(d.subject_alt_names.dns == std::vector<std::string>{kIdentity});
  CHECK(d.subject_alt_names.uri == std::vector<std::string>{kSpiffe});
  CHECK_FALSE(d.is_ca);
  CHECK_FALSE(d.self_signed);
  CHECK(d.key_type == "ECDSA P-256");
  CHECK(d.sha256_fingerprint == pki.leaf.sha256_fingerprint());

  const std::string text = tls::render(d);
  CHECK(text.find("Subject:      CN=" + kIdentity + "\n") != std::string::npos);
  CHECK(text.find("Not Before:   2024-01-10T00:00:00Z\n") != std::string::npos);
  CHECK(text.find("Not After:    2024-01-11T00:00:00Z\n") != std::string::npos);
  CHECK(text.find("SANs:         DNS:" + kIdentity + "\n              URI:" + kSpiffe + "\n") != std::string::npos);
  CHECK(text.find("CA:           no\n") != std::string::npos);
  CHECK(text.find("Key Type:     ECDSA P-256\n") != std::string::npos);
  CHECK(text.find("SHA-256:      " + pki.leaf.sha256_fingerprint() + "\n") != std::string::npos);
}

TEST_CASE("describe a root and an issuer", "[tls]") {
  const auto pki = meshctl::test::make_pki();
  const std::string root = tls::render(tls::describe(pki.root));
  CHECK(root ==
        "Subject:      CN=root.meshctl.cluster.local\n"
        "Issuer:       CN=root.meshctl.cluster.local\n"
        "Serial:       01\n"
        "Not Before:   2024-01-01T00:00:00Z\n"
        "Not After:    2033-12-29T00:00:00Z\n"
        "CA:           yes (self-signed)\n"
        "Key Type:     ECDSA P-256\n"
        "SANs:         (none)\n"
        "SHA-256:      " + pki.root.sha256_fingerprint() + "\n");
  const auto issuer = tls::describe(pki.issuer);
  REQUIRE(issuer.path_length);
  CHECK(*issuer.path_length == 0);
  CHECK(tls::render(issuer).find("CA:           yes, path length 0\n") != std::string::npos);
}

TEST_CASE("RFC 3339 formatting is UTC with whole seconds", "[tls]") {
  CHECK(tls::format_rfc3339(tls::from_unix_seconds(0)) == "1970-01-01T00:00:00Z");
  CHECK(tls::format_rfc3339(tls::from_unix_seconds(2524608000)) == "2050-01-01T00:00:00Z");
  CHECK(tls::format_rfc3339(tls::from_unix_seconds(1709210096) + std::chrono::milliseconds(999)) ==
        "2024-02-29T12:34:56Z");
  CHECK(tls::to_unix_seconds(tls::from_unix_seconds(-1)) == -1);
}

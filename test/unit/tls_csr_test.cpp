#include <catch2/catch.hpp>

#include <openssl/x509v3.h>

#include "core/error.h"
#include "core/tls/csr.h"
#include "core/tls/pem.h"
#include "support/tls_fixtures.h"

namespace tls = meshctl::core::tls;
using meshctl::test::kIdentity;
using meshctl::test::openssl_queue_empty;

namespace {

struct ExtStackFree {
  void operator()(STACK_OF(X509_EXTENSION) * s) const { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); }
};

// A CSR such as a misbehaving client could send: several SAN kinds, built with OpenSSL directly.
tls::CertificateRequest csr_with_sans(const tls::PrivateKey& key, const char* cn, const char* sans) {
  tls::X509ReqPtr req(X509_REQ_new());
  REQUIRE(req);
  X509_REQ_set_version(req.get(), X509_REQ_VERSION_1);
  if (cn != nullptr) {
    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  }
  X509_REQ_set_pubkey(req.get(), key.native());
  if (sans != nullptr) {
    X509V3_CTX ctx{};
    X509V3_set_ctx(&ctx, nullptr, nullptr, req.get(), nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, sans);
    REQUIRE(ext != nullptr);
    std::unique_ptr<STACK_OF(X509_EXTENSION), ExtStackFree> exts(sk_X509_EXTENSION_new_null());
    sk_X509_EXTENSION_push(exts.get(), ext);
    REQUIRE(X509_REQ_add_extensions(req.get(), exts.get()) == 1);
  }
  REQUIRE(X509_REQ_sign(req.get(), key.native(), EVP_sha256()) > 0);
  return tls::CertificateRequest(std::move(req));
}

}  // namespace

TEST_CASE("a CSR asks for exactly the identity, with CN or an empty subject", "[tls]") {
  const auto key = tls::generate_ecdsa_p256();
  const tls::CertificateRequest csr = tls::create_csr(key, kIdentity);
  CHECK(csr.verify_signature());
  CHECK(csr.common_name() == kIdentity);
  CHECK(csr.subject() == "CN=" + kIdentity);
  const tls::SubjectAltNames sans = csr.subject_alt_names();
  CHECK(sans.dns == std::vector<std::string>{kIdentity});
  CHECK(sans.size() == 1);
  CHECK(csr.public_key() == key.public_key());

  const tls::CertificateRequest bare = tls::create_csr(key, kIdentity, tls::CsrSubject::empty);
  CHECK(bare.verify_signature());
  CHECK(bare.subject().empty());
  CHECK(bare.common_name().empty());
  CHECK(bare.subject_alt_names().dns == std::vector<std::string>{kIdentity});

  const auto ed = tls::ed25519_from_seed(tls::Bytes(32, 9));
  const tls::CertificateRequest ed_csr = tls::create_csr(ed, kIdentity);
  CHECK(ed_csr.verify_signature());
  CHECK(X509_REQ_get_signature_nid(ed_csr.native()) == NID_ED25519);

  CHECK_THROWS_AS(tls::create_csr(key, ""), meshctl::core::Error);
  CHECK_THROWS_AS(tls::create_csr(key, "a b"), meshctl::core::Error);
  CHECK(openssl_queue_empty());
}

TEST_CASE("a CSR with extra SANs reports every one by kind", "[tls]") {
  const auto key = tls::generate_ecdsa_p256();
  const tls::CertificateRequest csr =
      csr_with_sans(key, "web", "DNS:web.default.svc, DNS:admin.meshctl.svc, IP:10.0.0.1, IP:fd00::1, "
                                "email:root@example.com, URI:spiffe://cluster.local/ns/default/sa/web, "
                                "RID:1.2.3.4, otherName:1.2.3.5;UTF8:x");
  // Round trip so the fields come from parsed bytes, as the identity service sees them.
  const tls::CertificateRequest parsed = tls::csr_from_pem(tls::csr_to_pem(csr), "CSR from web");
  CHECK(parsed.verify_signature());
  CHECK(parsed.common_name() == "web");
  const tls::SubjectAltNames sans = parsed.subject_alt_names();
  CHECK(sans.dns == std::vector<std::string>{"web.default.svc", "admin.meshctl.svc"});
  CHECK(sans.ip == std::vector<std::string>{"10.0.0.1", "fd00::1"});
  CHECK(sans.email == std::vector<std::string>{"root@example.com"});
  CHECK(sans.uri == std::vector<std::string>{"spiffe://cluster.local/ns/default/sa/web"});
  CHECK(sans.other == std::vector<std::string>{"registeredID", "otherName"});
  CHECK(sans.size() == 8);
  CHECK(sans.to_string() ==
        "DNS:web.default.svc, DNS:admin.meshctl.svc, IP:10.0.0.1, IP:fd00::1, email:root@example.com, "
        "URI:spiffe://cluster.local/ns/default/sa/web, registeredID, otherName");
  CHECK(openssl_queue_empty());
}

TEST_CASE("a CSR without SANs or with a bad signature is reported as such", "[tls]") {
  const auto key = tls::generate_ecdsa_p256();
  const tls::CertificateRequest none = csr_with_sans(key, kIdentity.c_str(), nullptr);
  CHECK(none.verify_signature());
  CHECK(none.subject_alt_names().empty());
  CHECK(none.common_name() == kIdentity);

  tls::Bytes der = tls::csr_to_der(tls::create_csr(key, kIdentity));
  der.back() ^= 0x01;
  const tls::CertificateRequest tampered = tls::csr_from_der(der, "tampered");
  CHECK_FALSE(tampered.verify_signature());
  CHECK(openssl_queue_empty());

  // A signature by another key than the one in the request.
  tls::X509ReqPtr req(X509_REQ_dup(tls::create_csr(key, kIdentity).native()));
  const auto other = tls::generate_ecdsa_p256();
  REQUIRE(X509_REQ_sign(req.get(), other.native(), EVP_sha256()) > 0);
  CHECK_FALSE(tls::CertificateRequest(std::move(req)).verify_signature());
  CHECK(openssl_queue_empty());
}

TEST_CASE("copies of a CSR are independent and equal", "[tls]") {
  const auto key = tls::generate_ecdsa_p256();
  const tls::CertificateRequest csr = tls::create_csr(key, kIdentity);
  tls::CertificateRequest copy = csr;
  CHECK(copy.native() != csr.native());
  CHECK(tls::csr_to_der(copy) == tls::csr_to_der(csr));
  copy = tls::create_csr(key, "other.example");
  CHECK(copy.subject_alt_names().dns == std::vector<std::string>{"other.example"});
  copy = csr;
  CHECK(copy.subject_alt_names().dns == std::vector<std::string>{kIdentity});
}

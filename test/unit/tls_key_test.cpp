#include <catch2/catch.hpp>

#include <openssl/pem.h>

#include "core/error.h"
#include "core/tls/crypto_util.h"
#include "core/tls/handles.h"
#include "core/tls/key.h"
#include "core/tls/pem.h"
#include "support/tls_fixtures.h"

namespace tls = meshctl::core::tls;
using meshctl::test::openssl_queue_empty;

namespace {

// RFC 8032 section 7.1, TEST 1.
const tls::Bytes kRfc8032Seed = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
                                 0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
                                 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
const char* kRfc8032Public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

std::string error_of(auto&& fn) {
  try {
    fn();
  } catch (const meshctl::core::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("ECDSA P-256 keys are generated fresh", "[tls]") {
  const tls::PrivateKey a = tls::generate_ecdsa_p256();
  const tls::PrivateKey b = tls::generate_ecdsa_p256();
  CHECK(a.algorithm() == tls::KeyAlgorithm::ecdsa_p256);
  CHECK(a.type_name() == "ECDSA P-256");
  CHECK(a.public_key().algorithm() == tls::KeyAlgorithm::ecdsa_p256);
  CHECK_FALSE(a.public_key() == b.public_key());
  CHECK(tls::key_matches(a, a.public_key()));
  CHECK_FALSE(tls::key_matches(a, b.public_key()));
}

TEST_CASE("Ed25519 from a seed is the RFC 8032 key and is deterministic", "[tls]") {
  const tls::PrivateKey key = tls::ed25519_from_seed(kRfc8032Seed);
  CHECK(key.algorithm() == tls::KeyAlgorithm::ed25519);
  CHECK(key.type_name() == "Ed25519");
  const tls::Bytes spki = tls::public_key_to_der(key.public_key());
  REQUIRE(spki.size() == 44);
  CHECK(tls::hex_encode(tls::ByteView(spki).subspan(12)) == kRfc8032Public);

  const tls::PrivateKey again = tls::ed25519_from_seed(kRfc8032Seed);
  CHECK(tls::private_key_to_pem(again) == tls::private_key_to_pem(key));
  CHECK(tls::private_key_to_der(again) == tls::private_key_to_der(key));

  tls::Bytes other_seed = kRfc8032Seed;
  other_seed[0] ^= 1;
  CHECK_FALSE(tls::ed25519_from_seed(other_seed).public_key() == key.public_key());

  CHECK(error_of([] { tls::ed25519_from_seed(tls::Bytes(31, 1)); }) ==
        "Ed25519 key: the seed must be 32 bytes, not 31");
  CHECK_THROWS_AS(tls::ed25519_from_seed(tls::Bytes(33, 1)), meshctl::core::Error);
  CHECK(tls::generate_ed25519().algorithm() == tls::KeyAlgorithm::ed25519);
}

TEST_CASE("private keys round-trip as PKCS#8 PEM and DER", "[tls]") {
  for (const tls::PrivateKey& key : {tls::generate_ecdsa_p256(), tls::ed25519_from_seed(kRfc8032Seed)}) {
    INFO(key.type_name());
    const std::string pem = tls::private_key_to_pem(key);
    CHECK(pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0) == 0);
    const tls::PrivateKey from_pem = tls::private_key_from_pem(pem, "k.pem");
    CHECK(tls::key_matches(from_pem, key.public_key()));
    CHECK(tls::private_key_to_pem(from_pem) == pem);

    const tls::Bytes der = tls::private_key_to_der(key);
    const tls::PrivateKey from_der = tls::private_key_from_der(der, "k.der");
    CHECK(tls::private_key_to_der(from_der) == der);
    CHECK(from_der.type_name() == key.type_name());
  }
  CHECK(openssl_queue_empty());
}

TEST_CASE("traditional EC keys are read, encrypted keys and garbage are refused", "[tls]") {
  const tls::PrivateKey key = tls::generate_ecdsa_p256();
  {
    const tls::BioPtr bio(BIO_new(BIO_s_mem()));
    REQUIRE(PEM_write_bio_PrivateKey_traditional(bio.get(), key.native(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    // What `openssl ecparam -genkey` writes: parameters, then the key.
    const std::string pem = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" +
                            std::string(data, static_cast<std::size_t>(len));
    REQUIRE(pem.find("BEGIN EC PRIVATE KEY") != std::string::npos);
    CHECK(tls::key_matches(tls::private_key_from_pem(pem, "ec.key"), key.public_key()));
  }
  {
    const tls::BioPtr bio(BIO_new(BIO_s_mem()));
    char password[] = "secret";
    REQUIRE(PEM_write_bio_PKCS8PrivateKey(bio.get(), key.native(), EVP_aes_256_cbc(), password, 6, nullptr,
                                          nullptr) == 1);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    CHECK(error_of([&] { tls::private_key_from_pem(std::string(data, static_cast<std::size_t>(len)), "enc.key"); }) ==
          "enc.key: the private key is encrypted; meshctl needs an unencrypted key");
  }
  CHECK(error_of([] { tls::private_key_from_pem("hello\n", "issuer.key"); }) == "issuer.key: not a PEM private key");
  const std::string cert_pem = tls::certificate_to_pem(meshctl::test::make_pki().root);
  CHECK(error_of([&] { tls::private_key_from_pem(cert_pem, "issuer.key"); }) ==
        "issuer.key: not a PEM private key (found CERTIFICATE)");
  const std::string two = tls::private_key_to_pem(key) + tls::private_key_to_pem(key);
  CHECK(error_of([&] { tls::private_key_from_pem(two, "two.key"); }) == "two.key: more than one private key");
  std::string broken = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  CHECK(error_of([&] { tls::private_key_from_pem(broken, "bad.key"); }).rfind("bad.key: malformed PRIVATE KEY", 0) == 0);
  CHECK(error_of([] { tls::private_key_from_der(tls::Bytes{1, 2, 3}, "k.der"); }).rfind("k.der: not a DER private key", 0) == 0);
  CHECK(openssl_queue_empty());
}

TEST_CASE("public keys round-trip and a public key cannot pose as a private one", "[tls]") {
  const tls::PrivateKey key = tls::generate_ecdsa_p256();
  const tls::PublicKey pub = key.public_key();
  const std::string pem = tls::public_key_to_pem(pub);
  CHECK(pem.rfind("-----BEGIN PUBLIC KEY-----\n", 0) == 0);
  CHECK(tls::public_key_from_pem(pem, "pub.pem") == pub);
  CHECK(tls::public_key_from_der(tls::public_key_to_der(pub), "pub.der") == pub);
  CHECK_THROWS_AS(tls::public_key_from_pem(tls::private_key_to_pem(key), "pub.pem"), meshctl::core::Error);

  // The public copy holds no private material.
  tls::EvpPkeyPtr raw(EVP_PKEY_dup(pub.native()));
  REQUIRE(raw);
  CHECK(error_of([&] { tls::PrivateKey{std::move(raw)}; }) == "private key: the key has no private part");
  CHECK(openssl_queue_empty());
}

TEST_CASE("keys are shared by copies", "[tls]") {
  const tls::PrivateKey key = tls::generate_ecdsa_p256();
  tls::PrivateKey copy = key;
  CHECK(copy.native() == key.native());
  tls::PrivateKey other = tls::generate_ed25519();
  other = copy;
  CHECK(tls::key_matches(other, key.public_key()));
  tls::PublicKey pub = key.public_key();
  tls::PublicKey pub_copy = pub;
  CHECK(pub_copy == pub);
}

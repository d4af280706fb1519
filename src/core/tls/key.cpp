#include "core/tls/key.h"

#include <openssl/core_names.h>
#include <openssl/x509.h>

#include "core/error.h"
#include "core/tls/openssl_error.h"

namespace meshctl::core::tls {

namespace {

EvpPkeyPtr share(EVP_PKEY* pkey) {
  if (pkey != nullptr && EVP_PKEY_up_ref(pkey) != 1) throw_openssl_error("copying a key");
  return EvpPkeyPtr(pkey);
}

KeyAlgorithm algorithm_of(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "ED25519")) return KeyAlgorithm::ed25519;
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = {};
    std::size_t len = 0;
    const bool named = EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) == 1;
    clear_openssl_errors();
    if (named && std::string_view(group, len) == "prime256v1") return KeyAlgorithm::ecdsa_p256;
  }
  return KeyAlgorithm::other;
}

std::string type_name_of(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "ED25519")) return "Ed25519";
  if (EVP_PKEY_is_a(pkey, "ED448")) return "Ed448";
  if (EVP_PKEY_is_a(pkey, "RSA")) return "RSA " + std::to_string(EVP_PKEY_get_bits(pkey));
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = {};
    std::size_t len = 0;
    const bool named = EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) == 1;
    clear_openssl_errors();
    const std::string_view g(group, named ? len : 0);
    if (g == "prime256v1") return "ECDSA P-256";
    if (g == "secp384r1") return "ECDSA P-384";
    if (g == "secp521r1") return "ECDSA P-521";
    return named ? "ECDSA " + std::string(g) : "ECDSA (explicit curve)";
  }
  const char* name = EVP_PKEY_get0_type_name(pkey);
  return name != nullptr ? name : "unknown";
}

// OpenSSL 3.0 has no public "is this a key pair" query, so ask for the private component by
// the name each key type gives it.
bool has_private_part(EVP_PKEY* pkey) {
  bool has = true;
  if (EVP_PKEY_is_a(pkey, "ED25519") || EVP_PKEY_is_a(pkey, "ED448") || EVP_PKEY_is_a(pkey, "X25519") ||
      EVP_PKEY_is_a(pkey, "X448")) {
    std::size_t len = 0;
    has = EVP_PKEY_get_raw_private_key(pkey, nullptr, &len) == 1 && len > 0;
  } else if (EVP_PKEY_is_a(pkey, "EC") || EVP_PKEY_is_a(pkey, "RSA")) {
    BIGNUM* bn = nullptr;
    const char* param = EVP_PKEY_is_a(pkey, "EC") ? OSSL_PKEY_PARAM_PRIV_KEY : OSSL_PKEY_PARAM_RSA_D;
    has = EVP_PKEY_get_bn_param(pkey, param, &bn) == 1 && bn != nullptr;
    BN_clear_free(bn);
  }
  clear_openssl_errors();
  return has;
}

}  // namespace

PublicKey::PublicKey(EvpPkeyPtr pkey) : pkey_(std::move(pkey)) {
  if (!pkey_) throw Error("public key: no key");
}

PublicKey::PublicKey(const PublicKey& other) : pkey_(share(other.pkey_.get())) {}

PublicKey& PublicKey::operator=(const PublicKey& other) {
  if (this != &other) pkey_ = share(other.pkey_.get());
  return *this;
}

KeyAlgorithm PublicKey::algorithm() const { return algorithm_of(pkey_.get()); }

std::string PublicKey::type_name() const { return type_name_of(pkey_.get()); }

bool operator==(const PublicKey& a, const PublicKey& b) {
  if (a.pkey_ == nullptr || b.pkey_ == nullptr) return a.pkey_ == b.pkey_;
  const bool equal = EVP_PKEY_eq(a.pkey_.get(), b.pkey_.get()) == 1;
  clear_openssl_errors();  // keys of different types "fail" to compare
  return equal;
}

PrivateKey::PrivateKey(EvpPkeyPtr pkey) : pkey_(std::move(pkey)) {
  if (!pkey_) throw Error("private key: no key");
  if (!has_private_part(pkey_.get())) throw Error("private key: the key has no private part");
}

PrivateKey::PrivateKey(const PrivateKey& other) : pkey_(share(other.pkey_.get())) {}

PrivateKey& PrivateKey::operator=(const PrivateKey& other) {
  if (this != &other) pkey_ = share(other.pkey_.get());
  return *this;
}

KeyAlgorithm PrivateKey::algorithm() const { return algorithm_of(pkey_.get()); }

std::string PrivateKey::type_name() const { return type_name_of(pkey_.get()); }

PublicKey PrivateKey::public_key() const { return public_key_of(*this); }

PrivateKey generate_ecdsa_p256() {
  EvpPkeyPtr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!pkey) throw_openssl_error("generating an ECDSA P-256 key");
  return PrivateKey(std::move(pkey));
}

PrivateKey generate_ed25519() {
  EvpPkeyPtr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!pkey) throw_openssl_error("generating an Ed25519 key");
  return PrivateKey(std::move(pkey));
}

PrivateKey ed25519_from_seed(ByteView seed) {
  if (seed.size() != 32) {
    throw Error("Ed25519 key: the seed must be 32 bytes, not " + std::to_string(seed.size()));
  }
  EvpPkeyPtr pkey(EVP_PKEY_new_raw_private_key_ex(nullptr, "ED25519", nullptr, seed.data(), seed.size()));
  if (!pkey) throw_openssl_error("Ed25519 key from seed");
  return PrivateKey(std::move(pkey));
}

PublicKey public_key_of(const PrivateKey& key) {
  // A round trip through SubjectPublicKeyInfo leaves no private material in the copy.
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key.native(), &der);
  if (len <= 0) throw_openssl_error("extracting the public key");
  const unsigned char* p = der;
  EvpPkeyPtr pub(d2i_PUBKEY(nullptr, &p, len));
  OPENSSL_free(der);
  if (!pub) throw_openssl_error("extracting the public key");
  return PublicKey(std::move(pub));
}

bool key_matches(const PrivateKey& key, const PublicKey& pub) {
  const bool equal = EVP_PKEY_eq(key.native(), pub.native()) == 1;
  clear_openssl_errors();
  return equal;
}

}  // namespace meshctl::core::tls

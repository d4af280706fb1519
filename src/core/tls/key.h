#pragma once
// Private and public keys. The mesh uses ECDSA P-256 for every certificate it issues at run time;
// install can derive an Ed25519 key from seed bytes so that its output is byte-for-byte
// reproducible (Ed25519 signatures are deterministic, ECDSA ones are not).

#include <string>

#include "core/tls/bytes.h"
#include "core/tls/handles.h"

namespace meshctl::core::tls {

enum class KeyAlgorithm { ecdsa_p256, ed25519, other };

// A public key (no private part needed). Copies share the underlying EVP_PKEY, which OpenSSL
// treats as immutable once built.
class PublicKey {
 public:
  // Takes ownership; throws core::Error on a null pointer.
  explicit PublicKey(EvpPkeyPtr pkey);
  PublicKey(const PublicKey& other);
  PublicKey& operator=(const PublicKey& other);
  PublicKey(PublicKey&&) noexcept = default;
  PublicKey& operator=(PublicKey&&) noexcept = default;

  EVP_PKEY* native() const noexcept { return pkey_.get(); }
  KeyAlgorithm algorithm() const;
  // "ECDSA P-256", "Ed25519", "RSA 2048", or OpenSSL's type name for anything else.
  std::string type_name() const;

  // Same key material (EVP_PKEY_eq).
  friend bool operator==(const PublicKey& a, const PublicKey& b);

 private:
  EvpPkeyPtr pkey_;
};

// A private key. Copies share the underlying EVP_PKEY.
class PrivateKey {
 public:
  // Takes ownership; throws core::Error on a null pointer or a key without a private part.
  explicit PrivateKey(EvpPkeyPtr pkey);
  PrivateKey(const PrivateKey& other);
  PrivateKey& operator=(const PrivateKey& other);
  PrivateKey(PrivateKey&&) noexcept = default;
  PrivateKey& operator=(PrivateKey&&) noexcept = default;

  EVP_PKEY* native() const noexcept { return pkey_.get(); }
  KeyAlgorithm algorithm() const;
  std::string type_name() const;
  PublicKey public_key() const;

 private:
  EvpPkeyPtr pkey_;
};

// A fresh ECDSA P-256 key (named curve, uncompressed points).
PrivateKey generate_ecdsa_p256();

// A fresh Ed25519 key.
PrivateKey generate_ed25519();

// The Ed25519 key whose RFC 8032 private key is `seed`; the same seed always gives the same key.
// Throws core::Error unless `seed` is exactly 32 bytes.
PrivateKey ed25519_from_seed(ByteView seed);

// The public half of `key`.
PublicKey public_key_of(const PrivateKey& key);

// True when `key` is the private half of `pub`.
bool key_matches(const PrivateKey& key, const PublicKey& pub);

}  // namespace meshctl::core::tls

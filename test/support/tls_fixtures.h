#pragma once
// A small PKI for the TLS tests: root -> issuer -> workload leaf, with fixed times so tests can
// check validity at chosen instants.

#include <openssl/err.h>

#include <string>

#include "core/tls/certificate.h"
#include "core/tls/issue.h"
#include "core/tls/key.h"
#include "core/tls/validity.h"

namespace meshctl::test {

namespace tls = meshctl::core::tls;

// 2024-01-01T00:00:00Z and friends.
inline tls::Time t2024() { return tls::from_unix_seconds(1704067200); }
inline tls::Time days_after(tls::Time t, int days) { return t + std::chrono::hours(24 * days); }

inline const std::string kIdentity = "web.default.serviceaccount.identity.meshctl.cluster.local";
inline const std::string kSpiffe = "spiffe://cluster.local/ns/default/sa/web";

struct Pki {
  tls::PrivateKey root_key;
  tls::Certificate root;
  tls::PrivateKey issuer_key;
  tls::Certificate issuer;
  tls::PrivateKey leaf_key;
  tls::Certificate leaf;
};

// Root valid 2024-01-01 + 10 years, issuer 2024-01-01 + 1 year, leaf 2024-01-10 for 1 day.
inline Pki make_pki(const std::string& root_cn = "root.meshctl.cluster.local") {
  tls::PrivateKey root_key = tls::generate_ecdsa_p256();
  tls::Certificate root = tls::make_root_ca(
      root_key, {root_cn, {t2024(), days_after(t2024(), 3650)}, tls::SerialNumber::from_uint64(1)});
  tls::PrivateKey issuer_key = tls::generate_ecdsa_p256();
  tls::Certificate issuer = tls::make_intermediate_ca(
      issuer_key.public_key(),
      {"identity.meshctl.cluster.local", {t2024(), days_after(t2024(), 365)}, tls::SerialNumber::from_uint64(2)},
      root, root_key);
  tls::PrivateKey leaf_key = tls::generate_ecdsa_p256();
  tls::LeafOptions leaf_options;
  leaf_options.dns_name = kIdentity;
  leaf_options.spiffe_id = kSpiffe;
  leaf_options.validity = {days_after(t2024(), 9), days_after(t2024(), 10)};
  leaf_options.serial = tls::SerialNumber::random();
  tls::Certificate leaf = tls::issue_leaf(leaf_key.public_key(), leaf_options, issuer, issuer_key);
  return {root_key, root, issuer_key, issuer, leaf_key, leaf};
}

// No test may leave OpenSSL errors behind: they would be blamed on the next call.
inline bool openssl_queue_empty() { return ERR_peek_error() == 0; }

}  // namespace meshctl::test

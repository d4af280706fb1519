#pragma once
// The issuer the identity service signs with, loaded from files (a mounted Secret in a cluster)
// and replaced without a restart when the files change. A bad new issuer is refused with a log
// line and the previous one keeps signing.

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "core/tls/certificate.h"
#include "core/tls/key.h"
#include "core/tls/validity.h"

namespace meshctl::controlplane::identity {

struct IssuerFiles {
  std::string trust_anchors;  // PEM bundle
  std::string certificate;    // PEM: the issuer, optionally followed by intermediates
  std::string key;            // PEM private key of the issuer
};

struct Issuer {
  core::tls::CertificateBundle chain;  // chain[0] is the issuer
  core::tls::PrivateKey key;
  core::tls::CertificateBundle trust_anchors;
  std::string chain_pem;               // what certify returns as the chain
  std::string fingerprint;             // SHA-256 of chain[0]
};

class IssuerStore {
 public:
  using Clock = std::function<core::tls::Time()>;
  IssuerStore(IssuerFiles files, Clock clock);

  // Loads the files. Throws core::Error naming the file and problem; used at start-up.
  void load();
  // Re-reads the files and swaps in the new issuer when their content changed and it is valid.
  // Returns true when the issuer was replaced. Never throws: a bad issuer is logged and refused.
  bool reload_if_changed();
  // The issuer in force; null before a successful load().
  std::shared_ptr<const Issuer> current() const { return current_.load(); }

 private:
  std::shared_ptr<const Issuer> read_and_check(std::string& content_digest) const;

  IssuerFiles files_;
  Clock clock_;
  std::string loaded_digest_;  // of the three files' bytes, to notice changes cheaply
  std::atomic<std::shared_ptr<const Issuer>> current_;
};

}  // namespace meshctl::controlplane::identity

#include "controlplane/identity/issuer_store.h"

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/log/log.h"
#include "core/tls/crypto_util.h"
#include "core/tls/pem.h"
#include "core/tls/verify.h"

namespace meshctl::controlplane::identity {
namespace tls = core::tls;

namespace {
std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw core::Error(path + ": cannot read file");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

IssuerStore::IssuerStore(IssuerFiles files, Clock clock) : files_(std::move(files)), clock_(std::move(clock)) {}

std::shared_ptr<const Issuer> IssuerStore::read_and_check(std::string& content_digest) const {
  const std::string anchors_pem = read_all(files_.trust_anchors);
  const std::string cert_pem = read_all(files_.certificate);
  const std::string key_pem = read_all(files_.key);
  content_digest = tls::sha256_hex(anchors_pem + "\n--\n" + cert_pem + "\n--\n" + key_pem);

  auto anchors = tls::bundle_from_pem(anchors_pem, files_.trust_anchors);
  auto chain = tls::bundle_from_pem(cert_pem, files_.certificate);
  auto key = tls::private_key_from_pem(key_pem, files_.key);
  if (!chain[0].is_ca()) throw core::Error(files_.certificate + ": the issuer certificate is not a CA");
  if (!tls::key_matches_certificate(key, chain[0])) {
    throw core::Error(files_.key + ": the key does not match the issuer certificate in " + files_.certificate);
  }
  const std::span<const tls::Certificate> intermediates(chain.data() + 1, chain.size() - 1);
  const auto verdict = tls::verify_certificate(chain[0], intermediates, anchors, {clock_(), std::nullopt, false});
  if (!verdict.ok()) {
    // An issuer past its dates is loaded so the service can say exactly why it refuses to sign.
    if (verdict.status != tls::VerifyStatus::expired && verdict.status != tls::VerifyStatus::not_yet_valid) {
      throw core::Error(files_.certificate + ": the issuer does not chain to the trust anchors in " +
                        files_.trust_anchors + ": " + verdict.reason);
    }
    core::log::warn("identity", files_.certificate + ": " + verdict.reason);
  }
  auto issuer = std::make_shared<Issuer>(Issuer{chain, key, anchors, tls::bundle_to_pem(chain),
                                                chain[0].sha256_fingerprint()});
  return issuer;
}

void IssuerStore::load() {
  std::string digest;
  auto issuer = read_and_check(digest);
  loaded_digest_ = digest;
  current_.store(std::move(issuer));
}

bool IssuerStore::reload_if_changed() {
  std::string digest;
  try {
    // Cheap check first: unchanged bytes need no parsing.
    const std::string now = tls::sha256_hex(read_all(files_.trust_anchors) + "\n--\n" + read_all(files_.certificate) +
                                            "\n--\n" + read_all(files_.key));
    if (now == loaded_digest_) return false;
    auto issuer = read_and_check(digest);
    loaded_digest_ = digest;
    current_.store(std::move(issuer));
    core::log::info("identity", "issuer replaced from " + files_.certificate + " (sha256 " +
                                    current()->fingerprint.substr(0, 16) + ")");
    return true;
  } catch (const std::exception& e) {
    // Remember the bad content so the same files are not re-parsed and logged every poll.
    if (!digest.empty()) loaded_digest_ = digest;
    core::log::error("identity", std::string("new issuer refused, keeping the previous one: ") + e.what());
    return false;
  }
}

}  // namespace meshctl::controlplane::identity

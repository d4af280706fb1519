#include "core/identity/identity_client.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "core/error.h"
#include "core/log/log.h"
#include "core/net/https_post.h"
#include "core/tls/csr.h"
#include "core/tls/pem.h"
#include "core/tls/verify.h"

namespace meshctl::core::identity {
namespace {

std::string read_token(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot read the service-account token");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string t = ss.str();
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  if (t.empty()) throw Error(path + ": the service-account token is empty");
  return t;
}

std::shared_ptr<SSL_CTX> base_context(const SSL_METHOD* method, const tls::PrivateKey& key, const tls::Certificate& leaf,
                                      const tls::CertificateBundle& chain, const tls::CertificateBundle& anchors) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(method), SSL_CTX_free);
  if (!ctx) throw Error("cannot create a TLS context");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  if (SSL_CTX_use_certificate(ctx.get(), leaf.native()) != 1 || SSL_CTX_use_PrivateKey(ctx.get(), key.native()) != 1) {
    throw Error("cannot load the workload certificate into a TLS context");
  }
  for (const auto& c : chain) {
    if (SSL_CTX_add1_chain_cert(ctx.get(), c.native()) != 1) throw Error("cannot add the issuer chain to a TLS context");
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
  for (const auto& a : anchors) X509_STORE_add_cert(store, a.native());
  return ctx;
}

}  // namespace

std::shared_ptr<SSL_CTX> make_server_context(const tls::PrivateKey& key, const tls::Certificate& leaf,
                                             const tls::CertificateBundle& chain,
                                             const tls::CertificateBundle& anchors) {
  auto ctx = base_context(TLS_server_method(), key, leaf, chain, anchors);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return ctx;
}

std::shared_ptr<SSL_CTX> make_client_context(const tls::PrivateKey& key, const tls::Certificate& leaf,
                                             const tls::CertificateBundle& chain,
                                             const tls::CertificateBundle& anchors) {
  auto ctx = base_context(TLS_client_method(), key, leaf, chain, anchors);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  return ctx;
}

IdentityClient::IdentityClient(IdentityClientOptions options, Clock clock)
    : options_(std::move(options)), clock_(std::move(clock)), key_(tls::generate_ecdsa_p256()) {
  if (!clock_) clock_ = [] { return std::chrono::system_clock::now(); };
  if (options_.trust_anchors.empty()) throw Error("identity client: no trust anchors");
}

IdentityClient::~IdentityClient() { stop(); }

std::shared_ptr<const CertifiedIdentity> IdentityClient::certify_once() {
  const auto csr = tls::create_csr(key_, options_.local_identity);
  nlohmann::json body = {{"identity", options_.local_identity},
                         {"token", read_token(options_.token_file)},
                         {"csr", tls::csr_to_pem(csr)}};
  net::HttpsPostRequest req;
  req.address = options_.identity_addr;
  req.server_name = options_.identity_server_name;
  req.trust_anchors = options_.trust_anchors;
  req.path = "/v1/certify";
  req.body = body.dump();
  req.timeout = options_.request_timeout;
  const auto resp = net::https_post(req);
  const auto json = nlohmann::json::parse(resp.body, nullptr, false);
  if (resp.status != 200) {
    const std::string why = json.is_object() && json.contains("error") && json["error"].is_string()
                                ? json["error"].get<std::string>()
                                : "HTTP " + std::to_string(resp.status);
    throw Error("identity service refused the certificate (" + std::to_string(resp.status) + "): " + why);
  }
  if (!json.is_object() || !json.contains("leaf") || !json.contains("chain") || !json["leaf"].is_string() ||
      !json["chain"].is_string()) {
    throw Error("identity service answered without leaf and chain");
  }
  auto leaf = tls::certificate_from_pem(json["leaf"].get<std::string>(), "certified leaf");
  auto chain = tls::bundle_from_pem(json["chain"].get<std::string>(), "certified chain");
  // Trust nothing the service sent until it verifies under our own anchors as our identity.
  tls::require_valid_certificate("certificate from the identity service", leaf, chain, options_.trust_anchors,
                                 {clock_(), options_.local_identity, false});
  if (!tls::key_matches_certificate(key_, leaf)) throw Error("identity service returned a certificate for another key");

  auto id = std::make_shared<CertifiedIdentity>(CertifiedIdentity{
      key_, leaf, chain, leaf.not_after(), make_server_context(key_, leaf, chain, options_.trust_anchors),
      make_client_context(key_, leaf, chain, options_.trust_anchors)});
  current_.store(id);
  renewals_.fetch_add(1);
  cv_.notify_all();
  return id;
}

bool IdentityClient::wait_ready(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return current_.load() != nullptr || stopping_; }) && current_.load();
}

void IdentityClient::start() {
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void IdentityClient::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void IdentityClient::run() {
  std::mt19937_64 rng(std::random_device{}());
  auto backoff = options_.retry_initial;
  for (;;) {
    std::chrono::milliseconds wait;
    try {
      const auto id = certify_once();
      backoff = options_.retry_initial;
      const auto life = id->valid_until - id->leaf.not_before();
      std::uniform_real_distribution<double> jitter(0, options_.jitter_fraction);
      const double fraction = std::max(0.0, options_.renew_fraction - jitter(rng));
      const auto renew_at = id->leaf.not_before() +
                            std::chrono::duration_cast<std::chrono::system_clock::duration>(life * fraction);
      wait = std::max(options_.min_refresh,
                      std::chrono::duration_cast<std::chrono::milliseconds>(renew_at - clock_()));
      log::info("identity-client", "certified as " + options_.local_identity + " until " +
                                       tls::format_rfc3339(id->valid_until));
    } catch (const std::exception& e) {
      log::warn("identity-client", std::string("certify failed, retrying: ") + e.what());
      wait = backoff;
      backoff = std::min(options_.retry_max, backoff * 2);
    }
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, wait, [&] { return stopping_; })) return;
  }
}

}  // namespace meshctl::core::identity

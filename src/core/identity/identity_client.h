#pragma once
// The proxy's side of identity: generates its key in memory, asks the identity service for a
// certificate with its service-account token, keeps the certificate current (renewal at 70% of
// its life with jitter, retries with backoff), and hands the data plane TLS contexts built from
// it. A renewal builds new contexts; connections already established keep the context they
// started with (OpenSSL counts references), so nothing is dropped.

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/tls/certificate.h"
#include "core/tls/key.h"
#include "core/tls/validity.h"

namespace meshctl::core::identity {

struct IdentityClientOptions {
  std::string identity_addr;         // "host:port" of the identity service
  std::string identity_server_name;  // the identity the service must prove
  std::string local_identity;        // the identity to ask for
  std::string token_file;            // read before every request (projected tokens rotate)
  tls::CertificateBundle trust_anchors;
  double renew_fraction = 0.7;                       // of the certificate's lifetime
  double jitter_fraction = 0.1;                      // renew up to this much of the life earlier
  std::chrono::milliseconds min_refresh{1000};       // never renew more often than this
  std::chrono::milliseconds retry_initial{500};      // backoff after a failure...
  std::chrono::milliseconds retry_max{30000};        // ...doubling up to this
  std::chrono::milliseconds request_timeout{10000};
};

// What the data plane uses: the current certificate and TLS contexts built from it.
struct CertifiedIdentity {
  tls::PrivateKey key;
  tls::Certificate leaf;
  tls::CertificateBundle chain;  // intermediates, leaf excluded
  tls::Time valid_until;
  // Server side: requires and verifies a client certificate under the anchors (TLS 1.3).
  std::shared_ptr<SSL_CTX> server_context;
  // Client side: presents the certificate, verifies the server under the anchors. Callers set
  // the expected server identity per connection (SSL_set1_host).
  std::shared_ptr<SSL_CTX> client_context;
};

class IdentityClient {
 public:
  using Clock = std::function<tls::Time()>;
  explicit IdentityClient(IdentityClientOptions options, Clock clock = {});
  ~IdentityClient();
  IdentityClient(const IdentityClient&) = delete;
  IdentityClient& operator=(const IdentityClient&) = delete;

  // Starts the background renewal loop; the first certificate is requested at once.
  void start();
  void stop();

  // The identity in force, or null until the first certificate arrived. Lock-free.
  std::shared_ptr<const CertifiedIdentity> current() const { return current_.load(); }
  // Blocks until a certificate is held or `timeout` passes; true when one is held.
  bool wait_ready(std::chrono::milliseconds timeout);

  // One certify exchange now (used by the loop and by `meshctl identity certify`). Throws
  // core::Error with the service's reason on refusal.
  std::shared_ptr<const CertifiedIdentity> certify_once();

  // How many certificates this client has obtained.
  std::uint64_t renewals() const { return renewals_.load(); }

 private:
  void run();

  IdentityClientOptions options_;
  Clock clock_;
  tls::PrivateKey key_;
  std::atomic<std::shared_ptr<const CertifiedIdentity>> current_;
  std::atomic<std::uint64_t> renewals_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// TLS contexts for a certified identity (exposed for tests and the proxy).
std::shared_ptr<SSL_CTX> make_server_context(const tls::PrivateKey& key, const tls::Certificate& leaf,
                                             const tls::CertificateBundle& chain, const tls::CertificateBundle& anchors);
std::shared_ptr<SSL_CTX> make_client_context(const tls::PrivateKey& key, const tls::Certificate& leaf,
                                             const tls::CertificateBundle& chain, const tls::CertificateBundle& anchors);

}  // namespace meshctl::core::identity

#include "controlplane/identity/identity_server.h"

#include <httplib.h>
#include <openssl/ssl.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/error.h"
#include "core/identity/identity_name.h"
#include "core/log/log.h"
#include "core/metrics/registry.h"
#include "core/net/host_port.h"
#include "core/tls/key.h"
#include "core/tls/pem.h"

namespace meshctl::controlplane::identity {
namespace tls = core::tls;

namespace {

// The serving certificate in force, swapped whole when renewed or when the issuer changes.
struct ServingCert {
  X509* leaf = nullptr;
  EVP_PKEY* key = nullptr;
  STACK_OF(X509)* chain = nullptr;
  tls::Time not_before, not_after;
  std::string issuer_fingerprint;
  ~ServingCert() {
    X509_free(leaf);
    EVP_PKEY_free(key);
    sk_X509_pop_free(chain, X509_free);
  }
};

std::shared_ptr<const ServingCert> make_serving_cert(Certifier& certifier, const std::string& identity,
                                                     const std::string& issuer_fingerprint) {
  auto key = tls::generate_ecdsa_p256();
  const auto issued = certifier.issue_for_self(key, identity);
  const auto leaf = tls::certificate_from_pem(issued.leaf_pem, "serving certificate");
  const auto chain = tls::bundle_from_pem(issued.chain_pem, "issuer chain");
  auto sc = std::make_shared<ServingCert>();
  X509_up_ref(leaf.native());
  sc->leaf = leaf.native();
  EVP_PKEY_up_ref(key.native());
  sc->key = key.native();
  sc->chain = sk_X509_new_null();
  for (const auto& c : chain) {
    X509_up_ref(c.native());
    sk_X509_push(sc->chain, c.native());
  }
  sc->not_before = leaf.not_before();
  sc->not_after = leaf.not_after();
  sc->issuer_fingerprint = issuer_fingerprint;
  return sc;
}

std::atomic<std::shared_ptr<const ServingCert>> g_serving;  // read by the TLS handshake callback

int select_certificate(SSL* ssl, void*) {
  const auto sc = g_serving.load();
  if (!sc) return 0;
  if (SSL_use_certificate(ssl, sc->leaf) != 1 || SSL_use_PrivateKey(ssl, sc->key) != 1) return 0;
  if (SSL_set1_chain(ssl, sc->chain) != 1) return 0;
  return 1;
}

// Refusals made by the HTTP layer itself, in the same JSON shape as the certifier's.
void json_error(httplib::Response& res, int status, const std::string& reason, const std::string& message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", message}, {"check", "request"}, {"reason", reason}}.dump(),
                  "application/json");
}

}  // namespace

int run_identity_server(const IdentityServerOptions& options, std::unique_ptr<core::identity::TokenValidator> tokens) {
  const auto listen = core::net::parse_host_port(options.listen_addr, "--addr");
  const auto admin = core::net::parse_host_port(options.admin_addr, "--admin-addr");
  const std::string self_identity =
      options.self_identity.empty()
          ? core::identity::identity_name({options.certifier.mesh_namespace, "meshctl-identity"},
                                          options.certifier.mesh_namespace, options.certifier.trust_domain)
          : options.self_identity;

  auto clock = [] { return std::chrono::system_clock::now(); };
  IssuerStore issuers(options.issuer_files, clock);
  issuers.load();
  if (const auto& issuer = issuers.current()->chain[0]; clock() >= issuer.not_after()) {
    throw core::Error(options.issuer_files.certificate + ": the issuer expired at " +
                      tls::format_rfc3339(issuer.not_after()) + "; nothing it signs would be trusted");
  }

  core::metrics::Registry metrics;
  Certifier certifier(options.certifier, issuers, *tokens, metrics, clock);
  auto& expiry = metrics.gauge("identity_issuer_expiry_timestamp_seconds",
                               "When the issuer certificate in force expires, in seconds since the epoch");
  auto& rotations = metrics.counter("identity_issuer_rotations_total", "Issuers replaced from disk without a restart");
  metrics.counter("identity_certificates_issued_total", "Workload certificates issued");
  auto update_expiry = [&] {
    if (auto i = issuers.current()) expiry.set(double(tls::to_unix_seconds(i->chain[0].not_after())));
  };
  update_expiry();
  g_serving.store(make_serving_cert(certifier, self_identity, issuers.current()->fingerprint));

  // Signals are taken synchronously by one thread; the servers' threads never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  httplib::SSLServer api([](SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_3_VERSION);
    SSL_CTX_set_cert_cb(&ctx, select_certificate, nullptr);
    return true;
  });
  if (!api.is_valid()) throw core::Error("identity: cannot set up TLS");
  api.set_payload_max_length(options.max_body_bytes);
  api.set_read_timeout(10);
  api.set_write_timeout(10);
  api.Post("/v1/certify", [&](const httplib::Request& req, httplib::Response& res) {
    const auto outcome = certifier.certify(req.body);
    res.status = outcome.status;
    res.set_content(outcome.body, "application/json");
    if (outcome.status == 200) {
      core::log::info("identity", outcome.detail);
    } else {
      core::log::warn("identity", "certify refused (" + outcome.failed_check + ", " + req.remote_addr + "): " +
                                      outcome.detail);
    }
  });
  api.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    switch (res.status) {
      case 413: json_error(res, 413, "too_large", "the request body is larger than the limit"); break;
      case 404: json_error(res, 404, "not_found", "unknown path; POST /v1/certify"); break;
      case 405: json_error(res, 405, "method", "method not allowed; POST /v1/certify"); break;
      default: json_error(res, res.status, "bad_request", "bad request"); break;
    }
  });

  std::atomic<bool> ready{false};
  httplib::Server admin_server;
  admin_server.Get("/live", [](const httplib::Request&, httplib::Response& res) { res.set_content("live\n", "text/plain"); });
  admin_server.Get("/ready", [&](const httplib::Request&, httplib::Response& res) {
    const bool ok = ready.load() && issuers.current();
    res.status = ok ? 200 : 503;
    res.set_content(ok ? "ready\n" : "not ready\n", "text/plain");
  });
  admin_server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.render(), "text/plain; version=0.0.4");
  });

  const int api_port = listen.port ? (api.bind_to_port(listen.host, listen.port) ? listen.port : -1)
                                   : api.bind_to_any_port(listen.host);
  if (api_port <= 0) throw core::Error("identity: cannot listen on " + listen.to_string());
  const int admin_port = admin.port ? (admin_server.bind_to_port(admin.host, admin.port) ? admin.port : -1)
                                    : admin_server.bind_to_any_port(admin.host);
  if (admin_port <= 0) throw core::Error("identity: cannot listen on " + admin.to_string() + " (admin)");

  std::thread api_thread([&] { api.listen_after_bind(); });
  std::thread admin_thread([&] { admin_server.listen_after_bind(); });
  core::log::info("identity", "serving certify on https://" + core::net::HostPort{listen.host, api_port}.to_string() +
                                  " as " + self_identity);
  core::log::info("identity", "admin on http://" + core::net::HostPort{admin.host, admin_port}.to_string());
  ready.store(true);

  // Maintenance: pick up a new issuer from disk, renew the serving certificate at 70% of its life.
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread maintenance([&] {
    std::unique_lock lock(mu);
    while (!cv.wait_for(lock, options.reload_interval, [&] { return stopping; })) {
      const bool rotated = issuers.reload_if_changed();
      if (rotated) rotations.inc();
      update_expiry();
      const auto sc = g_serving.load();
      const auto now = std::chrono::system_clock::now();
      const auto renew_at = sc->not_before + (sc->not_after - sc->not_before) * 7 / 10;
      if (rotated || now >= renew_at) {
        try {
          g_serving.store(make_serving_cert(certifier, self_identity, issuers.current()->fingerprint));
          core::log::info("identity", "serving certificate renewed");
        } catch (const std::exception& e) {
          core::log::error("identity", std::string("cannot renew the serving certificate: ") + e.what());
        }
      }
    }
  });

  int sig = 0;
  sigwait(&signals, &sig);
  core::log::info("identity", std::string("shutting down on ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT"));
  ready.store(false);
  {
    std::lock_guard lock(mu);
    stopping = true;
  }
  cv.notify_all();
  api.stop();
  admin_server.stop();
  api_thread.join();
  admin_thread.join();
  maintenance.join();
  g_serving.store(std::shared_ptr<const ServingCert>());
  return 0;
}

}  // namespace meshctl::controlplane::identity

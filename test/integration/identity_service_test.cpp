// The identity service as a real process on loopback: operator tools make the anchor, issuer,
// token key and tokens; the service answers certify; every refusal has its status and the
// service keeps serving afterwards.
#include <openssl/x509v3.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "core/error.h"
#include "core/identity/identity_client.h"
#include "core/identity/jwt.h"
#include "core/net/https_post.h"
#include "core/tls/csr.h"
#include "core/tls/files.h"
#include "core/tls/issue.h"
#include "core/tls/pem.h"
#include "core/tls/verify.h"
#include "support/process.h"

using namespace meshctl;
namespace net = meshctl::core::net;
using meshctl::test::Process;
using meshctl::test::run_command;
using meshctl::test::TempDir;
namespace tls = core::tls;
using namespace std::chrono_literals;

namespace {

const std::string kBinary = MESHCTL_BINARY;
const std::string kServer = "meshctl-identity.meshctl.serviceaccount.identity.meshctl.cluster.local";
const std::string kWeb = "web.default.serviceaccount.identity.meshctl.cluster.local";

void must(const std::vector<std::string>& argv) {
  const auto r = run_command(argv);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

// Anchor, issuer and token key made with the operator tools, as a user would.
struct Pki {
  TempDir dir;
  Pki() {
    must({kBinary, "identity", "create-anchor", "--cert", dir.file("ca.crt"), "--key", dir.file("ca.key")});
    must({kBinary, "identity", "create-issuer", "--anchor-cert", dir.file("ca.crt"), "--anchor-key", dir.file("ca.key"),
          "--cert", dir.file("issuer.crt"), "--key", dir.file("issuer.key")});
    must({kBinary, "identity", "create-token-key", "--private-key", dir.file("token.key"), "--public-key",
          dir.file("token.pub")});
  }
  std::string token(const std::string& ns, const std::string& sa, const std::string& extra_flags = "") {
    std::vector<std::string> argv{kBinary, "identity", "create-token", "--key", dir.file("token.key"), "--namespace", ns,
                                  "--service-account", sa};
    if (!extra_flags.empty()) {
      argv.push_back("--audience");
      argv.push_back(extra_flags);
    }
    const auto r = run_command(argv);
    REQUIRE(r.exit_code == 0);
    return r.out.substr(0, r.out.find('\n'));
  }
  tls::CertificateBundle anchors() const { return tls::load_bundle_file(dir.file("ca.crt")); }
};

struct Service {
  std::unique_ptr<Process> proc;
  std::string addr, admin;
  Service(Pki& pki, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{kBinary,
                                  "identity",
                                  "--addr",
                                  "127.0.0.1:0",
                                  "--admin-addr",
                                  "127.0.0.1:0",
                                  "--trust-anchors-file",
                                  pki.dir.file("ca.crt"),
                                  "--issuer-certificate-file",
                                  pki.dir.file("issuer.crt"),
                                  "--issuer-key-file",
                                  pki.dir.file("issuer.key"),
                                  "--token-validator",
                                  "jwt",
                                  "--token-public-key-file",
                                  pki.dir.file("token.pub")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc = std::make_unique<Process>(argv, pki.dir.path());
    const auto api = proc->wait_for_log("serving certify on https://", 10s);
    INFO(proc->stderr_text());
    REQUIRE(api);
    addr = api->substr(api->find("https://") + 8);
    addr = addr.substr(0, addr.find(' '));
    const auto adm = proc->wait_for_log("admin on http://", 5s);
    REQUIRE(adm);
    admin = adm->substr(adm->find("http://") + 7);
  }
};

net::HttpsPostResponse post(const Service& s, const tls::CertificateBundle& anchors, const std::string& body) {
  net::HttpsPostRequest r;
  r.address = s.addr;
  r.server_name = kServer;
  r.trust_anchors = anchors;
  r.path = "/v1/certify";
  r.body = body;
  return net::https_post(r);
}

std::string certify_body(const std::string& identity, const std::string& token, const std::string& csr_pem) {
  return nlohmann::json{{"identity", identity}, {"token", token}, {"csr", csr_pem}}.dump();
}

std::string csr_for(const std::string& name) {
  return tls::csr_to_pem(tls::create_csr(tls::generate_ecdsa_p256(), name));
}

// A CSR with extra SANs, built by hand because the library only makes well-formed ones.
std::string csr_with_sans(const std::string& sans) {
  const auto key = tls::generate_ecdsa_p256();
  X509_REQ* req = X509_REQ_new();
  X509_REQ_set_pubkey(req, key.native());
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, sans.c_str());
  sk_X509_EXTENSION_push(exts, ext);
  X509_REQ_add_extensions(req, exts);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_sign(req, key.native(), EVP_sha256());
  return tls::csr_to_pem(tls::CertificateRequest(tls::X509ReqPtr(req)));
}

int status_of(const net::HttpsPostResponse& r) { return r.status; }
std::string check_of(const net::HttpsPostResponse& r) {
  const auto j = nlohmann::json::parse(r.body, nullptr, false);
  return j.is_object() ? j.value("check", "") + "/" + j.value("reason", "") : "<not json: " + r.body + ">";
}

}  // namespace

TEST_CASE("identity issues a verified workload certificate and refuses each bad request", "[identity]") {
  Pki pki;
  Service svc(pki);
  const auto anchors = pki.anchors();
  const std::string token = pki.token("default", "web");

  SECTION("happy path through `meshctl identity certify`") {
    test::write_file(pki.dir.file("web.token"), token);
    const auto r = run_command({kBinary, "identity", "certify", "--addr", svc.addr, "--identity", kWeb, "--token-file",
                                pki.dir.file("web.token"), "--trust-anchors", pki.dir.file("ca.crt"), "--out-dir",
                                pki.dir.file("web")});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    // OpenSSL's own verifier agrees with ours.
    const auto v = run_command({"/usr/bin/openssl", "verify", "-CAfile", pki.dir.file("ca.crt"), "-untrusted",
                                pki.dir.file("issuer.crt"), pki.dir.file("web/cert.pem")});
    INFO(v.out + v.err);
    CHECK(v.exit_code == 0);
    const auto bundle = tls::load_bundle_file(pki.dir.file("web/cert.pem"));
    const auto sans = bundle[0].subject_alt_names();
    CHECK(sans.dns == std::vector<std::string>{kWeb});
    CHECK(sans.uri == std::vector<std::string>{"spiffe://cluster.local/ns/default/sa/web"});
    const auto life = bundle[0].not_after() - bundle[0].not_before();
    CHECK(life == std::chrono::hours(24) + std::chrono::seconds(20));  // 24h plus the 20s backdate
    CHECK(tls::key_matches_certificate(tls::load_private_key_file(pki.dir.file("web/key.pem")), bundle[0]));
  }

  SECTION("refusals, each with its own status and check, and the service keeps serving") {
    Pki other;  // a different token key: a valid-looking token with the wrong signature
    const auto wrong_sig = post(svc, anchors, certify_body(kWeb, other.token("default", "web"), csr_for(kWeb)));
    CHECK(status_of(wrong_sig) == 401);
    CHECK(check_of(wrong_sig) == "token/bad_signature");

    const auto wrong_aud = post(svc, anchors, certify_body(kWeb, pki.token("default", "web", "somebody-else"), csr_for(kWeb)));
    CHECK(status_of(wrong_aud) == 401);
    CHECK(check_of(wrong_aud) == "token/wrong_audience");

    core::identity::TokenClaims expired;
    expired.subject = "system:serviceaccount:default:web";
    expired.audience = {"identity.meshctl.io"};
    expired.issued_at = 1000;
    expired.expires_at = 2000;
    const auto exp = post(svc, anchors,
                          certify_body(kWeb, core::identity::sign_jwt_es256(expired, tls::load_private_key_file(pki.dir.file("token.key"))),
                                       csr_for(kWeb)));
    CHECK(status_of(exp) == 401);
    CHECK(check_of(exp) == "token/token_expired");

    const std::string db = "db.default.serviceaccount.identity.meshctl.cluster.local";
    const auto mismatch = post(svc, anchors, certify_body(db, token, csr_for(db)));
    CHECK(status_of(mismatch) == 403);
    CHECK(check_of(mismatch) == "identity/mismatch");

    const auto extra = post(svc, anchors, certify_body(kWeb, token, csr_with_sans("DNS:" + kWeb + ",IP:10.0.0.1")));
    CHECK(status_of(extra) == 422);
    CHECK(check_of(extra) == "csr/bad_sans");
    const auto uri = post(svc, anchors, certify_body(kWeb, token, csr_with_sans("DNS:" + kWeb + ",URI:spiffe://x/y")));
    CHECK(status_of(uri) == 422);

    const auto garbage = post(svc, anchors, certify_body(kWeb, token, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"));
    CHECK(status_of(garbage) == 422);
    CHECK(check_of(garbage) == "csr/malformed");

    const auto not_json = post(svc, anchors, "{\"identity\":");
    CHECK(status_of(not_json) == 400);
    CHECK(check_of(not_json) == "request/malformed");

    const auto huge = post(svc, anchors, certify_body(kWeb, std::string(100 * 1024, 'a'), csr_for(kWeb)));
    CHECK(status_of(huge) == 413);

    // Still serving: the happy path works after all of that.
    const auto ok = post(svc, anchors, certify_body(kWeb, token, csr_for(kWeb)));
    CHECK(status_of(ok) == 200);
    const auto body = nlohmann::json::parse(ok.body);
    CHECK(body.contains("validUntil"));

    const auto metrics = run_command({"/usr/bin/curl", "-sf", "http://" + svc.admin + "/metrics"});
    CHECK(metrics.out.find("identity_certificates_issued_total 1") != std::string::npos);
    CHECK(metrics.out.find("identity_certify_refused_total{check=\"token\",reason=\"bad_signature\"} 1") != std::string::npos);
    CHECK(metrics.out.find("identity_issuer_expiry_timestamp_seconds ") != std::string::npos);
    CHECK(run_command({"/usr/bin/curl", "-sf", "http://" + svc.admin + "/ready"}).out == "ready\n");
  }

  SECTION("a client that expects another server identity refuses the service") {
    net::HttpsPostRequest r;
    r.address = svc.addr;
    r.server_name = "somebody.else.serviceaccount.identity.meshctl.cluster.local";
    r.trust_anchors = anchors;
    r.path = "/v1/certify";
    CHECK_THROWS_AS(net::https_post(r), core::Error);
  }

  CHECK(svc.proc->stop(SIGTERM) == 0);
  // Tokens never reach the log.
  CHECK(svc.proc->stderr_text().find(token.substr(token.rfind('.') + 1)) == std::string::npos);
}

TEST_CASE("an issuer that expires while serving gets 503, and one expired at start is refused", "[identity]") {
  Pki pki;
  must({kBinary, "identity", "create-issuer", "--force", "--lifetime", "3s", "--anchor-cert", pki.dir.file("ca.crt"),
        "--anchor-key", pki.dir.file("ca.key"), "--cert", pki.dir.file("issuer.crt"), "--key", pki.dir.file("issuer.key")});
  Service svc(pki);
  const std::string token = pki.token("default", "web");
  std::this_thread::sleep_for(4s);
  // A verifying client can no longer trust the service (its own chain expired), so ask without
  // verification to see the service's own answer.
  test::write_file(pki.dir.file("body.json"), certify_body(kWeb, token, csr_for(kWeb)));
  const auto r = run_command({"/usr/bin/curl", "-sk", "-o", pki.dir.file("resp.json"), "-w", "%{http_code}",
                              "--data-binary", "@" + pki.dir.file("body.json"), "https://" + svc.addr + "/v1/certify"});
  CHECK(r.out == "503");
  const auto body = nlohmann::json::parse(test::read_file(pki.dir.file("resp.json")));
  CHECK(body["check"] == "issuer");
  CHECK(body["reason"] == "expired");
  CHECK(run_command({"/usr/bin/curl", "-sf", "http://" + svc.admin + "/live"}).out == "live\n");
  CHECK(svc.proc->stop(SIGTERM) == 0);

  // Started with that expired issuer, the service says why and exits.
  const auto start = run_command({kBinary, "identity", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
                                  "--trust-anchors-file", pki.dir.file("ca.crt"), "--issuer-certificate-file",
                                  pki.dir.file("issuer.crt"), "--issuer-key-file", pki.dir.file("issuer.key"),
                                  "--token-validator", "jwt", "--token-public-key-file", pki.dir.file("token.pub")});
  CHECK(start.exit_code == 1);
  CHECK(start.err.find("expired") != std::string::npos);
}

TEST_CASE("the identity client renews before expiry and the old certificate works until then", "[identity]") {
  Pki pki;
  Service svc(pki, {"--issuance-lifetime", "3s", "--clock-skew-allowance", "0s"});
  test::write_file(pki.dir.file("web.token"), pki.token("default", "web"));
  core::identity::IdentityClientOptions o;
  o.identity_addr = svc.addr;
  o.identity_server_name = kServer;
  o.local_identity = kWeb;
  o.token_file = pki.dir.file("web.token");
  o.trust_anchors = pki.anchors();
  o.min_refresh = 100ms;
  core::identity::IdentityClient client(o);
  client.start();
  REQUIRE(client.wait_ready(10s));
  const auto first = client.current();
  // Watch for the switch: at every observation the certificate held must still be valid.
  auto held = first;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (client.renewals() < 3 && std::chrono::steady_clock::now() < deadline) {
    const auto now = std::chrono::system_clock::now();
    held = client.current();
    const tls::Certificate anchors_and_none[] = {o.trust_anchors[0]};
    const auto v = tls::verify_certificate(held->leaf, held->chain, anchors_and_none, {now, kWeb, false});
    INFO(v.reason);
    REQUIRE(v.ok());
    std::this_thread::sleep_for(50ms);
  }
  CHECK(client.renewals() >= 3);
  const auto latest = client.current();
  CHECK_FALSE(latest->leaf == first->leaf);
  // The first certificate was replaced before it expired, while it was still good.
  CHECK(first->valid_until > first->leaf.not_before());
  // A TLS context taken before the renewal is still a working context afterwards.
  CHECK(SSL_CTX_get0_certificate(first->server_context.get()) != nullptr);
  client.stop();
}

TEST_CASE("a new issuer on disk is used without a restart and a bad one is refused", "[identity]") {
  Pki pki;
  Service svc(pki, {});
  const auto anchors = pki.anchors();
  const std::string token = pki.token("default", "web");
  auto chain_of = [&](const net::HttpsPostResponse& r) {
    REQUIRE(r.status == 200);
    return tls::bundle_from_pem(nlohmann::json::parse(r.body)["chain"].get<std::string>(), "chain")[0];
  };
  const auto before = chain_of(post(svc, anchors, certify_body(kWeb, token, csr_for(kWeb))));

  // Rotate: a new issuer signed by the same anchor, written over the mounted files.
  must({kBinary, "identity", "create-issuer", "--force", "--anchor-cert", pki.dir.file("ca.crt"), "--anchor-key",
        pki.dir.file("ca.key"), "--cert", pki.dir.file("issuer.crt"), "--key", pki.dir.file("issuer.key")});
  const auto expected = tls::load_certificate_file(pki.dir.file("issuer.crt"));
  REQUIRE_FALSE(expected == before);
  REQUIRE(svc.proc->wait_for_log("issuer replaced", 10s));
  const auto after = chain_of(post(svc, anchors, certify_body(kWeb, token, csr_for(kWeb))));
  CHECK(after == expected);

  // A broken issuer (key of another certificate) is refused and the current one keeps signing.
  const size_t seen = svc.proc->stderr_text().size();
  test::write_file(pki.dir.file("issuer.key"), tls::private_key_to_pem(tls::generate_ecdsa_p256()));
  REQUIRE(svc.proc->wait_for_log("new issuer refused", 10s, seen));
  const auto still = chain_of(post(svc, anchors, certify_body(kWeb, token, csr_for(kWeb))));
  CHECK(still == expected);
  CHECK(svc.proc->stop(SIGTERM) == 0);
}

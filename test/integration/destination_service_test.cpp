// The destination service as a real process on loopback, with a real identity service: a proxy's
// DestinationClient watches a Service and sees every registry change; broken files, bad lines,
// clients without a mesh certificate and a destination restart each behave as the protocol
// document says.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/discovery/destination_client.h"
#include "core/identity/identity_client.h"
#include "core/tls/files.h"
#include "core/tls/issue.h"
#include "core/tls/key.h"
#include "support/process.h"

using namespace meshctl;
using meshctl::test::Process;
using meshctl::test::run_command;
using meshctl::test::TempDir;
using meshctl::test::write_file;
using namespace std::chrono_literals;
namespace tls = core::tls;
namespace discovery = core::discovery;

namespace {

const std::string kBinary = MESHCTL_BINARY;
const std::string kDestination = "meshctl-destination.meshctl.serviceaccount.identity.meshctl.cluster.local";
const std::string kIdentityServer = "meshctl-identity.meshctl.serviceaccount.identity.meshctl.cluster.local";
const std::string kWeb = "web.default.serviceaccount.identity.meshctl.cluster.local";
const std::string kTarget = "web.default.svc.cluster.local:80";

void must(const std::vector<std::string>& argv) {
  const auto r = run_command(argv);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

std::string after(const std::string& line, const std::string& marker) {
  auto s = line.substr(line.find(marker) + marker.size());
  return s.substr(0, s.find(' '));
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

std::string pod_yaml(const std::string& name, const std::string& ip, const std::string& app = "web") {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name +
         "\n  namespace: default\n  labels:\n    app: " + app +
         "\n    pod-template-hash: 5f6c\n    meshctl.io/control-plane-ns: meshctl\n"
         "  ownerReferences:\n  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-5f6c, controller: true}\n"
         "spec:\n  serviceAccountName: web\n  containers:\n  - name: app\n  - name: meshctl-proxy\n"
         "status:\n  phase: Running\n  podIP: " + ip + "\n";
}

// The whole control plane a proxy needs: PKI from the operator tools, identity, destination.
struct Mesh {
  TempDir dir;
  TempDir registry;
  std::unique_ptr<Process> identity;
  std::unique_ptr<Process> destination;
  std::string identity_addr, destination_addr, admin_addr;

  Mesh() {
    must({kBinary, "identity", "create-anchor", "--cert", dir.file("ca.crt"), "--key", dir.file("ca.key")});
    must({kBinary, "identity", "create-issuer", "--anchor-cert", dir.file("ca.crt"), "--anchor-key",
          dir.file("ca.key"), "--cert", dir.file("issuer.crt"), "--key", dir.file("issuer.key")});
    must({kBinary, "identity", "create-token-key", "--private-key", dir.file("token.key"), "--public-key",
          dir.file("token.pub")});
    must({kBinary, "identity", "create-token", "--key", dir.file("token.key"), "--namespace", "meshctl",
          "--service-account", "meshctl-destination", "--out", dir.file("destination.token")});
    must({kBinary, "identity", "create-token", "--key", dir.file("token.key"), "--namespace", "default",
          "--service-account", "web", "--out", dir.file("web.token")});
    identity = std::make_unique<Process>(
        std::vector<std::string>{kBinary, "identity", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
                                 "--trust-anchors-file", dir.file("ca.crt"), "--issuer-certificate-file",
                                 dir.file("issuer.crt"), "--issuer-key-file", dir.file("issuer.key"),
                                 "--token-validator", "jwt", "--token-public-key-file", dir.file("token.pub")},
        dir.path());
    const auto line = identity->wait_for_log("serving certify on https://", 10s);
    INFO(identity->stderr_text());
    REQUIRE(line);
    identity_addr = after(*line, "https://");

    write_file(registry.file("namespace.yaml"),
               "apiVersion: v1\nkind: Namespace\nmetadata: {name: default}\n---\n"
               "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web, namespace: default}\n");
    write_file(registry.file("service.yaml"),
               "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\n"
               "spec:\n  clusterIP: 10.96.0.10\n  selector: {app: web}\n  ports:\n  - {port: 80, targetPort: 8080}\n");
    write_file(registry.file("pods.yaml"), pod_yaml("web-5f6c-a", "10.1.0.1"));
    start_destination("127.0.0.1:0", "127.0.0.1:0");
  }

  void start_destination(const std::string& addr, const std::string& admin) {
    destination = std::make_unique<Process>(
        std::vector<std::string>{kBinary, "destination", "--addr", addr, "--admin-addr", admin, "--registry",
                                 registry.path(), "--identity-addr", identity_addr, "--token-file",
                                 dir.file("destination.token"), "--trust-anchors-file", dir.file("ca.crt"),
                                 "--threads", "2"},
        dir.path());
    const auto adm = destination->wait_for_log("admin on http://", 10s);
    const auto line = destination->wait_for_log("serving destination on ", 15s);
    INFO(destination->stderr_text());
    REQUIRE(adm);
    REQUIRE(line);
    admin_addr = after(*adm, "http://");
    destination_addr = after(*line, "serving destination on ");
  }

  tls::CertificateBundle anchors() const { return tls::load_bundle_file(dir.file("ca.crt")); }

  std::unique_ptr<core::identity::IdentityClient> workload() const {
    core::identity::IdentityClientOptions o;
    o.identity_addr = identity_addr;
    o.identity_server_name = kIdentityServer;
    o.local_identity = kWeb;
    o.token_file = dir.file("web.token");
    o.trust_anchors = anchors();
    auto c = std::make_unique<core::identity::IdentityClient>(o);
    c->start();
    REQUIRE(c->wait_ready(10s));
    return c;
  }

  httplib::Result admin_get(const std::string& path) const {
    const auto colon = admin_addr.rfind(':');
    httplib::Client c(admin_addr.substr(0, colon), std::stoi(admin_addr.substr(colon + 1)));
    c.set_read_timeout(5, 0);
    return c.Get(path.c_str());
  }
};

// A blocking TLS connection speaking the protocol by hand, for what DestinationClient never sends.
class RawConnection {
 public:
  RawConnection(const std::string& addr, SSL_CTX* ctx) {
    const auto colon = addr.rfind(':');
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(std::stoi(addr.substr(colon + 1))));
    inet_pton(AF_INET, addr.substr(0, colon).c_str(), &sa.sin_addr);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssl_ = SSL_new(ctx);
    SSL_set_fd(ssl_, fd_);
    SSL_set1_host(ssl_, kDestination.c_str());
    handshake_ok_ = SSL_connect(ssl_) == 1;
  }
  ~RawConnection() {
    SSL_free(ssl_);
    close(fd_);
  }
  bool handshake_ok() const { return handshake_ok_; }
  bool send(const std::string& text) {
    return handshake_ok_ && SSL_write(ssl_, text.data(), static_cast<int>(text.size())) == int(text.size());
  }
  // The next line that is not a keep-alive; nothing when the connection fails or times out.
  std::optional<std::string> line() {
    for (;;) {
      const auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        auto l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        if (l.empty()) continue;
        return l;
      }
      char chunk[16384];
      const int n = SSL_read(ssl_, chunk, sizeof chunk);
      if (n <= 0) {
        ERR_clear_error();
        return std::nullopt;
      }
      buf_.append(chunk, size_t(n));
    }
  }
  nlohmann::json json() {
    const auto l = line();
    REQUIRE(l);
    return nlohmann::json::parse(*l);
  }

 private:
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  bool handshake_ok_ = false;
  std::string buf_;
};

std::shared_ptr<SSL_CTX> plain_client_context(const tls::CertificateBundle& anchors) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  for (const auto& a : anchors) X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), a.native());
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  return ctx;
}

std::vector<std::string> ips_of(const discovery::EndpointSnapshot& s) {
  std::vector<std::string> out;
  if (s) {
    for (const auto& e : s->endpoints) out.push_back(e.ip);
  }
  return out;
}

}  // namespace

TEST_CASE("destination serves a proxy's watches and follows the registry", "[destination][integration]") {
  Mesh mesh;
  const auto workload = mesh.workload();
  discovery::DestinationClientOptions o;
  o.addr = mesh.destination_addr;
  o.server_identity = kDestination;
  o.identity = [&] { return workload->current(); };
  o.backoff_initial = 50ms;
  o.backoff_max = 500ms;
  discovery::DestinationClient client(o);
  client.start();

  auto watch = client.watch(kTarget);
  std::atomic<bool> first{false};
  watch->on_first_snapshot([&] { first = true; });
  REQUIRE(eventually([&] { return first.load(); }));
  {
    const auto s = watch->current();
    REQUIRE(s);
    CHECK(s->exists);
    REQUIRE(s->endpoints.size() == 1);
    const auto& e = s->endpoints[0];
    CHECK(e.ip == "10.1.0.1");
    CHECK(e.port == 8080);
    CHECK(e.identity == kWeb);
    CHECK(e.hint == discovery::ProtocolHint::h2);
    CHECK(e.labels == std::map<std::string, std::string>{{"namespace", "default"},
                                                         {"service", "web"},
                                                         {"pod", "web-5f6c-a"},
                                                         {"serviceaccount", "web"},
                                                         {"deployment", "web"},
                                                         {"pod_template_hash", "5f6c"}});
  }
  // Watches on one target are shared; other targets are their own.
  CHECK(client.watch(kTarget) == watch);
  auto unknown = client.watch("nope.default.svc.cluster.local:80");
  REQUIRE(eventually([&] { return unknown->current() != nullptr; }));
  CHECK_FALSE(unknown->current()->exists);
  auto by_ip = client.watch("10.96.0.10:80");
  REQUIRE(eventually([&] { return by_ip->current() && by_ip->current()->endpoints.size() == 1; }));

  SECTION("edits reach the watcher: a pod added, a label changed") {
    write_file(mesh.registry.file("pods.yaml"), pod_yaml("web-5f6c-a", "10.1.0.1") + "---\n" +
                                                     pod_yaml("web-5f6c-b", "10.1.0.2"));
    CHECK(eventually([&] { return ips_of(watch->current()) == std::vector<std::string>{"10.1.0.1", "10.1.0.2"}; }));
    write_file(mesh.registry.file("pods.yaml"), pod_yaml("web-5f6c-a", "10.1.0.1", "other") + "---\n" +
                                                     pod_yaml("web-5f6c-b", "10.1.0.2"));
    CHECK(eventually([&] { return ips_of(watch->current()) == std::vector<std::string>{"10.1.0.2"}; }));
  }

  SECTION("a malformed file is reported with file and line, and the old objects stay") {
    const auto mark = mesh.destination->stderr_text().size();
    write_file(mesh.registry.file("pods.yaml"), pod_yaml("web-5f6c-a", "10.1.0.1") + "  broken: [\n");
    const auto logged = mesh.destination->wait_for_log(mesh.registry.file("pods.yaml") + ":", 10s, mark);
    INFO(mesh.destination->stderr_text());
    REQUIRE(logged);
    CHECK(logged->find("keeping the objects it held before") != std::string::npos);
    std::this_thread::sleep_for(500ms);
    CHECK(ips_of(watch->current()) == std::vector<std::string>{"10.1.0.1"});
    const auto metrics = mesh.admin_get("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->body.find("store_load_errors_total{file=\"" + mesh.registry.file("pods.yaml") + "\"} 1") !=
          std::string::npos);
    // Another file's change still goes through.
    write_file(mesh.registry.file("more.yaml"), pod_yaml("web-5f6c-c", "10.1.0.3"));
    CHECK(eventually([&] { return ips_of(watch->current()) == std::vector<std::string>{"10.1.0.1", "10.1.0.3"}; }));
  }

  SECTION("a destination restart: the last snapshot stays, the client reconnects and resumes") {
    REQUIRE(client.connections() == 1);
    const auto before = watch->current();
    CHECK(mesh.destination->stop(SIGTERM) == 0);
    CHECK(eventually([&] { return !client.connected(); }));
    CHECK(watch->current() == before);  // still serving on what it had
    // Changes while the destination is away are seen after it returns.
    write_file(mesh.registry.file("pods.yaml"), pod_yaml("web-5f6c-a", "10.1.0.1") + "---\n" +
                                                     pod_yaml("web-5f6c-d", "10.1.0.4"));
    std::this_thread::sleep_for(300ms);
    CHECK(watch->current() == before);
    mesh.start_destination(mesh.destination_addr, "127.0.0.1:0");
    CHECK(eventually([&] { return client.connections() == 2 && client.connected(); }));
    CHECK(eventually([&] { return ips_of(watch->current()) == std::vector<std::string>{"10.1.0.1", "10.1.0.4"}; }));
    write_file(mesh.registry.file("pods.yaml"), pod_yaml("web-5f6c-d", "10.1.0.4"));
    CHECK(eventually([&] { return ips_of(watch->current()) == std::vector<std::string>{"10.1.0.4"}; }));
  }

  SECTION("a watch nobody holds is cancelled") {
    CHECK(client.watched_targets() == 3);
    unknown.reset();
    CHECK(client.watched_targets() == 2);
    CHECK(eventually([&] {
      const auto m = mesh.admin_get("/metrics");
      return m && m->body.find("destination_watches_open 2\n") != std::string::npos;
    }));
  }
}

TEST_CASE("with idle retention a released watch keeps its answer for a while, also without the destination",
          "[destination][integration]") {
  Mesh mesh;
  const auto workload = mesh.workload();
  discovery::DestinationClientOptions o;
  o.addr = mesh.destination_addr;
  o.server_identity = kDestination;
  o.identity = [&] { return workload->current(); };
  o.idle_retention = 1500ms;
  discovery::DestinationClient client(o);
  client.start();

  auto watch = client.watch(kTarget);
  REQUIRE(eventually([&] { return watch->current() != nullptr; }));
  const auto answer = watch->current();
  watch.reset();
  CHECK(client.watched_targets() == 1);
  CHECK(mesh.destination->stop(SIGTERM) == 0);
  // Taken again while nobody held it and the destination is gone: the answer is there at once.
  auto again = client.watch(kTarget);
  CHECK(again->current() == answer);
  again.reset();
  CHECK(eventually([&] { return client.watched_targets() == 0; }));
}

TEST_CASE("destination refuses bad lines per line and clients without a mesh certificate", "[destination][integration]") {
  Mesh mesh;
  const auto workload = mesh.workload();

  SECTION("bad lines get an error answer and the connection stays up") {
    RawConnection c(mesh.destination_addr, workload->current()->client_context.get());
    REQUIRE(c.handshake_ok());
    REQUIRE(c.send("nonsense\n"));
    CHECK(c.json() == nlohmann::json{{"error", "line 1: not a JSON object"}});
    REQUIRE(c.send("{\"watch\": 1, \"target\": \"nonsense\"}\n"));
    auto j = c.json();
    CHECK(j["watch"] == 1);
    CHECK(j["error"].get<std::string>().find("not host:port") != std::string::npos);
    REQUIRE(c.send("{\"watch\": 2, \"target\": \"" + kTarget + "\"}\n"));
    j = c.json();
    CHECK(j["watch"] == 2);
    CHECK(j["exists"] == true);
    CHECK(j["endpoints"][0]["identity"] == kWeb);
    REQUIRE(c.send("{\"watch\": 2, \"target\": \"" + kTarget + "\"}\n"));
    CHECK(c.json()["error"].get<std::string>().find("already open") != std::string::npos);
    // A line over 1 MiB is refused and skipped; the next line is served.
    REQUIRE(c.send(std::string(1024 * 1024 + 10, 'x') + "\n{\"watch\": 3, \"target\": \"10.9.9.9:80\"}\n"));
    CHECK(c.json()["error"].get<std::string>().find("longer than") != std::string::npos);
    CHECK(c.json() == nlohmann::json{{"watch", 3}, {"exists", false}});
    // A cancelled watch gets no more answers; the other watch on the same target does.
    REQUIRE(c.send("{\"watch\": 4, \"target\": \"" + kTarget + "\"}\n"));
    CHECK(c.json()["watch"] == 4);
    REQUIRE(c.send("{\"cancel\": 2}\n"));
    std::this_thread::sleep_for(100ms);
    write_file(mesh.registry.file("pods.yaml"), pod_yaml("web-5f6c-b", "10.1.0.2"));
    j = c.json();
    CHECK(j["watch"] == 4);
    CHECK(j["endpoints"][0]["ip"] == "10.1.0.2");
    const auto metrics = mesh.admin_get("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->body.find("destination_bad_lines_total 4") != std::string::npos);
  }

  SECTION("no client certificate: refused at the TLS layer") {
    const auto ctx = plain_client_context(mesh.anchors());
    RawConnection c(mesh.destination_addr, ctx.get());
    // TLS 1.3 finishes the client's side first; the server's refusal arrives as an alert.
    c.send("{\"watch\": 1, \"target\": \"" + kTarget + "\"}\n");
    CHECK_FALSE(c.line());
  }

  SECTION("a certificate from another CA: refused at the TLS layer") {
    const auto now = std::chrono::system_clock::now();
    const auto root_key = tls::generate_ecdsa_p256();
    const auto root = tls::make_root_ca(root_key, {"root.elsewhere", {now - 1h, now + 24h}, tls::SerialNumber::random()});
    const auto key = tls::generate_ecdsa_p256();
    tls::LeafOptions lo;
    lo.dns_name = kWeb;
    lo.validity = {now - 1h, now + 24h};
    lo.serial = tls::SerialNumber::random();
    const auto leaf = tls::issue_leaf(key.public_key(), lo, root, root_key);
    const auto ctx = core::identity::make_client_context(key, leaf, {root}, mesh.anchors());
    RawConnection c(mesh.destination_addr, ctx.get());
    c.send("{\"watch\": 1, \"target\": \"" + kTarget + "\"}\n");
    CHECK_FALSE(c.line());
    CHECK(eventually([&] {
      const auto m = mesh.admin_get("/metrics");
      return m && m->body.find("destination_tls_handshake_failures_total 1") != std::string::npos;
    }));
  }

  SECTION("a server that is not the destination is refused by the client") {
    // The identity service has a mesh certificate, but not the destination's identity.
    discovery::DestinationClientOptions o;
    o.addr = mesh.identity_addr;
    o.server_identity = kDestination;
    o.identity = [&] { return workload->current(); };
    o.backoff_initial = 50ms;
    discovery::DestinationClient client(o);
    client.start();
    std::this_thread::sleep_for(500ms);
    CHECK(client.connections() == 0);
  }

  SECTION("/live, /ready and /metrics") {
    auto r = mesh.admin_get("/live");
    REQUIRE(r);
    CHECK(r->status == 200);
    r = mesh.admin_get("/ready");
    REQUIRE(r);
    CHECK(r->status == 200);
    r = mesh.admin_get("/metrics");
    REQUIRE(r);
    CHECK(r->status == 200);
    for (const char* name : {"destination_watches_open", "destination_updates_sent_total", "destination_connections_open",
                             "store_objects", "store_files_broken"}) {
      INFO(name);
      CHECK(r->body.find(name) != std::string::npos);
    }
  }
}

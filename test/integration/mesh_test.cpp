// The meshed path end to end, every part a real process. The identity and destination services
// run in the test network's node namespace, reachable from the pods at the gateway address; the
// destination serves a registry directory describing the pods and a Service. Pod A (client) and
// pod B (server) are meshed the way the injector meshes a pod: `meshctl proxy init` installs the
// redirect rules, and `meshctl proxy` runs as UID 2102, configured only by MESHCTL_PROXY_*
// variables, with its own service-account token. Pod C is a plain pod outside the mesh. The
// applications are the Go echo apps of test/apps, run as an ordinary user, so iptables hands
// every connection they open to their pod's proxy.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/netns.h"

using namespace meshctl::test;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {

const std::string kBinary = MESHCTL_BINARY;
const std::string kIdentitySuffix = ".serviceaccount.identity.meshctl.cluster.local";
const std::string kIdentityServer = "meshctl-identity.meshctl" + kIdentitySuffix;
const std::string kDestinationServer = "meshctl-destination.meshctl" + kIdentitySuffix;
// The Kubernetes namespace of the workloads (not to be confused with network namespaces).
const std::string kNs = "shop";
constexpr int kAppUid = 1000;  // the applications' user: anyone but the proxy
constexpr int kProxyUid = 2102;
const std::string kServiceIp = TestNetwork::service_ip(1);

void must(const std::vector<std::string>& argv) {
  const auto r = run_command(argv);
  INFO(argv[0] << " " << argv[1] << ": " << r.err);
  REQUIRE(r.exit_code == 0);
}

std::string after(const std::string& line, const std::string& marker) {
  auto s = line.substr(line.find(marker) + marker.size());
  return s.substr(0, s.find(' '));
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

// The sum over the series of `family` whose labels contain every one of `labels`, or -1 when
// there is none.
long long metric(const std::string& text, const std::string& family, const std::vector<std::string>& labels) {
  std::istringstream in(text);
  long long sum = -1;
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with(family + "{")) continue;
    const auto close = line.rfind('}');
    const std::string set = line.substr(0, close + 1);
    bool all = true;
    for (const auto& l : labels) all = all && set.find(l) != std::string::npos;
    if (all) sum = std::max(sum, 0LL) + std::stoll(line.substr(close + 2));
  }
  return sum;
}

std::string identity_of(const std::string& sa) { return sa + "." + kNs + kIdentitySuffix; }

// `text` with every `{key}` replaced by its value.
std::string fill(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [key, value] : values) {
    const std::string k = "{" + key + "}";
    for (auto at = text.find(k); at != std::string::npos; at = text.find(k, at + value.size())) {
      text.replace(at, k.size(), value);
    }
  }
  return text;
}

std::string pod_name(const std::string& app, const std::string& ip) {
  return app + "-5f6c-" + ip.substr(ip.rfind('.') + 1);
}
std::string pod_name(const std::string& app, const Pod& pod) { return pod_name(app, pod.ip); }

// A pod of the registry, as a Deployment's ReplicaSet would have made it. A meshed one carries
// what the injector adds and what discovery looks for: the control-plane label and the
// meshctl-proxy container.
std::string pod_yaml(const std::string& app, const std::string& ip, bool meshed) {
  return fill(R"(apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {ns}
  labels: {app: {app}, pod-template-hash: 5f6c{mesh_label}}
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: {app}-5f6c, controller: true}
spec:
  serviceAccountName: {app}
  containers:
  - name: app
    ports:
    - {name: http, containerPort: 8080}
    - {name: grpc, containerPort: 8090}
    - {name: tcp, containerPort: 8100}
    - {name: banner, containerPort: 8110}
{proxy}status:
  phase: Running
  podIP: {ip}
)",
              {{"name", pod_name(app, ip)},
               {"ns", kNs},
               {"app", app},
               {"ip", ip},
               {"mesh_label", meshed ? ", meshctl.io/control-plane-ns: meshctl" : ""},
               {"proxy", meshed ? "  - name: meshctl-proxy\n" : ""}});
}

// The namespace, both service accounts and pod B's Service: HTTP by a named target port, gRPC,
// TCP, and the server-speaks-first port declared opaque.
std::string service_yaml() {
  return fill(R"(apiVersion: v1
kind: Namespace
metadata: {name: {ns}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: client, namespace: {ns}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: server, namespace: {ns}}
---
apiVersion: v1
kind: Service
metadata: {name: server, namespace: {ns}}
spec:
  clusterIP: {ip}
  selector: {app: server}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: grpc, port: 8090, targetPort: 8090}
  - {name: tcp, port: 8100, targetPort: tcp}
  - {name: banner, port: 8110, targetPort: 8110, appProtocol: meshctl.io/opaque}
)",
              {{"ns", kNs}, {"ip", kServiceIp}});
}

// One application connection from inside `ns` by this (root) process, so it is redirected to
// the pod's proxy like the application's own: sends `line`, reads it echoed and closes without
// half-closing first. Returns what came back.
std::string tcp_echo_from(const std::string& ns, const std::string& ip, int port, const std::string& line) {
  const int fd = tcp_socket_in(ns);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip.c_str(), &to.sin_addr);
  std::string got;
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0 &&
      send(fd, line.data(), line.size(), MSG_NOSIGNAL) == ssize_t(line.size())) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (got.size() < line.size() && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 100) != 1) continue;
      char buf[4096];
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, size_t(n));
    }
  }
  close(fd);
  return got;
}

// The whole mesh: PKI from the operator tools, identity and destination on the node, pods A
// and B meshed, pod C plain.
class Mesh {
 public:
  TestNetwork net;
  Pod a, b, c;
  std::unique_ptr<Process> identity, destination, app_b, app_c, proxy_a, proxy_b;
  std::string identity_addr, destination_addr, destination_admin;
  const std::string server = go_test_app("echo-server");
  const std::string client = go_test_app("echo-client");

  Mesh() {
    must({kBinary, "identity", "create-anchor", "--cert", pki.file("ca.crt"), "--key", pki.file("ca.key")});
    must({kBinary, "identity", "create-issuer", "--anchor-cert", pki.file("ca.crt"), "--anchor-key",
          pki.file("ca.key"), "--cert", pki.file("issuer.crt"), "--key", pki.file("issuer.key")});
    must({kBinary, "identity", "create-token-key", "--private-key", pki.file("token.key"), "--public-key",
          pki.file("token.pub")});
    must({kBinary, "identity", "create-token", "--key", pki.file("token.key"), "--namespace", "meshctl",
          "--service-account", "meshctl-destination", "--out", pki.file("destination.token")});
    identity = net.run_in(
        net.node_ns(), {kBinary, "identity", "--addr", net.gateway_ip() + ":0", "--admin-addr", "127.0.0.1:0",
                        "--trust-anchors-file", pki.file("ca.crt"), "--issuer-certificate-file",
                        pki.file("issuer.crt"), "--issuer-key-file", pki.file("issuer.key"),
                        "--token-validator", "jwt", "--token-public-key-file", pki.file("token.pub")});
    const auto line = identity->wait_for_log("serving certify on https://", 15s);
    INFO(identity->stderr_text());
    REQUIRE(line);
    identity_addr = after(*line, "https://");

    a = net.add_pod("a");
    b = net.add_pod("b");
    c = net.add_pod("c");
    app_b = start_app(b, "server");
    app_c = start_app(c, "plain");

    // C is deliberately absent: an address discovery knows nothing of.
    write_file(registry.file("service.yaml"), service_yaml());
    write_file(registry.file("pods.yaml"),
               pod_yaml("client", a.ip, true) + "---\n" + pod_yaml("server", b.ip, true));
    start_destination(net.gateway_ip() + ":0");

    proxy_a = mesh_pod(a, "client");
    proxy_b = mesh_pod(b, "server");
  }

  std::unique_ptr<Process> start_app(const Pod& pod, const std::string& app) {
    auto p = net.run_in(pod.ns, {server, "--pod", pod_name(app, pod)}, kAppUid);
    INFO(p->stderr_text());
    REQUIRE(p->wait_for_log("listening", 15s));
    return p;
  }

  void start_destination(const std::string& addr) {
    destination = net.run_in(net.node_ns(), {kBinary, "destination", "--addr", addr, "--admin-addr",
                                             "127.0.0.1:0", "--registry", registry.path(), "--identity-addr",
                                             identity_addr, "--token-file", pki.file("destination.token"),
                                             "--trust-anchors-file", pki.file("ca.crt"), "--threads", "1"});
    const auto admin = destination->wait_for_log("admin on http://", 15s);
    const auto line = destination->wait_for_log("serving destination on ", 15s);
    INFO(destination->stderr_text());
    REQUIRE(admin);
    REQUIRE(line);
    destination_admin = after(*admin, "http://");
    destination_addr = after(*line, "serving destination on ");
  }

  std::string destination_metrics() {
    return net
        .exec_in(net.node_ns(),
                 {"curl", "-sS", "--max-time", "5", "http://" + destination_admin + "/metrics"})
        .out;
  }

  // What the injector does to a pod: the init container's rules, then the sidecar as UID 2102
  // with nothing but MESHCTL_PROXY_* variables and a token of the pod's service account.
  std::unique_ptr<Process> mesh_pod(const Pod& pod, const std::string& sa) {
    const auto init = net.exec_in(pod.ns, {kBinary, "proxy", "init"});
    INFO(init.out << init.err);
    REQUIRE(init.exit_code == 0);
    const std::string token = net.dir().file(sa + ".token");
    must({kBinary, "identity", "create-token", "--key", pki.file("token.key"), "--namespace", kNs,
          "--service-account", sa, "--out", token});
    REQUIRE(chown(token.c_str(), kProxyUid, kProxyUid) == 0);
    std::vector<std::string> argv{"/usr/bin/env",
                                  "-i",
                                  "MESHCTL_PROXY_DESTINATION_ADDR=" + destination_addr,
                                  "MESHCTL_PROXY_DESTINATION_NAME=" + kDestinationServer,
                                  "MESHCTL_PROXY_IDENTITY_ADDR=" + identity_addr,
                                  "MESHCTL_PROXY_IDENTITY_SERVER_NAME=" + kIdentityServer,
                                  "MESHCTL_PROXY_IDENTITY_NAME=" + identity_of(sa),
                                  "MESHCTL_PROXY_TRUST_ANCHORS=" + read_file(pki.file("ca.crt")),
                                  "MESHCTL_PROXY_TOKEN_FILE=" + token,
                                  "MESHCTL_PROXY_NAMESPACE=" + kNs,
                                  "MESHCTL_PROXY_POD_NAME=" + pod_name(sa, pod),
                                  "MESHCTL_PROXY_LOG_LEVEL=debug",
                                  "MESHCTL_PROXY_SHUTDOWN_GRACE_PERIOD=30s"};
    // A sanitizer build's settings reach the proxy too.
    for (const char* v : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
      if (const char* value = getenv(v)) argv.push_back(std::string(v) + "=" + value);
    }
    argv.insert(argv.end(), {kBinary, "proxy"});
    auto proxy = net.run_in(pod.ns, argv, kProxyUid);
    const bool ready = eventually([&] { return admin_get(pod, "/ready").out == "ready\n"; });
    INFO(proxy->stderr_text());
    REQUIRE(ready);
    return proxy;
  }

  CommandResult admin_get(const Pod& pod, const std::string& path) {
    return net.exec_in(pod.ns, {"curl", "-sS", "--max-time", "5", "http://127.0.0.1:4191" + path});
  }
  std::string metrics(const Pod& pod) { return admin_get(pod, "/metrics").out; }

  // echo-client inside `pod` as the application's user; its JSON answer (null when not JSON).
  struct ClientResult {
    int exit_code;
    Json json;
    std::string text;
  };
  ClientResult run_client(const Pod& pod, std::vector<std::string> args) {
    args.insert(args.begin(), client);
    const auto r = net.exec_in(pod.ns, args, kAppUid);
    return {r.exit_code, Json::parse(r.out, nullptr, false), r.out + r.err};
  }

 private:
  TempDir pki;       // the anchor, issuer and token keys: root's alone
  TempDir registry;  // the destination's local store
};

std::string http_url(const std::string& path) { return "http://" + kServiceIp + path; }

}  // namespace

TEST_CASE("a meshed client reaches a meshed Service over mutual TLS with every protocol", "[mesh][netns]") {
  Mesh mesh;
  const std::string secret = "meshed-secret-" + std::to_string(getpid());
  const std::string clear = "clear-control-" + std::to_string(getpid());
  PacketCapture capture_a(mesh.net, mesh.net.node_ns(), mesh.a.veth);
  PacketCapture capture_b(mesh.net, mesh.net.node_ns(), mesh.b.veth);

  const auto r =
      mesh.run_client(mesh.a, {"--message", secret, "--timeout", "10s", "--http1", http_url("/one"), "--h2c",
                               http_url("/two"), "--grpc", kServiceIp + ":8090", "--ws",
                               "ws://" + kServiceIp + "/ws", "--banner", kServiceIp + ":8110"});
  INFO(r.text);
  INFO(mesh.proxy_a->stderr_text());
  INFO(mesh.proxy_b->stderr_text());
  CHECK(r.exit_code == 0);
  REQUIRE(r.json.is_object());
  const std::string b_pod = pod_name("server", mesh.b);
  for (const char* kind : {"http1", "h2c", "grpc", "ws", "banner"}) {
    INFO(kind);
    CHECK(r.json[kind]["ok"] == true);
    CHECK(r.json[kind]["pod"] == b_pod);
  }
  CHECK(r.json["http1"]["proto"] == "HTTP/1.1");
  CHECK(r.json["h2c"]["proto"] == "HTTP/2.0");
  CHECK(r.json["http1"]["response"]["path"] == "/one");
  CHECK(r.json["http1"]["response"]["host"] == kServiceIp);
  // The application sees its own pod's proxy as the peer: the request came through it.
  CHECK(r.json["http1"]["response"]["remote"].get<std::string>().starts_with("127.0.0.1:"));
  // Raw TCP, client speaks first, not half-closed (see the half-close test below).
  CHECK(tcp_echo_from(mesh.a.ns, kServiceIp, 8100, secret + "\n") == secret + "\n");

  // Control traffic in the clear on both veths: pod A to plain pod C through A's proxy, and
  // plain pod C straight to pod B.
  const auto to_c =
      mesh.run_client(mesh.a, {"--message", clear, "--http1", "http://" + mesh.c.ip + ":8080/control"});
  INFO(to_c.text);
  CHECK(to_c.exit_code == 0);
  const auto from_c =
      mesh.run_client(mesh.c, {"--message", clear, "--http1", "http://" + mesh.b.ip + ":8080/control"});
  INFO(from_c.text);
  CHECK(from_c.exit_code == 0);

  capture_a.stop();
  capture_b.stop();
  INFO(capture_a.log() << capture_b.log());
  CHECK(capture_a.saw_plaintext(clear));
  CHECK(capture_b.saw_plaintext(clear));
  CHECK_FALSE(capture_a.saw_plaintext(secret));
  CHECK_FALSE(capture_b.saw_plaintext(secret));
  // What does cross in the clear is the ClientHello naming the server's identity (SNI).
  CHECK(capture_a.saw_plaintext(identity_of("server")));

  // Both proxies account for it, with the peer's identity. Byte streams (raw TCP, the banner,
  // the WebSocket after its upgrade) each have their own connection between the proxies; wait
  // until those closed.
  const std::string id_a = identity_of("client"), id_b = identity_of("server");
  const auto to_b = [&](int port) { return "target_addr=\"" + mesh.b.ip + ":" + std::to_string(port) + "\""; };
  std::string ma, mb;
  CHECK(eventually([&] {
    ma = mesh.metrics(mesh.a);
    mb = mesh.metrics(mesh.b);
    for (const int port : {8080, 8100, 8110}) {
      if (metric(ma, "tcp_open_connections", {"direction=\"outbound\"", to_b(port)}) != 0) return false;
    }
    return true;
  }));
  INFO("pod A's proxy:\n" << ma);
  INFO("pod B's proxy:\n" << mb);
  for (const int port : {8080, 8100, 8110}) {
    INFO("port " << port);
    const std::vector<std::string> out{"direction=\"outbound\"",
                                       "peer=\"dst\"",
                                       to_b(port),
                                       "tls=\"true\"",
                                       "server_id=\"" + id_b + "\"",
                                       "dst_namespace=\"" + kNs + "\"",
                                       "dst_service=\"server\"",
                                       "dst_pod=\"" + b_pod + "\""};
    CHECK(metric(ma, "tcp_open_total", out) >= 1);
    CHECK(metric(ma, "tcp_close_total", out) == metric(ma, "tcp_open_total", out));
    CHECK(metric(ma, "tcp_write_bytes_total", out) > 0);
    CHECK(metric(ma, "tcp_read_bytes_total", out) > 0);
  }
  // The HTTP requests (HTTP/1, h2c, gRPC) rode pooled HTTP/2 connections to B's proxy, labelled
  // with the address dialled and the pod; their bytes are counted while they stay open.
  const std::vector<std::string> pooled{"direction=\"outbound\"", "peer=\"dst\"", to_b(4143), "tls=\"true\"",
                                        "server_id=\"" + id_b + "\"", "dst_pod=\"" + b_pod + "\""};
  CHECK(metric(ma, "tcp_open_total", pooled) >= 1);
  CHECK(metric(ma, "tcp_write_bytes_total", pooled) > 0);
  CHECK(metric(ma, "tcp_read_bytes_total", pooled) > 0);
  // Per request, with the identities on both sides.
  for (const int port : {8080, 8090}) {
    INFO("port " << port);
    CHECK(metric(ma, "request_total",
                 {"direction=\"outbound\"", to_b(port), "tls=\"true\"", "server_id=\"" + id_b + "\"",
                  "dst_service=\"server\""}) >= 1);
    CHECK(metric(ma, "response_total",
                 {"direction=\"outbound\"", to_b(port), "tls=\"true\"", "classification=\"success\""}) >= 1);
  }
  CHECK(metric(ma, "response_total", {"direction=\"outbound\"", "grpc_status=\"0\"", "tls=\"true\""}) >= 1);
  CHECK(metric(mb, "request_total", {"direction=\"inbound\"", "tls=\"true\"", "client_id=\"" + id_a + "\""}) >= 3);
  for (const int port : {8080, 8090, 8100, 8110}) {
    INFO("port " << port);
    CHECK(metric(mb, "tcp_open_total",
                 {"direction=\"inbound\"", "peer=\"dst\"",
                  "target_addr=\"127.0.0.1:" + std::to_string(port) + "\""}) >= 1);
  }
  // Pooled HTTP/2 (at least 1), WebSocket (1), banner (1), TCP (1).
  CHECK(metric(ma, "tcp_open_total", {"direction=\"outbound\"", "peer=\"dst\"", "tls=\"true\""}) >= 4);
  CHECK(metric(ma, "tcp_open_total", {"server_id=\"" + id_a + "\""}) == -1);
  const std::vector<std::string> in{"direction=\"inbound\"", "peer=\"src\"", "tls=\"true\"",
                                    "client_id=\"" + id_a + "\""};
  CHECK(metric(mb, "tcp_open_total", in) >= 4);
  CHECK(metric(mb, "tcp_read_bytes_total", in) > 0);
  CHECK(metric(mb, "tcp_write_bytes_total", in) > 0);
  // The plain pod's request to B is counted as such.
  CHECK(metric(mb, "tcp_open_total",
               {"direction=\"inbound\"", "peer=\"src\"", "tls=\"no_identity\"",
                "no_tls_reason=\"no_tls_from_remote\""}) >= 1);
  CHECK(metric(mb, "request_total", {"direction=\"inbound\"", "tls=\"no_identity\""}) >= 1);
  for (const auto* p :
       {mesh.proxy_a.get(), mesh.proxy_b.get(), mesh.destination.get(), mesh.identity.get()}) {
    // Neither logged errors nor, in a sanitizer build, reports.
    const std::string log = p->stderr_text();
    INFO(log);
    CHECK(log.find(" ERROR ") == std::string::npos);
    CHECK(log.find("Sanitizer") == std::string::npos);
    CHECK(log.find("runtime error:") == std::string::npos);
  }
}

// The half-close travels across the mutual TLS hop as a FIN on its TCP connection; the answer
// still comes back the other way.
TEST_CASE("a meshed TCP client that half-closes still gets its echo", "[mesh][netns]") {
  Mesh mesh;
  // echo-client's TCP exchange sends a line, shuts down its sending side and reads the echo until
  // the server closes, as `nc -N` and many request/response protocols do.
  const auto r = mesh.run_client(mesh.a, {"--message", "half-close", "--tcp", kServiceIp + ":8100"});
  INFO(r.text);
  INFO(mesh.proxy_a->stderr_text());
  CHECK(r.exit_code == 0);
  CHECK(r.json.is_object());
  CHECK(r.json.value("/tcp/reply"_json_pointer, "") == "half-close");
}

TEST_CASE("the mesh leaves unmeshed clients and unknown destinations working", "[mesh][netns]") {
  Mesh mesh;
  const std::string b_pod = pod_name("server", mesh.b);
  const std::string c_pod = pod_name("plain", mesh.c);

  SECTION("a plain pod reaches the meshed server at its pod IP with every protocol") {
    const std::string b = mesh.b.ip;
    const auto r =
        mesh.run_client(mesh.c, {"--timeout", "10s", "--http1", "http://" + b + ":8080/direct", "--h2c",
                                 "http://" + b + ":8080/h2", "--grpc", b + ":8090", "--ws",
                                 "ws://" + b + ":8080/ws", "--tcp", b + ":8100", "--banner", b + ":8110"});
    INFO(r.text);
    INFO(mesh.proxy_b->stderr_text());
    CHECK(r.exit_code == 0);
    REQUIRE(r.json.is_object());
    for (const char* kind : {"http1", "h2c", "grpc", "ws", "banner"}) {
      INFO(kind);
      CHECK(r.json[kind]["pod"] == b_pod);
    }
    CHECK(r.json["tcp"]["ok"] == true);
    // It went through B's inbound proxy, in the clear.
    CHECK(r.json["http1"]["response"]["remote"].get<std::string>().starts_with("127.0.0.1:"));
    std::string mb;
    CHECK(eventually([&] {
      mb = mesh.metrics(mesh.b);
      return metric(mb, "tcp_close_total",
                    {"direction=\"inbound\"", "peer=\"src\"", "tls=\"no_identity\"",
                     "no_tls_reason=\"no_tls_from_remote\""}) >= 6;
    }));
    INFO(mb);
    CHECK(metric(mb, "tcp_open_total", {"tls=\"true\""}) == -1);
  }

  SECTION("a meshed client reaches an address discovery does not know, in the clear") {
    const std::string c = mesh.c.ip;
    PacketCapture capture(mesh.net, mesh.net.node_ns(), mesh.c.veth);
    const std::string marker = "unknown-destination-" + std::to_string(getpid());
    const auto r = mesh.run_client(
        mesh.a, {"--message", marker, "--timeout", "10s", "--http1", "http://" + c + ":8080/plain", "--h2c",
                 "http://" + c + ":8080/h2", "--grpc", c + ":8090", "--tcp", c + ":8100"});
    INFO(r.text);
    INFO(mesh.proxy_a->stderr_text());
    CHECK(r.exit_code == 0);
    REQUIRE(r.json.is_object());
    for (const char* kind : {"http1", "h2c", "grpc"}) {
      INFO(kind);
      CHECK(r.json[kind]["pod"] == c_pod);
    }
    CHECK(r.json["tcp"]["reply"] == marker);
    // C sees pod A's own address: A's proxy forwarded the connection unchanged.
    CHECK(r.json["http1"]["response"]["remote"].get<std::string>().starts_with(mesh.a.ip + ":"));
    capture.stop();
    CHECK(capture.saw_plaintext(marker));
    std::string ma;
    CHECK(eventually([&] {
      ma = mesh.metrics(mesh.a);
      return metric(ma, "tcp_close_total",
                    {"direction=\"outbound\"", "peer=\"dst\"", "target_ip=\"" + c + "\"",
                     "tls=\"no_identity\"", "no_tls_reason=\"not_provided_by_service_discovery\""}) >= 4;
    }));
    INFO(ma);
    CHECK(metric(ma, "tcp_open_total", {"target_ip=\"" + c + "\"", "tls=\"true\""}) == -1);
  }
}

TEST_CASE("restarting the destination service loses no request", "[mesh][netns]") {
  Mesh mesh;
  int sent = 0;
  std::vector<std::string> failures;
  auto request = [&] {
    const std::string message = "request-" + std::to_string(++sent);
    const auto r = mesh.run_client(mesh.a, {"--message", message, "--timeout", "10s", "--http1",
                                            http_url("/" + message), "--grpc", kServiceIp + ":8090"});
    // echo-client exits 1 when any exchange failed.
    if (r.exit_code != 0) {
      failures.push_back(message + ": " + r.text);
    }
  };
  auto requests_for = [&](std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    do request();
    while (std::chrono::steady_clock::now() < until);
  };
  requests_for(1s);
  const int before_outage = sent;
  const std::string addr = mesh.destination_addr;
  const auto mark = mesh.proxy_a->stderr_text().size();
  // Killed outright: no goodbye to the proxies.
  CHECK(mesh.destination->stop(SIGKILL) == 128 + SIGKILL);
  CHECK(mesh.proxy_a->wait_for_log("destination-client: connection to", 10s, mark));
  requests_for(3s);
  const int during_outage = sent - before_outage;
  mesh.start_destination(addr);
  // Both proxies come back (their backoff may take a few seconds); requests go on meanwhile.
  CHECK(eventually(
      [&] {
        request();
        return mesh.destination_metrics().find("destination_connections_open 2") != std::string::npos;
      },
      30s));
  requests_for(1s);
  INFO("requests: " << sent << ", " << during_outage << " of them while the destination was down");
  INFO(mesh.proxy_a->stderr_text());
  for (const auto& f : failures) UNSCOPED_INFO(f);
  CHECK(failures.empty());
  CHECK(before_outage >= 1);
  CHECK(during_outage >= 5);
  CHECK(sent - before_outage - during_outage >= 1);
}

TEST_CASE("SIGTERM lets the proxy finish a request in flight, refuse new ones and exit 0", "[mesh][netns]") {
  Mesh mesh;
  Mesh::ClientResult slow{};
  // A jthread: joined however the test ends, before the mesh goes.
  std::jthread in_flight([&] {
    slow = mesh.run_client(mesh.a, {"--timeout", "20s", "--http1", http_url("/slow?delay=4s")});
  });
  // The request is in flight once A's proxy holds its connection to B.
  const bool open = eventually([&] {
    return metric(mesh.metrics(mesh.a), "tcp_open_connections",
                  {"direction=\"outbound\"", "peer=\"dst\"", "tls=\"true\""}) == 1;
  });
  if (!open) {
    in_flight.join();
    FAIL("the slow request never opened a connection: " << slow.text);
  }
  const auto mark = mesh.proxy_a->stderr_text().size();
  REQUIRE(kill(mesh.proxy_a->pid(), SIGTERM) == 0);
  CHECK(mesh.proxy_a->wait_for_log("shutting down", 10s, mark));
  // New connections are refused while the old one drains.
  const auto refused = mesh.run_client(mesh.a, {"--timeout", "3s", "--http1", http_url("/late")});
  CHECK(refused.exit_code != 0);
  in_flight.join();
  INFO(slow.text);
  CHECK(slow.exit_code == 0);
  CHECK(slow.json["http1"]["ok"] == true);
  CHECK(slow.json["http1"]["pod"] == pod_name("server", mesh.b));
  // Signal 0 only waits: the proxy exits by itself once its last connection closed.
  const int code = mesh.proxy_a->stop(0, 15s);
  INFO(mesh.proxy_a->stderr_text());
  CHECK(code == 0);
  CHECK(mesh.proxy_a->stderr_text().find("drained", mark) != std::string::npos);
  CHECK(mesh.proxy_a->stderr_text().find("Sanitizer") == std::string::npos);
}

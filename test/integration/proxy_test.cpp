// Two proxies in-process on loopback: the outbound side of A talks to the inbound side of B over
// mutual TLS with certificates from a real `meshctl identity` process; discovery is a fake
// resolver; the application is a real echo/HTTP backend and real clients (curl, raw sockets).
// Nothing is redirected on loopback, so the test tells each proxy which original destination
// to assume for the connections it accepts.
#include <signal.h>

#include <catch2/catch.hpp>
#include <mutex>
#include <regex>
#include <thread>

#include "core/identity/identity_client.h"
#include "core/tls/files.h"
#include "dataplane/proxy/proxy.h"
#include "support/echo_server.h"
#include "support/fake_resolver.h"
#include "support/process.h"
#include "support/proxy_fixture.h"

using namespace meshctl;
using namespace std::chrono_literals;
using meshctl::test::EchoServer;
using meshctl::test::Process;
using meshctl::test::run_command;
using meshctl::test::TempDir;
namespace proxy = meshctl::dataplane::proxy;
namespace discovery = meshctl::core::discovery;

using namespace meshctl::test::proxy_fixture;

TEST_CASE("two proxies carry traffic over mutual TLS and account for it", "[proxy][integration]") {
  IdentityService identity;
  auto id_a = identity.client("a", kIdA);
  auto id_b = identity.client("b", kIdB);
  EchoServer backend;
  test::FakeResolver resolver;
  Destinations dst_a, dst_b;
  proxy::Proxy b(test_config(kIdB), resolver, [&] { return id_b->current(); }, dst_b.lookup());
  b.start();
  proxy::Proxy a(test_config(kIdA), resolver, [&] { return id_a->current(); }, dst_a.lookup());
  a.start();
  REQUIRE(a.ready());
  REQUIRE(b.ready());

  SECTION("opaque TCP rides the transport header to the right port, with both identities in the metrics") {
    resolver.set(target(backend.port()), meshed(backend.port(), b.inbound_port(), discovery::ProtocolHint::opaque));
    dst_a.set_outbound(backend.port());
    const auto echoed = test::tcp_exchange(a.outbound_port(), "ping over mtls\n", false, 3000, 15);
    CHECK(echoed == "ping over mtls\n");
    std::this_thread::sleep_for(300ms);
    const auto ma = a.metrics();
    INFO(ma);
    CHECK(metric(ma, "tcp_open_total",
                 {"direction=\"outbound\"", "peer=\"dst\"", "target_addr=\"" + target(backend.port()) + "\"",
                  "tls=\"true\"", "server_id=\"" + kIdB + "\"", "dst_pod=\"b-0\"", "dst_namespace=\"default\""}) == 1);
    CHECK(metric(ma, "tcp_write_bytes_total", {"peer=\"dst\"", "tls=\"true\""}) > 15);  // header + payload
    CHECK(metric(ma, "tcp_open_connections", {"direction=\"outbound\"", "peer=\"dst\""}) == 0);
    const auto mb = b.metrics();
    INFO(mb);
    CHECK(metric(mb, "tcp_open_total", {"direction=\"inbound\"", "peer=\"src\"", "tls=\"true\"",
                                        "client_id=\"" + kIdA + "\""}) == 1);
    CHECK(metric(mb, "tcp_read_bytes_total", {"direction=\"inbound\"", "peer=\"dst\"",
                                              "target_addr=\"" + target(backend.port()) + "\""}) == 15);
  }

  SECTION("HTTP/1 from curl reaches the backend through both proxies, keep-alive included") {
    resolver.set(target(backend.port()), meshed(backend.port(), b.inbound_port(), discovery::ProtocolHint::h2));
    dst_a.set_outbound(backend.port());
    const auto r = curl(a.outbound_port(), "/one", {"http://127.0.0.1:" + std::to_string(a.outbound_port()) + "/two"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("hello from backend /one") != std::string::npos);
    CHECK(r.out.find("hello from backend /two") != std::string::npos);
    CHECK(metric(b.metrics(), "tcp_open_total", {"client_id=\"" + kIdA + "\""}) == 1);
  }

  SECTION("a target discovery does not know passes through in the clear") {
    EchoServer other;
    dst_a.set_outbound(other.port());
    CHECK(test::tcp_exchange(a.outbound_port(), "plain\n", true) == "plain\n");
    const auto r = curl(a.outbound_port(), "/clear");
    CHECK(r.out.find("hello from backend /clear") != std::string::npos);
    std::this_thread::sleep_for(300ms);
    const auto ma = a.metrics();
    INFO(ma);
    CHECK(metric(ma, "tcp_open_total", {"peer=\"dst\"", "target_addr=\"" + target(other.port()) + "\"",
                                        "tls=\"no_identity\"", "no_tls_reason=\"not_provided_by_service_discovery\""}) == 2);
    CHECK(metric(b.metrics(), "tcp_open_total", {"direction=\"inbound\""}) == -1);
  }

  SECTION("plaintext arriving at the inbound listener is forwarded to the application") {
    dst_b.set_inbound(backend.port());
    CHECK(test::tcp_exchange(b.inbound_port(), "direct\n", true) == "direct\n");
    std::this_thread::sleep_for(300ms);
    CHECK(metric(b.metrics(), "tcp_open_total",
                 {"direction=\"inbound\"", "peer=\"src\"", "tls=\"no_identity\"", "no_tls_reason=\"no_tls_from_remote\""}) == 1);
  }

  SECTION("errors the proxy produces are HTTP responses naming the cause") {
    SECTION("503 when the service has no endpoints") {
      EchoServer unused;
      discovery::EndpointSet empty;
      empty.exists = true;
      resolver.set(target(unused.port()), empty);
      dst_a.set_outbound(unused.port());
      const auto r = curl(a.outbound_port(), "/");
      CHECK(r.out.rfind("HTTP/1.1 503", 0) == 0);
      CHECK(r.out.find("meshctl-proxy-error: no endpoints") != std::string::npos);
    }
    SECTION("503 to HTTP/2 and gRPC clients, with the matching grpc-status") {
      EchoServer unused;
      discovery::EndpointSet empty;
      empty.exists = true;
      resolver.set(target(unused.port()), empty);
      dst_a.set_outbound(unused.port());
      const auto h2 = curl(a.outbound_port(), "/", {"--http2-prior-knowledge"});
      INFO(h2.out << h2.err);
      CHECK(h2.out.rfind("HTTP/2 503", 0) == 0);
      CHECK(h2.out.find("meshctl-proxy-error: no endpoints") != std::string::npos);
      const auto grpc = curl(a.outbound_port(), "/pkg.Svc/Call",
                             {"--http2-prior-knowledge", "-H", "content-type: application/grpc", "-d", ""});
      INFO(grpc.out << grpc.err);
      CHECK(grpc.out.rfind("HTTP/2 200", 0) == 0);
      CHECK(grpc.out.find("grpc-status: 14") != std::string::npos);
    }
    SECTION("502 when the endpoint refuses the connection") {
      int closed_port = 0;
      {
        EchoServer gone;
        closed_port = gone.port();
      }
      dst_a.set_outbound(closed_port);
      const auto r = curl(a.outbound_port(), "/");
      CHECK(r.out.rfind("HTTP/1.1 502", 0) == 0);
      CHECK(r.out.find("meshctl-proxy-error: connect to") != std::string::npos);
    }
    SECTION("504 when connecting times out") {
      test::BlackholeListener hole;
      dst_a.set_outbound(hole.port());
      const auto r = curl(a.outbound_port(), "/");
      INFO(r.out);
      CHECK(r.out.rfind("HTTP/1.1 504", 0) == 0);
      CHECK(r.out.find("timed out") != std::string::npos);
    }
    SECTION("502 when the peer cannot prove the identity discovery named") {
      auto wrong = meshed(backend.port(), b.inbound_port(), discovery::ProtocolHint::h2);
      wrong.endpoints[0].identity = "c.default.serviceaccount.identity.meshctl.cluster.local";
      resolver.set(target(backend.port()), wrong);
      dst_a.set_outbound(backend.port());
      const auto r = curl(a.outbound_port(), "/");
      CHECK(r.out.rfind("HTTP/1.1 502", 0) == 0);
      CHECK(r.out.find("TLS handshake") != std::string::npos);
      CHECK(backend.accepted() == 0);
    }
  }

  SECTION("a server-speaks-first protocol waits only the short detect timeout; opaque ports not at all") {
    EchoServer smtp("220 mail ready\r\n");
    dst_a.set_outbound(smtp.port());
    auto start = std::chrono::steady_clock::now();
    CHECK(test::tcp_exchange(a.outbound_port(), "", false, 3000, 16) == "220 mail ready\r\n");
    const auto waited = std::chrono::steady_clock::now() - start;
    CHECK(waited >= 250ms);
    CHECK(waited < 1500ms);

    auto config = test_config(kIdA);
    config.opaque_ports = proxy::parse_port_set(std::to_string(smtp.port()), "test");
    proxy::Proxy c(config, resolver, [&] { return id_a->current(); }, dst_a.lookup());
    c.start();
    start = std::chrono::steady_clock::now();
    CHECK(test::tcp_exchange(c.outbound_port(), "", false, 3000, 16) == "220 mail ready\r\n");
    CHECK(std::chrono::steady_clock::now() - start < 200ms);
  }
}

TEST_CASE("admin endpoints and graceful shutdown", "[proxy][integration]") {
  test::FakeResolver resolver;
  EchoServer backend;
  Destinations dst;
  dst.set_outbound(backend.port());
  std::shared_ptr<const core::identity::CertifiedIdentity> none;
  proxy::Proxy p(test_config(kIdA), resolver, [&] { return none; }, dst.lookup());
  p.start();
  const int admin = p.admin_port();

  CHECK(curl(admin, "/live").out.find("200 OK") != std::string::npos);
  const auto not_ready = curl(admin, "/ready");
  CHECK(not_ready.out.rfind("HTTP/1.1 503", 0) == 0);
  CHECK(not_ready.out.find("not ready") != std::string::npos);
  CHECK(curl(admin, "/metrics").out.find("proxy_ready 0") != std::string::npos);
  CHECK(curl(admin, "/nope").out.rfind("HTTP/1.1 404", 0) == 0);
  CHECK(curl(admin, "/shutdown").out.rfind("HTTP/1.1 405", 0) == 0);

  SECTION("POST /shutdown drains an in-flight request before stopping") {
    std::string slow;
    std::thread client([&] { slow = curl(p.outbound_port(), "/slow").out; });
    std::this_thread::sleep_for(300ms);
    CHECK(curl(admin, "/shutdown", {"-X", "POST"}).out.rfind("HTTP/1.1 200", 0) == 0);
    std::this_thread::sleep_for(100ms);
    // No new connections once shutting down.
    CHECK(test::tcp_exchange(p.outbound_port(), "x", true, 500) != "x");
    p.wait();
    client.join();
    CHECK(slow.find("hello from backend /slow") != std::string::npos);
  }

  SECTION("SIGTERM drains an in-flight request before stopping") {
    p.shutdown_on_signals();
    std::string slow;
    std::thread client([&] { slow = curl(p.outbound_port(), "/slow").out; });
    std::this_thread::sleep_for(300ms);
    kill(getpid(), SIGTERM);
    p.wait();
    client.join();
    CHECK(slow.find("hello from backend /slow") != std::string::npos);
  }
}

TEST_CASE("meshctl proxy lists its environment and names bad variables", "[proxy][integration]") {
  const auto help = run_command({kBinary, "proxy", "--help"});
  CHECK(help.exit_code == 0);
  for (const char* name : {"MESHCTL_PROXY_DESTINATION_ADDR", "MESHCTL_PROXY_IDENTITY_NAME", "MESHCTL_PROXY_OPAQUE_PORTS",
                           "MESHCTL_PROXY_DETECT_TIMEOUT", "MESHCTL_PROXY_SHUTDOWN_GRACE_PERIOD"}) {
    CHECK(help.out.find(name) != std::string::npos);
  }
  CHECK(help.out.find("default \"1000ms\"") != std::string::npos);

  const auto bad = run_command({"/usr/bin/env", "MESHCTL_PROXY_OPAQUE_PORTS=25,smtp", kBinary, "proxy"});
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("MESHCTL_PROXY_OPAQUE_PORTS") != std::string::npos);
  const auto missing = run_command({"/usr/bin/env", "-u", "MESHCTL_PROXY_IDENTITY_ADDR", kBinary, "proxy"});
  CHECK(missing.exit_code != 0);
  CHECK(missing.err.find("MESHCTL_PROXY_IDENTITY_ADDR is required") != std::string::npos);
}

// The proxy's HTTP layer between two in-process proxies on loopback, with the Go echo-server as
// the application and real clients (the Go echo-client, curl): HTTP/1.1 rides multiplexed
// HTTP/2 between the proxies and arrives as HTTP/1.1; h2c and gRPC keep their version and
// trailers; WebSocket upgrades pass through; every request is counted with both identities;
// oversized or malformed requests get 431 or 400 and the proxy keeps serving.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "support/echo_server.h"
#include "support/fake_resolver.h"
#include "support/netns.h"
#include "support/process.h"
#include "support/proxy_fixture.h"

using namespace meshctl;
using namespace meshctl::test::proxy_fixture;
using meshctl::test::Process;
using meshctl::test::run_command;

namespace {

// A port nothing listens on right now, for the echo-server to take.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

struct GoEcho {
  test::TempDir dir;
  int http = free_port();
  int grpc = free_port();
  std::unique_ptr<Process> proc;
  GoEcho() {
    proc = std::make_unique<Process>(std::vector<std::string>{
        test::go_test_app("echo-server"), "--pod", "b-0", "--addr", "127.0.0.1", "--http-port", std::to_string(http),
        "--grpc-port", std::to_string(grpc), "--tcp-port", "0", "--banner-port", "0"},
        dir.path());
    INFO(proc->stderr_text());
    REQUIRE(proc->wait_for_log("listening", 30s));
  }
};

test::CommandResult echo_client(const std::vector<std::string>& args) {
  std::vector<std::string> argv{test::go_test_app("echo-client"), "--message", "through two proxies"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

// Whether the application's answer (the "response" part of echo-client's report) names `proto`
// as the version its request arrived in.
bool app_saw(const std::string& report, const std::string& proto) {
  const auto response = report.find("\"response\"");
  return response != std::string::npos && report.find("\"proto\": \"" + proto + "\"", response) != std::string::npos;
}

}  // namespace

TEST_CASE("the HTTP layer carries each request between proxies and counts it", "[proxy][integration]") {
  IdentityService identity;
  auto id_a = identity.client("a", kIdA);
  auto id_b = identity.client("b", kIdB);
  GoEcho app;
  test::FakeResolver resolver;
  Destinations dst_a, dst_b;
  proxy::Proxy b(test_config(kIdB), resolver, [&] { return id_b->current(); }, dst_b.lookup());
  b.start();
  proxy::Proxy a(test_config(kIdA), resolver, [&] { return id_a->current(); }, dst_a.lookup());
  a.start();
  resolver.set(target(app.http), meshed(app.http, b.inbound_port(), discovery::ProtocolHint::h2));
  resolver.set(target(app.grpc), meshed(app.grpc, b.inbound_port(), discovery::ProtocolHint::h2));
  const std::string via_a = "127.0.0.1:" + std::to_string(a.outbound_port());

  SECTION("HTTP/1.1 arrives as HTTP/1.1 and is counted on both sides with both identities") {
    dst_a.set_outbound(app.http);
    const auto r = echo_client({"--http1", "http://" + via_a + "/hello"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(app_saw(r.out, "HTTP/1.1"));
    CHECK(r.out.find("through two proxies") != std::string::npos);
    // Mesh-internal headers never reach the application.
    CHECK(r.out.find("Meshctl-") == std::string::npos);
    std::this_thread::sleep_for(200ms);
    const auto ma = a.metrics();
    INFO(ma);
    const std::vector<std::string> out_labels{"direction=\"outbound\"", "authority=\"" + via_a + "\"",
                                              "target_addr=\"" + target(app.http) + "\"", "tls=\"true\"",
                                              "server_id=\"" + kIdB + "\"", "dst_pod=\"b-0\""};
    CHECK(metric(ma, "request_total", out_labels) == 1);
    auto ok = out_labels;
    ok.insert(ok.end(), {"status_code=\"200\"", "classification=\"success\""});
    CHECK(metric(ma, "response_total", ok) == 1);
    CHECK(metric(ma, "response_latency_ms_count", out_labels) == 1);
    CHECK(metric(ma, "response_latency_ms_bucket", {"direction=\"outbound\"", "le=\"+Inf\""}) == 1);
    const auto mb = b.metrics();
    INFO(mb);
    CHECK(metric(mb, "request_total", {"direction=\"inbound\"", "tls=\"true\"", "client_id=\"" + kIdA + "\"",
                                       "target_addr=\"" + target(app.http) + "\""}) == 1);
    CHECK(metric(mb, "response_total", {"direction=\"inbound\"", "status_code=\"200\"", "classification=\"success\""}) == 1);
  }

  SECTION("HTTP/1 requests from many connections share one HTTP/2 connection between the proxies") {
    dst_a.set_outbound(app.http);
    for (int i = 0; i < 10; ++i) {
      const auto r = curl(a.outbound_port(), "/n" + std::to_string(i));
      REQUIRE(r.out.rfind("HTTP/1.1 200", 0) == 0);
    }
    std::this_thread::sleep_for(200ms);
    const auto mb = b.metrics();
    INFO(mb);
    CHECK(metric(mb, "request_total", {"direction=\"inbound\"", "client_id=\"" + kIdA + "\""}) == 10);
    // Two workers: at most one connection each.
    CHECK(metric(mb, "tcp_open_total", {"direction=\"inbound\"", "peer=\"src\"", "client_id=\"" + kIdA + "\""}) <= 2);
  }

  SECTION("chunked request bodies and keep-alive survive the trip") {
    dst_a.set_outbound(app.http);
    const auto r = curl(a.outbound_port(), "/upload",
                        {"-H", "Transfer-Encoding: chunked", "--data-binary", std::string(100000, 'x'),
                         "http://" + via_a + "/second"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find(std::string(1000, 'x')) != std::string::npos);
    CHECK(r.out.find("\"path\":\"/second\"") != std::string::npos);
  }

  SECTION("h2c keeps HTTP/2 end to end") {
    dst_a.set_outbound(app.http);
    const auto r = echo_client({"--h2c", "http://" + via_a + "/h2"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(app_saw(r.out, "HTTP/2.0"));
  }

  SECTION("gRPC keeps its trailers and is classified by grpc-status") {
    dst_a.set_outbound(app.grpc);
    const auto r = echo_client({"--grpc", via_a});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("through two proxies") != std::string::npos);
    std::this_thread::sleep_for(200ms);
    const auto ma = a.metrics();
    INFO(ma);
    CHECK(metric(ma, "response_total", {"direction=\"outbound\"", "grpc_status=\"0\"", "classification=\"success\""}) == 1);
  }

  SECTION("a WebSocket upgrade is carried as a byte stream") {
    dst_a.set_outbound(app.http);
    const auto r = echo_client({"--ws", "ws://" + via_a + "/ws"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("b-0: through two proxies") != std::string::npos);
  }

  SECTION("oversized and malformed requests get 431 and 400, and the proxy keeps serving") {
    dst_a.set_outbound(app.http);
    const auto big = curl(a.outbound_port(), "/", {"-H", "X-Big: " + std::string(70000, 'b')});
    CHECK(big.out.rfind("HTTP/1.1 431", 0) == 0);
    std::vector<std::string> many;
    for (int i = 0; i < 150; ++i) many.insert(many.end(), {"-H", "X-H" + std::to_string(i) + ": v"});
    const auto lots = curl(a.outbound_port(), "/", many);
    CHECK(lots.out.rfind("HTTP/1.1 431", 0) == 0);
    const auto bad = test::tcp_exchange(a.outbound_port(), "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", true);
    CHECK(bad.rfind("HTTP/1.1 400", 0) == 0);
    // HTTP/2 clients cap what they send near 64 KiB themselves; too many fields trips the limit.
    std::vector<std::string> h2many{"--http2-prior-knowledge"};
    for (int i = 0; i < 300; ++i) h2many.insert(h2many.end(), {"-H", "x-h" + std::to_string(i) + ": v"});
    const auto h2big = curl(a.outbound_port(), "/", h2many);
    INFO(h2big.out << h2big.err);
    CHECK(h2big.out.rfind("HTTP/2 431", 0) == 0);
    const auto after = curl(a.outbound_port(), "/still");
    CHECK(after.out.rfind("HTTP/1.1 200", 0) == 0);
  }

  SECTION("a 5xx from the application is a failure in response_total") {
    // The echo-server answers 200 to everything; a closed port behind B makes B answer 502.
    int closed_port = free_port();
    resolver.set(target(closed_port), meshed(closed_port, b.inbound_port(), discovery::ProtocolHint::h2));
    dst_a.set_outbound(closed_port);
    const auto r = curl(a.outbound_port(), "/");
    INFO(r.out);
    CHECK(r.out.rfind("HTTP/1.1 502", 0) == 0);
    CHECK(r.out.find("meshctl-proxy-error: connect to 127.0.0.1:" + std::to_string(closed_port)) != std::string::npos);
    std::this_thread::sleep_for(200ms);
    CHECK(metric(a.metrics(), "response_total", {"direction=\"outbound\"", "status_code=\"502\"",
                                                 "classification=\"failure\""}) == 1);
  }

  SECTION("proxies shutting down finish the request in flight between them") {
    test::EchoServer slow_app;  // "/slow" answers after a second
    resolver.set(target(slow_app.port()), meshed(slow_app.port(), b.inbound_port(), discovery::ProtocolHint::h2));
    dst_a.set_outbound(slow_app.port());
    std::string answer;
    std::thread client([&] { answer = curl(a.outbound_port(), "/slow").out; });
    std::this_thread::sleep_for(400ms);
    b.shutdown();
    a.shutdown();
    a.wait();
    b.wait();
    client.join();
    CHECK(answer.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(answer.find("hello from backend /slow") != std::string::npos);
  }

  SECTION("HTTP from an unmeshed client reaches the application and is counted without identity") {
    dst_b.set_inbound(app.http);
    const auto r = curl(b.inbound_port(), "/plain");
    INFO(r.out << r.err);
    CHECK(r.out.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(r.out.find("\"path\":\"/plain\"") != std::string::npos);
    const auto h2 = curl(b.inbound_port(), "/plain2", {"--http2-prior-knowledge"});
    CHECK(h2.out.rfind("HTTP/2 200", 0) == 0);
    std::this_thread::sleep_for(200ms);
    const auto mb = b.metrics();
    INFO(mb);
    CHECK(metric(mb, "request_total", {"direction=\"inbound\"", "tls=\"no_identity\"",
                                       "no_tls_reason=\"no_tls_from_remote\"", "target_addr=\"" + target(app.http) + "\""}) == 2);
  }

  SECTION("flow-control windows are handed back: megabytes of answers over one pooled connection") {
    dst_a.set_outbound(app.http);
    // 150 answers of ~12 KiB each: far more than one connection window (1 MiB) in total, so
    // any byte not handed back would stall the shared connection before the end.
    std::vector<std::string> args{"-d", std::string(12000, 'w')};
    for (int i = 0; i < 150; ++i) args.push_back("http://" + via_a + "/w" + std::to_string(i));
    const auto r = curl(a.outbound_port(), "/w", args);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("\"path\":\"/w149\"") != std::string::npos);
  }

  SECTION("thousands of concurrent requests complete: flow-control windows are handed back") {
    dst_a.set_outbound(app.http);
    // 6,000 HTTP/1.1 and then 6,000 HTTP/2 answers over the proxies' pooled connections: several
    // times their 1 MiB windows, so a byte whose window was not handed back would, sooner or
    // later, stall every stream sharing the connection.
    for (const char* version : {"--h1", "--no-tls-proto=h2c"}) {
      const auto r = run_command({"/usr/bin/timeout", "60", "/usr/bin/h2load", version, "-n", "6000", "-c", "16", "-t",
                                  "2", "-m", "4", "http://" + via_a + "/"});
      INFO(version << "\n" << r.out << r.err);
      CHECK(r.out.find("6000 succeeded, 0 failed, 0 errored") != std::string::npos);
    }
  }
}

// The harness the meshed-path tests stand on, proved without any proxy: two pods on the test
// bridge, pod A's echo-client reaches pod B's echo-server for every kind of traffic, a capture
// on B's veth sees the request in plaintext, and nothing the network created outlives it.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/netns.h"

using namespace meshctl::test;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {

std::string own_prefix() { return "mt-" + std::to_string(getpid()) + "-"; }

}  // namespace

TEST_CASE("two pods on the test bridge talk HTTP/1.1, h2c, gRPC, WebSocket and TCP in the clear", "[netns]") {
  const std::string server = go_test_app("echo-server");
  const std::string client = go_test_app("echo-client");
  std::unique_ptr<Process> outlives_network;
  {
    TestNetwork net;
    const auto a = net.add_pod("a");
    const auto b = net.add_pod("b");
    CHECK(a.ip != b.ip);
    CHECK(net.exec_in(net.node_ns(), {"sysctl", "-n", "net.ipv4.ip_forward"}).out == "0\n");
    CHECK(net.exec_in(a.ns, {"id", "-u"}, 2102).out == "2102\n");
    CHECK(net.exec_in(a.ns, {"id", "-G"}, 2102).out == "2102\n");

    auto echo = net.run_in(b.ns, {server, "--pod", "b"});
    REQUIRE(echo->wait_for_log("listening", 10s));
    // Started, then left to the network to stop.
    outlives_network = net.run_in(a.ns, {"sleep", "600"});

    PacketCapture capture(net, net.node_ns(), b.veth);
    const std::string marker = "plaintext-marker-" + std::to_string(getpid());
    const std::string http = "http://" + b.ip + ":8080";
    const auto r = net.exec_in(a.ns, {client, "--message", marker, "--http1", http + "/one", "--h2c", http + "/two",
                                      "--grpc", b.ip + ":8090", "--ws", "ws://" + b.ip + ":8080/ws", "--tcp",
                                      b.ip + ":8100", "--banner", b.ip + ":8110"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const auto results = Json::parse(r.out);
    for (const char* kind : {"http1", "h2c", "grpc", "ws", "banner"}) {
      INFO(kind);
      CHECK(results[kind]["ok"] == true);
      CHECK(results[kind]["pod"] == "b");
    }
    CHECK(results["tcp"]["reply"] == marker);
    CHECK(results["http1"]["proto"] == "HTTP/1.1");
    CHECK(results["h2c"]["proto"] == "HTTP/2.0");
    CHECK(results["http1"]["response"]["path"] == "/one");
    // The server sees pod A's own address: nothing translated on the way.
    CHECK(results["http1"]["response"]["remote"].get<std::string>().starts_with(a.ip + ":"));

    const size_t packets = capture.stop();
    INFO("tcpdump: " << capture.log());
    CHECK(packets > 0);
    CHECK(capture.saw_plaintext(marker));
    CHECK(capture.saw_plaintext("POST /one HTTP/1.1\r\n"));
    CHECK(capture.saw_plaintext("banner from b\n"));
    CHECK_FALSE(capture.saw_plaintext("never-sent-" + marker));
    CHECK(namespaces_with_prefix(own_prefix()).size() == 3);
  }
  CHECK(namespaces_with_prefix(own_prefix()).empty());
  CHECK(outlives_network->stop(SIGTERM, 1s) == 128 + SIGKILL);
}

TEST_CASE("namespaces left by a run that died are removed by the next one", "[netns]") {
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  const std::string stale = "mt-" + std::to_string(dead) + "-1-node";
  REQUIRE(run_command({"ip", "netns", "add", stale}).exit_code == 0);
  struct Remove {
    std::string ns;
    ~Remove() { run_command({"ip", "netns", "delete", ns}); }
  } remove_even_on_failure{stale};
  // Our own namespaces are kept: this process is alive.
  TestNetwork net;
  CHECK(namespaces_with_prefix(stale).empty());
  CHECK(namespaces_with_prefix(own_prefix()).size() == 1);
}

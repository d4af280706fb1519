// `meshctl proxy init` for real, inside a pod namespace the test creates: the rules it installs
// as iptables-save prints them, a second run that changes nothing, and TCP really landing on the
// outbound port with its original destination, except the proxy's own.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <regex>
#include <sstream>
#include <utility>

#include "support/netns.h"

using namespace meshctl::test;
using namespace std::chrono_literals;

namespace {

const std::string kBinary = MESHCTL_BINARY;

// Closes its socket however the test ends.
struct Socket {
  int fd;
  explicit Socket(int f) : fd(f) {}
  ~Socket() {
    if (fd >= 0) close(fd);
  }
  Socket(Socket&& other) noexcept : fd(std::exchange(other.fd, -1)) {}
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
};

sockaddr_in address(const std::string& ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  REQUIRE(inet_pton(AF_INET, ip.c_str(), &a.sin_addr) == 1);
  return a;
}

std::string to_string(const sockaddr_in& a) {
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
  return std::string(buf) + ":" + std::to_string(ntohs(a.sin_port));
}

Socket listen_in(const std::string& ns, const std::string& ip, int port) {
  Socket s(tcp_socket_in(ns));
  const int one = 1;
  setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const auto a = address(ip, port);
  REQUIRE(bind(s.fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(listen(s.fd, 16) == 0);
  return s;
}

// The next connection a listener has, or -1 when none arrives within `wait`.
int accept_within(const Socket& listener, std::chrono::milliseconds wait) {
  pollfd p{listener.fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(wait.count())) != 1) return -1;
  return accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC);
}

// Connects from a process inside `ns` running as `uid`; true when the TCP handshake completed
// (whoever answered it). bash's /dev/tcp keeps the client free of anything else.
bool connect_as(TestNetwork& net, const std::string& ns, int uid, const std::string& ip, int port) {
  const auto r = net.exec_in(ns, {"timeout", "5", "bash", "-c", "exec 3<>/dev/tcp/" + ip + "/" + std::to_string(port)}, uid);
  return r.exit_code == 0;
}

// iptables-save without its timestamped comments and packet counters, so two saves compare.
std::string nat_rules(TestNetwork& net, const std::string& ns, const std::string& tool = "iptables-nft-save") {
  const auto r = net.exec_in(ns, {tool, "-t", "nat"});
  REQUIRE(r.exit_code == 0);
  std::string out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("#")) continue;
    out += std::regex_replace(line, std::regex(R"(\[\d+:\d+\]$)"), "[0:0]") + "\n";
  }
  return out;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

const std::string kExpectedChains =
    "-A PREROUTING -j MESHCTL_INIT_REDIRECT\n"
    "-A OUTPUT -j MESHCTL_INIT_OUTPUT\n"
    "-A MESHCTL_INIT_OUTPUT -m owner --uid-owner 2102 -j RETURN\n"
    "-A MESHCTL_INIT_OUTPUT -o lo -j RETURN\n"
    "-A MESHCTL_INIT_OUTPUT -p tcp -m tcp --dport 9999 -j RETURN\n"
    "-A MESHCTL_INIT_OUTPUT -d 192.0.2.0/24 -j RETURN\n"
    "-A MESHCTL_INIT_OUTPUT -p tcp -j REDIRECT --to-ports 4140\n"
    "-A MESHCTL_INIT_REDIRECT -p tcp -m tcp --dport 4190 -j RETURN\n"
    "-A MESHCTL_INIT_REDIRECT -p tcp -m tcp --dport 4191 -j RETURN\n"
    "-A MESHCTL_INIT_REDIRECT -p tcp -m tcp --dport 4567:4568 -j RETURN\n"
    "-A MESHCTL_INIT_REDIRECT -p tcp -j REDIRECT --to-ports 4143\n";

std::vector<std::string> init_argv(const std::string& mode) {
  return {kBinary, "proxy", "init", "--inbound-port", "4143", "--outbound-port", "4140", "--proxy-uid", "2102",
          "--skip-inbound-ports", "4191,4567-4568", "--skip-outbound-ports", "9999", "--skip-subnets", "192.0.2.0/24",
          "--iptables-mode", mode};
}

}  // namespace

TEST_CASE("proxy init installs its chains once, however often it runs", "[init][netns]") {
  TestNetwork net;
  for (const std::string mode : {"nft", "legacy"}) {
    DYNAMIC_SECTION("iptables-" << mode) {
      const auto pod = net.add_pod(mode == "nft" ? "nft" : "legacy");
      const std::string save = mode == "nft" ? "iptables-nft-save" : "iptables-legacy-save";
      const auto first = net.exec_in(pod.ns, init_argv(mode));
      INFO(first.err);
      REQUIRE(first.exit_code == 0);
      CHECK(first.out.starts_with("proxy init: installed the redirect rules with iptables-" + mode + "-restore:\n*nat\n"));
      const std::string rules = nat_rules(net, pod.ns, save);
      CHECK(rules.find(kExpectedChains) != std::string::npos);
      CHECK(count(rules, ":MESHCTL_INIT_REDIRECT - [0:0]\n") == 1);
      CHECK(count(rules, ":MESHCTL_INIT_OUTPUT - [0:0]\n") == 1);

      const auto second = net.exec_in(pod.ns, init_argv(mode));
      REQUIRE(second.exit_code == 0);
      CHECK(second.out.starts_with("proxy init: replaced the redirect rules"));
      CHECK(nat_rules(net, pod.ns, save) == rules);

      const auto removed = net.exec_in(pod.ns, {kBinary, "proxy", "init", "--uninstall", "--iptables-mode", mode});
      REQUIRE(removed.exit_code == 0);
      CHECK(nat_rules(net, pod.ns, save).find("MESHCTL") == std::string::npos);
      const auto again = net.exec_in(pod.ns, {kBinary, "proxy", "init", "--uninstall", "--iptables-mode", mode});
      CHECK(again.out == "proxy init: no MESHCTL_INIT_REDIRECT or MESHCTL_INIT_OUTPUT rules to remove\n");
    }
  }
}

TEST_CASE("proxy init without CAP_NET_ADMIN fails with one line and changes nothing", "[init][netns]") {
  TestNetwork net;
  const auto pod = net.add_pod("app");
  const auto r = net.exec_in(pod.ns, {kBinary, "proxy", "init"}, 65534);
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "Error: proxy init: changing iptables rules needs CAP_NET_ADMIN and CAP_NET_RAW, which this process does not "
        "have\n");
  CHECK(nat_rules(net, pod.ns).find("MESHCTL") == std::string::npos);

  // Root without NET_ADMIN in its bounding set, as in a container that did not add it.
  const auto no_admin = net.exec_in(
      pod.ns, {"setpriv", "--bounding-set=-net_admin", "--inh-caps=-net_admin", kBinary, "proxy", "init"});
  CHECK(no_admin.exit_code == 1);
  CHECK(no_admin.err == "Error: proxy init: changing iptables rules needs CAP_NET_ADMIN, which this process does not have\n");
  CHECK(nat_rules(net, pod.ns).find("MESHCTL") == std::string::npos);

  const auto bad = net.exec_in(pod.ns, {kBinary, "proxy", "init", "--skip-subnets", "10.0.0.0/40"});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err == "Error: --skip-subnets: \"10.0.0.0/40\" is not an IPv4 CIDR (such as 10.0.0.0/8)\n");
}

TEST_CASE("outbound TCP lands on 4140 with its original destination but the proxy's own does not", "[init][netns]") {
  TestNetwork net;
  const auto pod = net.add_pod("app");
  const auto init = net.exec_in(pod.ns, {kBinary, "proxy", "init", "--skip-outbound-ports", "8081"});
  INFO(init.err);
  REQUIRE(init.exit_code == 0);

  // The proxy's outbound listener, and a real server on the node behind the pod's gateway.
  const Socket outbound = listen_in(pod.ns, "127.0.0.1", 4140);
  const Socket upstream = listen_in(net.node_ns(), net.gateway_ip(), 8080);
  const Socket skipped = listen_in(net.node_ns(), net.gateway_ip(), 8081);

  SECTION("an application's connection to an address on the pod subnet or a service IP is redirected") {
    for (const std::string& ip : std::vector<std::string>{net.gateway_ip(), TestNetwork::service_ip(10)}) {
      // Any application user but the proxy's is redirected.
      REQUIRE(connect_as(net, pod.ns, 1000, ip, 8080));
      const int conn = accept_within(outbound, 2s);
      REQUIRE(conn >= 0);
      const Socket accepted(conn);
      sockaddr_in original{};
      socklen_t len = sizeof original;
      REQUIRE(getsockopt(accepted.fd, SOL_IP, SO_ORIGINAL_DST, &original, &len) == 0);
      CHECK(to_string(original) == ip + ":8080");
      CHECK(accept_within(upstream, 0ms) < 0);
    }
  }

  SECTION("the proxy's UID, skipped ports and loopback go straight to the destination") {
    REQUIRE(connect_as(net, pod.ns, 2102, net.gateway_ip(), 8080));
    const int conn = accept_within(upstream, 2s);
    CHECK(conn >= 0);
    if (conn >= 0) close(conn);
    CHECK(accept_within(outbound, 0ms) < 0);

    REQUIRE(connect_as(net, pod.ns, 1000, net.gateway_ip(), 8081));
    const int direct = accept_within(skipped, 2s);
    CHECK(direct >= 0);
    if (direct >= 0) close(direct);
    CHECK(accept_within(outbound, 0ms) < 0);

    // Loopback traffic is never redirected: 4140 itself is reached on lo.
    const Socket skip_listener = listen_in(pod.ns, "127.0.0.1", 9000);
    REQUIRE(connect_as(net, pod.ns, 1000, "127.0.0.1", 9000));
    const int local = accept_within(skip_listener, 2s);
    CHECK(local >= 0);
    if (local >= 0) close(local);
    CHECK(accept_within(outbound, 0ms) < 0);
  }
}

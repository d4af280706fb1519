#pragma once
// What the proxy's loopback tests share: a real identity service with its PKI, a proxy
// configuration for loopback, the original destinations a test assigns, meshed endpoint sets, and
// reading a series out of /metrics text.

#include <catch2/catch.hpp>
#include <mutex>
#include <sstream>

#include "core/discovery/endpoint.h"
#include "core/identity/identity_client.h"
#include "core/tls/files.h"
#include "dataplane/proxy/proxy.h"
#include "support/process.h"

namespace meshctl::test::proxy_fixture {

using namespace std::chrono_literals;
namespace proxy = meshctl::dataplane::proxy;
namespace discovery = meshctl::core::discovery;

inline const std::string kBinary = MESHCTL_BINARY;
inline const std::string kIdentityServer = "meshctl-identity.meshctl.serviceaccount.identity.meshctl.cluster.local";
inline const std::string kIdA = "a.default.serviceaccount.identity.meshctl.cluster.local";
inline const std::string kIdB = "b.default.serviceaccount.identity.meshctl.cluster.local";

inline void must(const std::vector<std::string>& argv) {
  const auto r = run_command(argv);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

// The mesh's identity service as a real process, with a PKI made by the operator tools.
struct IdentityService {
  TempDir dir;
  std::unique_ptr<Process> proc;
  std::string addr;
  IdentityService() {
    must({kBinary, "identity", "create-anchor", "--cert", dir.file("ca.crt"), "--key", dir.file("ca.key")});
    must({kBinary, "identity", "create-issuer", "--anchor-cert", dir.file("ca.crt"), "--anchor-key", dir.file("ca.key"),
          "--cert", dir.file("issuer.crt"), "--key", dir.file("issuer.key")});
    must({kBinary, "identity", "create-token-key", "--private-key", dir.file("token.key"), "--public-key",
          dir.file("token.pub")});
    proc = std::make_unique<Process>(
        std::vector<std::string>{kBinary, "identity", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
                                 "--trust-anchors-file", dir.file("ca.crt"), "--issuer-certificate-file",
                                 dir.file("issuer.crt"), "--issuer-key-file", dir.file("issuer.key"),
                                 "--token-validator", "jwt", "--token-public-key-file", dir.file("token.pub")},
        dir.path());
    const auto line = proc->wait_for_log("serving certify on https://", 10s);
    INFO(proc->stderr_text());
    REQUIRE(line);
    addr = line->substr(line->find("https://") + 8);
    addr = addr.substr(0, addr.find(' '));
  }
  std::unique_ptr<core::identity::IdentityClient> client(const std::string& sa, const std::string& identity) {
    must({kBinary, "identity", "create-token", "--key", dir.file("token.key"), "--namespace", "default",
          "--service-account", sa, "--out", dir.file(sa + ".token")});
    core::identity::IdentityClientOptions o;
    o.identity_addr = addr;
    o.identity_server_name = kIdentityServer;
    o.local_identity = identity;
    o.token_file = dir.file(sa + ".token");
    o.trust_anchors = core::tls::load_bundle_file(dir.file("ca.crt"));
    auto c = std::make_unique<core::identity::IdentityClient>(o);
    c->start();
    REQUIRE(c->wait_ready(10s));
    return c;
  }
};

inline proxy::ProxyConfig test_config(const std::string& identity) {
  auto c = proxy::parse_proxy_config([](std::string_view) { return std::nullopt; });
  c.identity_name = identity;
  c.inbound_addr = {"127.0.0.1", 0};
  c.outbound_addr = {"127.0.0.1", 0};
  c.admin_addr = {"127.0.0.1", 0};
  c.detect_timeout = 300ms;
  c.outbound_connect_timeout = 300ms;
  c.shutdown_grace_period = 5s;
  c.workers = 2;
  return c;
}

// Where the test says accepted connections were going.
struct Destinations {
  std::mutex mu;
  core::net::SocketAddress outbound, inbound;
  void set_outbound(int port) {
    std::lock_guard lock(mu);
    outbound = {"127.0.0.1", port};
  }
  void set_inbound(int port) {
    std::lock_guard lock(mu);
    inbound = {"127.0.0.1", port};
  }
  proxy::OriginalDestination lookup() {
    return [this](int, proxy::Direction d) {
      std::lock_guard lock(mu);
      return d == proxy::Direction::outbound ? outbound : inbound;
    };
  }
};

inline discovery::EndpointSet meshed(int app_port, int inbound_port, discovery::ProtocolHint hint) {
  discovery::EndpointSet set;
  set.exists = true;
  discovery::Endpoint ep;
  ep.ip = "127.0.0.1";
  ep.port = app_port;
  ep.identity = kIdB;
  ep.hint = hint;
  ep.opaque_transport_port = inbound_port;
  ep.labels = {{"namespace", "default"}, {"pod", "b-0"}, {"serviceaccount", "b"}};
  set.endpoints.push_back(ep);
  return set;
}

inline test::CommandResult curl(int port, const std::string& path, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{"/usr/bin/curl", "-sS", "-i", "--noproxy", "*", "--max-time", "5", "http://127.0.0.1:" + std::to_string(port) + path};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return run_command(argv);
}

inline std::string target(int port) { return "127.0.0.1:" + std::to_string(port); }

// The value of the series of `family` whose labels contain every one of `labels`, or -1.
inline long long metric(const std::string& text, const std::string& family, const std::vector<std::string>& labels) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(family + "{", 0) != 0) continue;
    bool all = true;
    for (const auto& l : labels) all = all && line.find(l) != std::string::npos;
    if (all) return std::stoll(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

}  // namespace meshctl::test::proxy_fixture

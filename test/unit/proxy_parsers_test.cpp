// The proxy's parsers of untrusted bytes and of its environment.
#include <catch2/catch.hpp>
#include <map>
#include <random>

#include "core/error.h"
#include "core/net/client_hello.h"
#include "dataplane/proxy/config.h"
#include "dataplane/proxy/detect.h"
#include "dataplane/proxy/transport_header.h"

using namespace meshctl;
using namespace meshctl::dataplane::proxy;
namespace net = meshctl::core::net;

TEST_CASE("detection tells HTTP/2, HTTP/1 and opaque TCP apart", "[proxy]") {
  CHECK(detect_protocol("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").protocol == Protocol::http2);
  CHECK_FALSE(detect_protocol("PRI * HTTP/2").complete);
  const auto get = detect_protocol("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(get.protocol == Protocol::http1);
  CHECK(get.complete);
  CHECK(detect_protocol("POST /a HTTP/1.0\r\n").protocol == Protocol::http1);
  CHECK_FALSE(detect_protocol("GET / HTT").complete);
  CHECK_FALSE(detect_protocol("GE").complete);
  CHECK(detect_protocol("SSH-2.0-OpenSSH_9.2\r\n").protocol == Protocol::opaque);
  CHECK(detect_protocol("\x16\x03\x01\x02\x00").protocol == Protocol::opaque);
  CHECK(detect_protocol("GET / HTTP/2.0\r\n").protocol == Protocol::opaque);
  CHECK(detect_protocol("*1\r\n$4\r\nPING\r\n").protocol == Protocol::opaque);
  // A request line that never ends within the detection buffer is not waited on forever.
  CHECK(detect_protocol("GET /" + std::string(2000, 'a')).complete);
}

TEST_CASE("detection survives random bytes", "[proxy]") {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 64, '\0');
    for (auto& c : s) c = static_cast<char>(rng() % 4 == 0 ? "GET /HTP1.\r\n "[rng() % 13] : rng());
    (void)detect_protocol(s);
  }
}

TEST_CASE("the transport header round-trips and refuses garbage", "[proxy]") {
  TransportHeader h;
  const auto text = encode_transport_header(8080) + "payload";
  REQUIRE(decode_transport_header(text, h) == HeaderStatus::complete);
  CHECK(h.port == 8080);
  CHECK(text.substr(h.length) == "payload");
  CHECK(decode_transport_header("meshctl-transport/1 80", h) == HeaderStatus::incomplete);
  CHECK(decode_transport_header("meshctl-trans", h) == HeaderStatus::incomplete);
  CHECK(decode_transport_header("meshctl-transport/1 0\n", h) == HeaderStatus::invalid);
  CHECK(decode_transport_header("meshctl-transport/1 70000\n", h) == HeaderStatus::invalid);
  CHECK(decode_transport_header("meshctl-transport/1 8x\n", h) == HeaderStatus::invalid);
  CHECK(decode_transport_header("GET / HTTP/1.1\r\n", h) == HeaderStatus::invalid);
  CHECK(decode_transport_header("meshctl-transport/1 " + std::string(100, '1'), h) == HeaderStatus::invalid);
}

namespace {
// A ClientHello as a TLS 1.3 client would send it, with SNI and ALPN.
std::vector<unsigned char> client_hello(const std::string& sni, const std::vector<std::string>& alpn) {
  std::vector<unsigned char> ext;
  auto u16 = [](std::vector<unsigned char>& v, std::size_t n) {
    v.push_back(static_cast<unsigned char>(n >> 8));
    v.push_back(static_cast<unsigned char>(n));
  };
  {
    std::vector<unsigned char> list;
    list.push_back(0);
    u16(list, sni.size());
    list.insert(list.end(), sni.begin(), sni.end());
    u16(ext, 0);
    u16(ext, list.size() + 2);
    u16(ext, list.size());
    ext.insert(ext.end(), list.begin(), list.end());
  }
  {
    std::vector<unsigned char> list;
    for (const auto& p : alpn) {
      list.push_back(static_cast<unsigned char>(p.size()));
      list.insert(list.end(), p.begin(), p.end());
    }
    u16(ext, 16);
    u16(ext, list.size() + 2);
    u16(ext, list.size());
    ext.insert(ext.end(), list.begin(), list.end());
  }
  std::vector<unsigned char> body{3, 3};
  body.insert(body.end(), 32, 0xab);  // random
  body.push_back(0);                  // session id
  u16(body, 2);
  body.push_back(0x13);
  body.push_back(0x01);
  body.push_back(1);
  body.push_back(0);
  u16(body, ext.size());
  body.insert(body.end(), ext.begin(), ext.end());
  std::vector<unsigned char> hs{1, 0};
  u16(hs, body.size());
  hs.insert(hs.end(), body.begin(), body.end());
  std::vector<unsigned char> rec{22, 3, 1};
  u16(rec, hs.size());
  rec.insert(rec.end(), hs.begin(), hs.end());
  return rec;
}
}  // namespace

TEST_CASE("ClientHello sniffing reads SNI and ALPN from untrusted bytes", "[proxy]") {
  const auto hello = client_hello("web.default.serviceaccount.identity.meshctl.cluster.local", {"meshctl.io/transport", "h2"});
  const auto r = net::parse_client_hello(hello);
  REQUIRE(r.status == net::ClientHelloStatus::complete);
  CHECK(r.hello.server_name == "web.default.serviceaccount.identity.meshctl.cluster.local");
  CHECK(r.hello.alpn == std::vector<std::string>{"meshctl.io/transport", "h2"});
  for (std::size_t n = 0; n < hello.size(); ++n) {
    INFO(n);
    CHECK(net::parse_client_hello(std::span(hello.data(), n)).status == net::ClientHelloStatus::incomplete);
  }
  const std::string plain = "GET / HTTP/1.1\r\n";
  CHECK(net::parse_client_hello({reinterpret_cast<const unsigned char*>(plain.data()), plain.size()}).status ==
        net::ClientHelloStatus::not_tls);
  // Every byte flipped in turn: never a crash, never a read past the end (ASan checks).
  std::mt19937 rng(11);
  for (int i = 0; i < 3000; ++i) {
    auto copy = hello;
    copy[5 + rng() % (copy.size() - 5)] = static_cast<unsigned char>(rng());
    (void)net::parse_client_hello(copy);
  }
}

TEST_CASE("proxy configuration comes from MESHCTL_PROXY_* with precise errors", "[proxy]") {
  std::map<std::string, std::string> env;
  const Getenv getenv = [&](std::string_view name) -> std::optional<std::string> {
    const auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  SECTION("defaults") {
    const auto c = parse_proxy_config(getenv);
    CHECK(c.outbound_addr.to_string() == "127.0.0.1:4140");
    CHECK(c.inbound_addr.to_string() == "0.0.0.0:4143");
    CHECK(c.admin_addr.to_string() == "127.0.0.1:4191");
    CHECK(c.detect_timeout == std::chrono::milliseconds(1000));
    CHECK(c.opaque_ports.contains(3306));
    CHECK(c.opaque_ports.contains(11211));
    CHECK_FALSE(c.opaque_ports.contains(80));
    CHECK(c.log_level == core::log::Level::info);
    CHECK_THROWS_WITH(require_control_plane(c), Catch::Contains("MESHCTL_PROXY_IDENTITY_ADDR is required"));
  }
  SECTION("ranges and errors name the variable") {
    env["MESHCTL_PROXY_OPAQUE_PORTS"] = "22, 4000-4100";
    const auto c = parse_proxy_config(getenv);
    CHECK(c.opaque_ports.contains(4050));
    CHECK(c.opaque_ports.contains(22));
    CHECK_FALSE(c.opaque_ports.contains(4101));
    env["MESHCTL_PROXY_OPAQUE_PORTS"] = "22,http";
    CHECK_THROWS_WITH(parse_proxy_config(getenv), Catch::Contains("MESHCTL_PROXY_OPAQUE_PORTS") && Catch::Contains("http"));
    env["MESHCTL_PROXY_OPAQUE_PORTS"] = "90-80";
    CHECK_THROWS_WITH(parse_proxy_config(getenv), Catch::Contains("backwards"));
    env.erase("MESHCTL_PROXY_OPAQUE_PORTS");
    env["MESHCTL_PROXY_DETECT_TIMEOUT"] = "5";
    CHECK_THROWS_WITH(parse_proxy_config(getenv), Catch::Contains("MESHCTL_PROXY_DETECT_TIMEOUT"));
    env["MESHCTL_PROXY_DETECT_TIMEOUT"] = "250ms";
    CHECK(parse_proxy_config(getenv).detect_timeout == std::chrono::milliseconds(250));
    env["MESHCTL_PROXY_INBOUND_ADDR"] = "nowhere";
    CHECK_THROWS_WITH(parse_proxy_config(getenv), Catch::Contains("MESHCTL_PROXY_INBOUND_ADDR"));
    env.erase("MESHCTL_PROXY_INBOUND_ADDR");
    env["MESHCTL_PROXY_LOG_LEVEL"] = "warn,meshctl=debug";
    CHECK(parse_proxy_config(getenv).log_level == core::log::Level::debug);
    env["MESHCTL_PROXY_LOG_LEVEL"] = "loud";
    CHECK_THROWS_WITH(parse_proxy_config(getenv), Catch::Contains("MESHCTL_PROXY_LOG_LEVEL"));
    env.erase("MESHCTL_PROXY_LOG_LEVEL");
    env["MESHCTL_PROXY_DEFAULT_INBOUND_POLICY"] = "allow";
    CHECK_THROWS_WITH(parse_proxy_config(getenv), Catch::Contains("MESHCTL_PROXY_DEFAULT_INBOUND_POLICY"));
  }
}

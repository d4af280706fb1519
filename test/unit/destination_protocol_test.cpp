// The destination protocol's lines: requests from proxies (good and bad), answers both ways.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/discovery/destination_protocol.h"

using namespace meshctl::core::discovery;
namespace protocol = meshctl::core::discovery::protocol;
using Kind = protocol::Request::Kind;

TEST_CASE("proxy lines parse into watch, cancel and keep-alive", "[destination]") {
  auto r = protocol::parse_request(R"({"watch": 7, "target": "web.default.svc.cluster.local:80"})");
  REQUIRE(r.request);
  CHECK(r.request->kind == Kind::watch);
  CHECK(r.request->watch == 7);
  CHECK(r.request->target == "web.default.svc.cluster.local:80");

  r = protocol::parse_request("{\"cancel\": 7}\r");
  REQUIRE(r.request);
  CHECK(r.request->kind == Kind::cancel);
  CHECK(r.request->watch == 7);

  for (const char* empty : {"", "  ", "\r"}) {
    r = protocol::parse_request(empty);
    REQUIRE(r.request);
    CHECK(r.request->kind == Kind::keepalive);
  }
  // What we write, we read.
  r = protocol::parse_request(protocol::encode_watch(9, "10.0.0.1:80").substr(0, protocol::encode_watch(9, "10.0.0.1:80").size() - 1));
  REQUIRE(r.request);
  CHECK(r.request->target == "10.0.0.1:80");
}

TEST_CASE("bad proxy lines are refused with a reason and the watch id when there is one", "[destination]") {
  struct Case {
    const char* line;
    std::uint64_t watch;
    const char* reason_part;
  };
  for (const auto& c : std::initializer_list<Case>{
           {"nonsense", 0, "not a JSON object"},
           {"[1, 2]", 0, "not a JSON object"},
           {"{\"watch\": 7", 0, "not a JSON object"},
           {"{}", 0, "either"},
           {R"({"watch": 1, "cancel": 1})", 1, "either"},
           {R"({"watch": 0, "target": "a:1"})", 0, "positive integer"},
           {R"({"watch": -3, "target": "a:1"})", 0, "positive integer"},
           {R"({"watch": "7", "target": "a:1"})", 0, "positive integer"},
           {R"({"watch": 1.5, "target": "a:1"})", 0, "positive integer"},
           {R"({"cancel": null})", 0, "positive integer"},
           {R"({"watch": 4})", 4, "target"},
           {R"({"watch": 4, "target": 80})", 4, "target"},
           {R"({"watch": 4, "target": ""})", 4, "target"},
       }) {
    INFO(c.line);
    const auto r = protocol::parse_request(c.line);
    CHECK_FALSE(r.request);
    CHECK(r.watch == c.watch);
    CHECK(r.error.find(c.reason_part) != std::string::npos);
  }
}

TEST_CASE("answers encode as the protocol document shows and parse back", "[destination]") {
  EndpointSet set;
  set.exists = true;
  set.labels = {{"namespace", "default"}, {"service", "web"}};
  Endpoint e;
  e.ip = "10.199.0.12";
  e.port = 8080;
  e.identity = "web.default.serviceaccount.identity.meshctl.cluster.local";
  e.hint = ProtocolHint::opaque;
  e.opaque_transport_port = 4143;
  e.labels = {{"pod", "web-7d9f"}, {"deployment", "web"}};
  set.endpoints.push_back(e);
  Endpoint plain;
  plain.ip = "10.199.0.13";
  plain.port = 8080;
  set.endpoints.push_back(plain);

  const auto line = protocol::encode_answer(7, protocol::encode_answer_body(set));
  REQUIRE(line.ends_with("}\n"));
  CHECK(line.find('\n') == line.size() - 1);
  const auto j = nlohmann::json::parse(line);
  CHECK(j["watch"] == 7);
  CHECK(j["exists"] == true);
  CHECK(j["opaque"] == false);
  CHECK(j["endpoints"][0]["hint"] == "opaque");
  CHECK(j["endpoints"][0]["opaqueTransportPort"] == 4143);
  CHECK(j["endpoints"][0]["weight"] == 10000);
  CHECK(j["endpoints"][1]["hint"] == "unknown");
  CHECK_FALSE(j["endpoints"][1].contains("identity"));

  std::string problem;
  const auto back = protocol::parse_answer(line.substr(0, line.size() - 1), problem);
  INFO(problem);
  REQUIRE(back);
  CHECK(back->watch == 7);
  REQUIRE(back->set);
  CHECK(*back->set == set);

  const auto missing = protocol::parse_answer(protocol::encode_answer(9, protocol::encode_answer_body({})), problem);
  REQUIRE(missing);
  CHECK_FALSE(missing->set->exists);
  CHECK(nlohmann::json::parse(protocol::encode_answer(9, protocol::encode_answer_body({}))) ==
        nlohmann::json{{"watch", 9}, {"exists", false}});

  const auto error = protocol::parse_answer(protocol::encode_error(10, "target \"x\" is not host:port"), problem);
  REQUIRE(error);
  CHECK(error->watch == 10);
  CHECK(error->error == "target \"x\" is not host:port");
  CHECK(nlohmann::json::parse(protocol::encode_error(0, "line 3: not a JSON object")) ==
        nlohmann::json{{"error", "line 3: not a JSON object"}});

  CHECK_FALSE(protocol::parse_answer("", problem));
  CHECK(problem.empty());  // a keep-alive
  for (const char* bad : {"nonsense", R"({"exists": true})", R"({"watch": 1})",
                          R"({"watch": 1, "exists": true, "endpoints": [{"ip": "1.2.3.4"}]})",
                          R"({"watch": 1, "exists": true, "labels": {"a": 1}})"}) {
    INFO(bad);
    CHECK_FALSE(protocol::parse_answer(bad, problem));
    CHECK_FALSE(problem.empty());
  }
}

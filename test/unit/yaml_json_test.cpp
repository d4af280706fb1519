#include <catch2/catch.hpp>
#include <cmath>

#include "core/error.h"
#include "core/yaml/yaml_json.h"

using meshctl::core::yaml::Json;
namespace y = meshctl::core::yaml;

TEST_CASE("plain scalars are typed, quoted scalars stay strings", "[yaml]") {
  const Json v = y::parse_document("a: 1\nb: \"1\"\nc: true\nd: 'true'\ne: ~\nf: 1.5\ng: hello\nh: 0x1F\n", "t");
  CHECK(v["a"] == 1);
  CHECK(v["b"] == "1");
  CHECK(v["c"] == true);
  CHECK(v["d"] == "true");
  CHECK(v["e"].is_null());
  CHECK(v["f"] == 1.5);
  CHECK(v["g"] == "hello");
  CHECK(v["h"] == 31);
}

TEST_CASE("key order survives a round trip", "[yaml]") {
  const std::string text = "zeta: 1\nalpha:\n  - b: 2\n    a: 1\n  - x\nmid: \"010\"\n";
  const Json v = y::parse_document(text, "t");
  CHECK(y::to_yaml(v) == text);
}

TEST_CASE("strings that would change type are quoted", "[yaml]") {
  Json v = Json::object();
  v["a"] = "true";
  v["b"] = "8080";
  v["c"] = "yes";
  v["d"] = "";
  v["e"] = "a: b";
  v["f"] = "line1\nline2\n";
  const std::string text = y::to_yaml(v);
  CHECK(y::parse_document(text, "t") == v);
  CHECK(text.find("f: |\n  line1\n  line2\n") != std::string::npos);
}

TEST_CASE("malformed YAML names the source and line", "[yaml]") {
  try {
    y::parse_document("a: 1\nb: [1, 2\nc: 3\n", "values.yaml", 1);
    FAIL("no error");
  } catch (const meshctl::core::Error& e) {
    CHECK(std::string(e.what()).rfind("values.yaml:", 0) == 0);
  }
  CHECK_THROWS_AS(y::parse_document("a: 1\na: 2\n", "dup.yaml"), meshctl::core::Error);
}

TEST_CASE("aliases that expand without bound are refused, not followed", "[yaml]") {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'j'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", *" : "*") + prev;
    bomb += "]\n";
    prev = c;
  }
  try {
    y::parse_document(bomb, "bomb.yaml");
    FAIL("no error");
  } catch (const meshctl::core::Error& e) {
    CHECK(std::string(e.what()).find("bomb.yaml:") == 0);
    CHECK(std::string(e.what()).find("too many") != std::string::npos);
  }
}

TEST_CASE("core schema numbers, infinities and NaN are typed and look-alikes stay strings", "[yaml]") {
  const Json v = y::parse_document("a: 0o17\nb: -12\nc: 1e3\nd: .5\ne: -.inf\nf: .nan\ng: 0x\nh: 1.2.3\ni: +7\nj: 0o9\n", "t");
  CHECK(v["a"] == 15);
  CHECK(v["b"] == -12);
  CHECK(v["c"] == 1000.0);
  CHECK(v["d"] == 0.5);
  CHECK(v["e"].get<double>() < 0);
  CHECK(std::isnan(v["f"].get<double>()));
  CHECK(v["g"] == "0x");
  CHECK(v["h"] == "1.2.3");
  CHECK(v["i"] == 7);
  CHECK(v["j"] == "0o9");
}

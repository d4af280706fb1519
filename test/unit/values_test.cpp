#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "core/error.h"
#include "core/render/values.h"

using namespace meshctl::core::render;
using meshctl::core::Error;

namespace {
std::string temp_file(const std::string& content) {
  char name[] = "/tmp/meshctl-values-XXXXXX";
  const int fd = mkstemp(name);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(name) << content;
  return name;
}
std::string error_of(const ValueSources& s) {
  try {
    load_values(s);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("defaults load from the embedded values.yaml", "[values]") {
  const Json v = default_values();
  CHECK(v["meshNamespace"] == "meshctl");
  CHECK(v["proxy"]["uid"] == 2102);
  CHECK(v["proxy"]["ports"]["inbound"] == 4143);
}

TEST_CASE("typed --set supports nesting and list indices", "[values]") {
  Json v = Json::object();
  apply_set(v, "a.b=3,a.c=true,a.d=null,a.e=hello,a.f=007");
  CHECK(v["a"]["b"] == 3);
  CHECK(v["a"]["c"] == true);
  CHECK(v["a"]["d"].is_null());
  CHECK(v["a"]["e"] == "hello");
  CHECK(v["a"]["f"] == "007");
  apply_set(v, "list[2].name=x");
  CHECK(v["list"].size() == 3);
  CHECK(v["list"][2]["name"] == "x");
  apply_set(v, "l={a,b,3}");
  CHECK(v["l"] == Json::parse(R"(["a","b",3])"));
  apply_set(v, R"(k\.dotted=a\,b)");
  CHECK(v["k.dotted"] == "a,b");
  apply_set(v, "s=12", true);
  CHECK(v["s"] == "12");
}

TEST_CASE("files then --set then --set-string, the later winning", "[values]") {
  const auto f1 = temp_file("controllerReplicas: 2\nproxy:\n  logLevel: debug\n");
  const auto f2 = temp_file("controllerReplicas: 4\n");
  ValueSources s;
  s.files = {f1, f2};
  s.sets = {"proxy.uid=3000", "proxyInjector.excludedNamespaces={a,b}", "proxyInjector.excludedNamespaces[1]=c"};
  s.string_sets = {"proxy.opaquePorts=3306"};
  const Json v = load_values(s);
  CHECK(v["controllerReplicas"] == 4);
  CHECK(v["proxy"]["logLevel"] == "debug");
  CHECK(v["proxy"]["uid"] == 3000);
  CHECK(v["proxy"]["opaquePorts"] == "3306");
  CHECK(v["proxy"]["ports"]["admin"] == 4191);  // untouched siblings survive
  CHECK(v["proxyInjector"]["excludedNamespaces"] == Json::parse(R"(["a","c"])"));
  std::remove(f1.c_str());
  std::remove(f2.c_str());
}

TEST_CASE("typed --set of a string value keeps the text", "[values]") {
  ValueSources s;
  s.sets = {"proxy.opaquePorts=3306"};
  CHECK(load_values(s)["proxy"]["opaquePorts"] == "3306");
}

TEST_CASE("unknown keys and wrong types are errors that name them", "[values]") {
  ValueSources s;
  s.sets = {"proxy.nope=1"};
  CHECK(error_of(s) == "--set \"proxy.nope=1\": unknown value \"proxy.nope\"");
  s.sets = {"controllerReplicas=many"};
  CHECK(error_of(s).find("controllerReplicas must be a number") != std::string::npos);
  s.sets = {"proxy=1"};
  CHECK(error_of(s).find("proxy must be a map") != std::string::npos);
  s.sets = {"novalue"};
  CHECK(error_of(s).find("has no '='") != std::string::npos);
  s.sets = {"a[x]=1"};
  CHECK(error_of(s).find("list index") != std::string::npos);
  s.sets = {"podLabels.team=web"};
  CHECK(error_of(s).empty());  // free-form maps take any key

  const auto bad = temp_file("identity:\n  issuer:\n    lifetime: 1h\n");
  s = {};
  s.files = {bad};
  CHECK(error_of(s) == bad + ": unknown value \"identity.issuer.lifetime\"");
  const auto broken = temp_file("a: [1\n");
  s.files = {broken};
  CHECK(error_of(s).rfind(broken + ":", 0) == 0);
  s.files = {"/nonexistent/values.yaml"};
  CHECK(error_of(s) == "/nonexistent/values.yaml: cannot read values file");
  std::remove(bad.c_str());
  std::remove(broken.c_str());
}

// A structural self-check of the CRDs `install --crds` renders: the rules an API server applies
// to apiextensions.k8s.io/v1 schemas (a type on every node, no properties beside
// additionalProperties, metadata limited to name and generateName, one storage version) plus
// the validations meshctl promises (enums, port ranges). The e2e suite applies them for real.
#include <catch2/catch.hpp>

#include <set>

#include "core/render/manifests.h"

using namespace meshctl::core::render;

namespace {

Json crd_context() {
  return Json::parse(R"({"Values": {}, "Release": {"Namespace": "meshctl", "Name": "meshctl"}, "Version": "0.0.0-test"})");
}

const std::vector<Json>& crds() {
  static const std::vector<Json> objects = render_manifests("crds", crd_context());
  return objects;
}

const Json& crd(const std::string& name) {
  for (const auto& o : crds()) {
    if (o["metadata"]["name"] == name) return o;
  }
  FAIL("no CRD " << name);
  throw;
}

const Json& schema_of(const std::string& name) {
  return crd(name)["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
}

const Json& at(const Json& schema, const std::vector<std::string>& path) {
  const Json* node = &schema;
  for (const auto& step : path) {
    if (step == "[]") {
      REQUIRE(node->contains("items"));
      node = &(*node)["items"];
    } else {
      INFO("looking for property " << step);
      REQUIRE(node->contains("properties"));
      REQUIRE((*node)["properties"].contains(step));
      node = &(*node)["properties"][step];
    }
  }
  return *node;
}

// The API server's structural rules, collected as readable problems.
void check_node(const Json& node, const std::string& path, bool in_validation, std::vector<std::string>& problems) {
  if (!node.is_object()) {
    problems.push_back(path + ": a schema must be a map");
    return;
  }
  const bool int_or_string = node.value("x-kubernetes-int-or-string", false);
  const bool preserve = node.value("x-kubernetes-preserve-unknown-fields", false);
  if (!in_validation && !node.contains("type") && !int_or_string && !preserve) {
    problems.push_back(path + ": no type");
  }
  if (int_or_string && node.contains("type")) problems.push_back(path + ": int-or-string with a type");
  if (node.contains("properties") && node.contains("additionalProperties")) {
    problems.push_back(path + ": properties and additionalProperties together");
  }
  if (in_validation) {
    for (const char* forbidden : {"description", "default", "additionalProperties", "nullable"}) {
      if (node.contains(forbidden)) problems.push_back(path + ": " + forbidden + " inside a value validation");
    }
  }
  if (node.contains("required")) {
    for (const auto& r : node["required"]) {
      if (!node.contains("properties") || !node["properties"].contains(r.get<std::string>())) {
        problems.push_back(path + ": required " + r.get<std::string>() + " is not a property");
      }
    }
  }
  if (node.contains("enum") && node.contains("type")) {
    for (const auto& e : node["enum"]) {
      const std::string t = node["type"];
      const bool ok = (t == "string" && e.is_string()) || (t == "integer" && e.is_number_integer()) ||
                      (t == "number" && e.is_number());
      if (!ok) problems.push_back(path + ": enum value " + e.dump() + " is not a " + t);
    }
  }
  if (node.contains("properties")) {
    if (node.value("type", "") != "object") problems.push_back(path + ": properties on a non-object");
    for (auto it = node["properties"].begin(); it != node["properties"].end(); ++it) {
      check_node(it.value(), path + "." + it.key(), in_validation, problems);
    }
  }
  if (node.contains("items")) {
    if (node.value("type", "") != "array") problems.push_back(path + ": items on a non-array");
    check_node(node["items"], path + "[]", in_validation, problems);
  }
  if (node.contains("additionalProperties") && node["additionalProperties"].is_object()) {
    check_node(node["additionalProperties"], path + ".*", in_validation, problems);
  }
  for (const char* v : {"anyOf", "allOf", "oneOf"}) {
    if (!node.contains(v)) continue;
    for (const auto& branch : node[v]) {
      // The one allowed exception: anyOf integer/string under x-kubernetes-int-or-string.
      if (int_or_string && std::string(v) == "anyOf" && branch.size() == 1 && branch.contains("type")) continue;
      check_node(branch, path + "(" + v + ")", true, problems);
    }
  }
  if (node.contains("x-kubernetes-validations")) {
    for (const auto& rule : node["x-kubernetes-validations"]) {
      if (!rule.contains("rule") || !rule["rule"].is_string()) problems.push_back(path + ": validation without rule");
    }
  }
}

}  // namespace

TEST_CASE("install --crds renders every CRD of the design", "[crds]") {
  std::set<std::string> names;
  for (const auto& o : crds()) names.insert(o["metadata"]["name"].get<std::string>());
  CHECK(names == std::set<std::string>{"serviceprofiles.meshctl.io", "servers.policy.meshctl.io",
                                       "serverauthorizations.policy.meshctl.io",
                                       "authorizationpolicies.policy.meshctl.io",
                                       "meshtlsauthentications.policy.meshctl.io",
                                       "networkauthentications.policy.meshctl.io", "httproutes.policy.meshctl.io"});
}

TEST_CASE("every CRD is a structural apiextensions.k8s.io/v1 schema", "[crds]") {
  for (const auto& o : crds()) {
    const std::string name = o["metadata"]["name"];
    INFO(name);
    CHECK(o["apiVersion"] == "apiextensions.k8s.io/v1");
    CHECK(o["kind"] == "CustomResourceDefinition");
    CHECK(o["metadata"]["labels"]["meshctl.io/control-plane-ns"] == "meshctl");
    const Json& spec = o["spec"];
    CHECK(name == spec["names"]["plural"].get<std::string>() + "." + spec["group"].get<std::string>());
    CHECK(spec["scope"] == "Namespaced");
    int storage = 0;
    for (const auto& v : spec["versions"]) {
      CHECK(v["served"] == true);
      if (v["storage"] == true) ++storage;
      const Json& schema = v["schema"]["openAPIV3Schema"];
      std::vector<std::string> problems;
      check_node(schema, name + "/" + v["name"].get<std::string>(), false, problems);
      CHECK(schema["type"] == "object");
      // metadata: only name and generateName may be constrained.
      if (schema["properties"].contains("metadata")) {
        const Json& meta = schema["properties"]["metadata"];
        CHECK(meta["type"] == "object");
        const Json props = meta.value("properties", Json::object());
        for (auto it = props.begin(); it != props.end(); ++it) {
          CHECK((it.key() == "name" || it.key() == "generateName"));
        }
        for (auto it = meta.begin(); it != meta.end(); ++it) {
          CHECK((it.key() == "type" || it.key() == "properties"));
        }
      }
      CHECK(problems == std::vector<std::string>{});
    }
    CHECK(storage == 1);
  }
}

TEST_CASE("CRDs validate enums and ranges", "[crds]") {
  const Json& server = schema_of("servers.policy.meshctl.io");
  CHECK(at(server, {"spec", "proxyProtocol"})["enum"] ==
        Json::parse(R"(["unknown","HTTP/1","HTTP/2","gRPC","opaque","TLS"])"));
  CHECK(at(server, {"spec", "accessPolicy"})["enum"].size() == 6);
  CHECK(at(server, {"spec", "port"})["x-kubernetes-int-or-string"] == true);
  CHECK(at(server, {"spec", "port"})["x-kubernetes-validations"][0]["rule"].get<std::string>().find(
            "self >= 1 && self <= 65535") != std::string::npos);
  CHECK(at(server, {"spec", "podSelector", "matchExpressions", "[]", "operator"})["enum"].size() == 4);

  const Json& route = schema_of("httproutes.policy.meshctl.io");
  const Json& backend_port = at(route, {"spec", "rules", "[]", "backendRefs", "[]", "port"});
  CHECK(backend_port["minimum"] == 1);
  CHECK(backend_port["maximum"] == 65535);
  CHECK(at(route, {"spec", "rules", "[]", "backendRefs", "[]", "weight"})["minimum"] == 0);
  const Json& filter_type = at(route, {"spec", "rules", "[]", "filters", "[]", "type"});
  CHECK(std::find(filter_type["enum"].begin(), filter_type["enum"].end(), "RequestMirror") != filter_type["enum"].end());
  CHECK(at(route, {"spec", "rules", "[]", "filters", "[]", "requestMirror", "backendRef", "port"})["minimum"] == 1);
  CHECK(at(route, {"spec", "rules", "[]", "matches", "[]", "method"})["enum"].size() == 9);
  CHECK(at(route, {"spec", "rules", "[]", "matches", "[]", "path", "type"})["enum"].size() == 3);
  CHECK(at(route, {"spec", "rules", "[]", "timeouts", "request"})["pattern"].is_string());
  CHECK(at(route, {"spec", "parentRefs", "[]", "port"})["minimum"] == 1);

  const Json& sp = schema_of("serviceprofiles.meshctl.io");
  CHECK(at(sp, {"spec", "routes", "[]", "isRetryable"})["type"] == "boolean");
  CHECK(at(sp, {"spec", "routes", "[]", "condition", "method"})["type"] == "string");
  CHECK(at(sp, {"spec", "routes", "[]", "condition", "all", "[]", "pathRegex"})["type"] == "string");
  CHECK(at(sp, {"spec", "routes", "[]", "responseClasses", "[]", "condition", "status", "min"})["minimum"] == 100);
  CHECK(at(sp, {"spec", "retryBudget"})["required"].size() == 3);
  CHECK(at(sp, {"spec", "retryBudget", "minRetriesPerSecond"})["minimum"] == 0);
  CHECK(at(sp, {"spec", "dstOverrides", "[]", "weight"})["x-kubernetes-int-or-string"] == true);
  CHECK(at(sp, {"spec", "opaquePorts", "[]"})["minimum"] == 1);

  const Json& authz = schema_of("authorizationpolicies.policy.meshctl.io");
  CHECK(at(authz, {"spec", "targetRef", "kind"})["enum"] == Json::parse(R"(["Server","HTTPRoute","Namespace"])"));
  const Json& net = schema_of("networkauthentications.policy.meshctl.io");
  CHECK(at(net, {"spec", "networks", "[]"})["required"] == Json::parse(R"(["cidr"])"));
  const Json& mtls = schema_of("meshtlsauthentications.policy.meshctl.io");
  CHECK(at(mtls, {"spec", "identityRefs", "[]", "kind"})["type"] == "string");
  const Json& saz = schema_of("serverauthorizations.policy.meshctl.io");
  CHECK(at(saz, {"spec", "client", "meshTLS", "serviceAccounts", "[]", "name"})["type"] == "string");
}

// Endpoint derivation: the endpoints controller's rules plus what the mesh adds (identity,
// protocol hint, metric labels), one rule per section.
#include <catch2/catch.hpp>

#include "core/discovery/endpoints.h"
#include "core/store/local_store.h"

using namespace meshctl::core;
using discovery::EndpointSet;
using discovery::ProtocolHint;

namespace {

store::SnapshotPtr snapshot_of(const std::string& yaml) {
  store::FileProblem problem;
  const auto objects = store::parse_manifest_file(yaml, "test.yaml", problem);
  INFO(problem.to_string());
  REQUIRE(objects);
  return std::make_shared<const store::Snapshot>(*objects, 1);
}

EndpointSet lookup(const store::SnapshotPtr& s, const std::string& target, discovery::DiscoveryConfig config = {}) {
  std::string problem;
  const auto t = discovery::parse_target(target, problem);
  INFO(problem);
  REQUIRE(t);
  return discovery::endpoints_for(*s, *t, config);
}

// A meshed pod of Deployment web, as the injector leaves it and the kubelet reports it.
std::string pod(const std::string& name, const std::string& ip, const std::string& extra_meta = "",
                const std::string& extra_status = "", bool meshed = true, const std::string& app = "web") {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n  namespace: default\n  labels:\n    app: " + app +
         "\n    pod-template-hash: 7d9f\n" + (meshed ? "    meshctl.io/control-plane-ns: meshctl\n" : "") +
         "  ownerReferences:\n  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-7d9f, controller: true}\n" +
         extra_meta +
         "spec:\n  serviceAccountName: web\n  containers:\n  - name: app\n    ports:\n    - {name: http, containerPort: 8080}\n" +
         (meshed ? "  - name: meshctl-proxy\n" : "") + "status:\n  phase: Running\n  podIP: " + ip + "\n" +
         extra_status + "---\n";
}

const std::string kService = R"(apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  clusterIP: 10.96.0.10
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: named, port: 81, targetPort: http}
  - {name: same, port: 9000}
  - {name: opaque, port: 5432, targetPort: 5432, appProtocol: meshctl.io/opaque}
  - {name: tcp, port: 6379, appProtocol: tcp}
---
)";

}  // namespace

TEST_CASE("targets parse as host:port", "[destination]") {
  std::string problem;
  auto t = discovery::parse_target("web.default.svc.cluster.local:80", problem);
  REQUIRE(t);
  CHECK(t->host == "web.default.svc.cluster.local");
  CHECK(t->port == 80);
  t = discovery::parse_target("[fd00::1]:8080", problem);
  REQUIRE(t);
  CHECK(t->host == "fd00::1");
  for (const char* bad : {"nonsense", "web:0", "web:65536", "web:http", ":80", "fd00::1:80", "web:"}) {
    INFO(bad);
    CHECK_FALSE(discovery::parse_target(bad, problem));
    CHECK_FALSE(problem.empty());
  }
}

TEST_CASE("ports lists hold ports and ranges", "[destination]") {
  CHECK(discovery::ports_contain("25,3306,8000-8010", 3306));
  CHECK(discovery::ports_contain("25, 3306 ,8000-8010", 8005));
  CHECK_FALSE(discovery::ports_contain("25,3306,8000-8010", 8011));
  CHECK_FALSE(discovery::ports_contain("", 80));
  CHECK_FALSE(discovery::ports_contain("x,8-a", 8));
}

TEST_CASE("a Service's endpoints follow the endpoints controller", "[destination]") {
  SECTION("selector, targetPort, identity, hint and labels of a meshed pod") {
    const auto s = snapshot_of(kService + pod("web-1", "10.1.0.2") + pod("db-1", "10.1.0.9", "", "", true, "db"));
    for (const char* name : {"web.default.svc.cluster.local:80", "web.default.svc.cluster.local.:80",
                             "web.default.svc:80", "web.default:80", "WEB.Default.svc.cluster.local:80"}) {
      INFO(name);
      const auto set = lookup(s, name);
      CHECK(set.exists);
      CHECK_FALSE(set.opaque);
      CHECK(set.labels == std::map<std::string, std::string>{{"namespace", "default"}, {"service", "web"}});
      REQUIRE(set.endpoints.size() == 1);
      const auto& e = set.endpoints[0];
      CHECK(e.ip == "10.1.0.2");
      CHECK(e.port == 8080);
      CHECK(e.weight == 10000);
      CHECK(e.identity == "web.default.serviceaccount.identity.meshctl.cluster.local");
      CHECK(e.hint == ProtocolHint::h2);
      CHECK(e.opaque_transport_port == 4143);
      CHECK(e.labels == std::map<std::string, std::string>{{"namespace", "default"},
                                                           {"service", "web"},
                                                           {"pod", "web-1"},
                                                           {"serviceaccount", "web"},
                                                           {"deployment", "web"},
                                                           {"pod_template_hash", "7d9f"}});
    }
  }
  SECTION("a named targetPort resolves per pod; a pod without the name is left out") {
    const auto s = snapshot_of(kService + pod("web-1", "10.1.0.2") +
                               "kind: Pod\nmetadata: {name: web-2, labels: {app: web}}\nspec:\n  containers:\n"
                               "  - {name: app, ports: [{name: other, containerPort: 7000}]}\n"
                               "status: {phase: Running, podIP: 10.1.0.3}\n");
    const auto set = lookup(s, "web.default.svc.cluster.local:81");
    REQUIRE(set.endpoints.size() == 1);
    CHECK(set.endpoints[0].port == 8080);
    CHECK(set.endpoints[0].ip == "10.1.0.2");
    // No targetPort: the Service port itself; both pods match.
    const auto same = lookup(s, "web.default.svc.cluster.local:9000");
    REQUIRE(same.endpoints.size() == 2);
    CHECK(same.endpoints[0].port == 9000);
    CHECK(same.endpoints[1].ip == "10.1.0.3");
    CHECK(same.endpoints[1].identity.empty());  // not meshed
    CHECK(same.endpoints[1].labels.at("serviceaccount") == "default");
    CHECK_FALSE(same.endpoints[1].labels.contains("deployment"));
  }
  SECTION("not-ready pods are left out unless the Service publishes them") {
    const std::string not_ready = "  conditions:\n  - {type: Ready, status: \"False\"}\n";
    const std::string ready = "  conditions:\n  - {type: Ready, status: \"True\"}\n";
    const auto s = snapshot_of(kService + pod("web-1", "10.1.0.2", "", not_ready) + pod("web-2", "10.1.0.3", "", ready));
    auto set = lookup(s, "web.default:80");
    REQUIRE(set.endpoints.size() == 1);
    CHECK(set.endpoints[0].ip == "10.1.0.3");
    auto published = kService;
    published.replace(published.find("  selector"), 0, "  publishNotReadyAddresses: true\n");
    set = lookup(snapshot_of(published + pod("web-1", "10.1.0.2", "", not_ready)), "web.default:80");
    CHECK(set.endpoints.size() == 1);
  }
  SECTION("terminal, deleted and IP-less pods are left out") {
    auto in_phase = [](std::string p, const std::string& phase) {
      return p.replace(p.find("phase: Running"), 14, "phase: " + phase);
    };
    const auto s = snapshot_of(kService + in_phase(pod("web-1", "10.1.0.2"), "Succeeded") +
                               in_phase(pod("web-2", "10.1.0.3"), "Failed") +
                               pod("web-3", "10.1.0.4", "  deletionTimestamp: \"2024-01-01T00:00:00Z\"\n") +
                               "kind: Pod\nmetadata: {name: web-4, labels: {app: web}}\nstatus: {phase: Pending}\n");
    const auto set = lookup(s, "web.default:80");
    CHECK(set.exists);
    CHECK(set.endpoints.empty());
  }
  SECTION("pods in other namespaces or with other labels do not match") {
    auto other_ns = pod("web-9", "10.1.0.9");
    other_ns.replace(other_ns.find("namespace: default"), 18, "namespace: other");
    const auto s = snapshot_of(kService + other_ns + pod("api-1", "10.1.0.8", "", "", true, "api"));
    CHECK(lookup(s, "web.default:80").endpoints.empty());
  }
  SECTION("an unmeshed pod, or one of another control plane, gets no identity and hint unknown") {
    auto other_mesh = pod("web-2", "10.1.0.3");
    other_mesh.replace(other_mesh.find("control-plane-ns: meshctl"), 25, "control-plane-ns: elsewhere");
    const auto s = snapshot_of(kService + pod("web-1", "10.1.0.2", "", "", false) + other_mesh);
    const auto set = lookup(s, "web.default:80");
    REQUIRE(set.endpoints.size() == 2);
    for (const auto& e : set.endpoints) {
      CHECK(e.identity.empty());
      CHECK(e.hint == ProtocolHint::unknown);
    }
  }
  SECTION("a native-sidecar proxy counts as meshed") {
    auto native = pod("web-1", "10.1.0.2", "", "", false);
    native.replace(native.find("  ownerReferences"), 0, "    meshctl.io/control-plane-ns: meshctl\n");
    native.replace(native.find("  containers:"), 0, "  initContainers:\n  - {name: meshctl-proxy, restartPolicy: Always}\n");
    const auto set = lookup(snapshot_of(kService + native), "web.default:80");
    REQUIRE(set.endpoints.size() == 1);
    CHECK(set.endpoints[0].hint == ProtocolHint::h2);
  }
  SECTION("opaque ports: pod annotation (with ranges), namespace annotation, Service appProtocol") {
    const auto annotated = pod("web-1", "10.1.0.2", "  annotations: {config.meshctl.io/opaque-ports: \"25,8000-8090\"}\n");
    auto set = lookup(snapshot_of(kService + annotated), "web.default:80");
    REQUIRE(set.endpoints.size() == 1);
    CHECK(set.endpoints[0].hint == ProtocolHint::opaque);
    CHECK(set.endpoints[0].opaque_transport_port == 4143);
    CHECK(set.endpoints[0].identity == "web.default.serviceaccount.identity.meshctl.cluster.local");

    const auto ns = "kind: Namespace\nmetadata: {name: default, annotations: {config.meshctl.io/opaque-ports: \"8080\"}}\n---\n";
    set = lookup(snapshot_of(std::string(ns) + kService + pod("web-1", "10.1.0.2")), "web.default:80");
    CHECK(set.endpoints.at(0).hint == ProtocolHint::opaque);

    const auto s = snapshot_of(kService + pod("web-1", "10.1.0.2"));
    for (const char* target : {"web.default:5432", "web.default:6379"}) {
      INFO(target);
      set = lookup(s, target);
      CHECK(set.opaque);
      REQUIRE(set.endpoints.size() == 1);
      CHECK(set.endpoints[0].hint == ProtocolHint::opaque);
      CHECK(set.endpoints[0].opaque_transport_port == 4143);
    }
    // Opaque but unmeshed: the target is opaque, the endpoint has no hint.
    set = lookup(snapshot_of(kService + pod("web-1", "10.1.0.2", "", "", false)), "web.default:5432");
    CHECK(set.opaque);
    CHECK(set.endpoints.at(0).hint == ProtocolHint::unknown);
  }
  SECTION("skip-inbound-ports: the port bypasses the proxy, so no identity and no hint") {
    const auto skipping = pod("web-1", "10.1.0.2", "  annotations: {config.meshctl.io/skip-inbound-ports: \"8080\"}\n");
    const auto s = snapshot_of(kService + skipping);
    auto set = lookup(s, "web.default:80");
    CHECK(set.endpoints.at(0).identity.empty());
    CHECK(set.endpoints.at(0).hint == ProtocolHint::unknown);
    set = lookup(s, "web.default:9000");  // another port of the same pod is still meshed
    CHECK(set.endpoints.at(0).hint == ProtocolHint::h2);
  }
  SECTION("owners other than a Deployment's ReplicaSet") {
    auto sts = pod("db-0", "10.1.0.5");
    sts.replace(sts.find("kind: ReplicaSet, name: web-7d9f"), 32, "kind: StatefulSet, name: db");
    auto rs = pod("web-1", "10.1.0.6");
    rs.replace(rs.find("name: web-7d9f"), 14, "name: lonely-rs");
    const auto s = snapshot_of(kService + sts + rs);
    const auto set = lookup(s, "web.default:80");
    REQUIRE(set.endpoints.size() == 2);
    CHECK(set.endpoints[0].labels.at("statefulset") == "db");
    CHECK(set.endpoints[1].labels.at("replicaset") == "lonely-rs");
  }
}

TEST_CASE("lookups by cluster IP and pod IP, headless Services and unknown targets", "[destination]") {
  const std::string headless =
      "kind: Service\nmetadata: {name: db, namespace: default}\nspec:\n  clusterIP: None\n  selector: {app: db}\n"
      "  ports: [{port: 5432}]\n---\n";
  const auto s = snapshot_of(kService + headless + pod("web-1", "10.1.0.2") + pod("db-1", "10.1.0.7", "", "", true, "db"));
  SECTION("a Service's cluster IP") {
    const auto set = lookup(s, "10.96.0.10:80");
    CHECK(set.exists);
    CHECK(set.labels.at("service") == "web");
    REQUIRE(set.endpoints.size() == 1);
    CHECK(set.endpoints[0].port == 8080);
  }
  SECTION("a pod IP: that pod on that port") {
    const auto set = lookup(s, "10.1.0.2:8080");
    CHECK(set.exists);
    REQUIRE(set.endpoints.size() == 1);
    CHECK(set.endpoints[0].ip == "10.1.0.2");
    CHECK(set.endpoints[0].port == 8080);
    CHECK(set.endpoints[0].identity == "web.default.serviceaccount.identity.meshctl.cluster.local");
    CHECK(set.endpoints[0].labels.at("pod") == "web-1");
    CHECK_FALSE(set.endpoints[0].labels.contains("service"));
  }
  SECTION("headless: found by name, never by the IP \"None\"") {
    const auto set = lookup(s, "db.default.svc.cluster.local:5432");
    CHECK(set.exists);
    CHECK(set.endpoints.size() == 1);
    CHECK_FALSE(lookup(s, "10.96.0.11:5432").exists);
  }
  SECTION("unknown: other names, namespaces, cluster domains and IPs") {
    for (const char* t : {"nope.default.svc.cluster.local:80", "web.other:80", "web.default.svc.example.org:80",
                          "example.com:443", "10.9.9.9:80", "localhost:80"}) {
      INFO(t);
      CHECK_FALSE(lookup(s, t).exists);
    }
    // The Service exists but not the port: known, no endpoints.
    const auto set = lookup(s, "web.default:1234");
    CHECK(set.exists);
    CHECK(set.endpoints.empty());
  }
  SECTION("the cluster domain and mesh namespace are configuration") {
    discovery::DiscoveryConfig c;
    c.cluster_domain = "example.org";
    c.trust_domain = "example.org";
    CHECK(lookup(s, "web.default.svc.example.org:80", c).exists);
    CHECK_FALSE(lookup(s, "web.default.svc.cluster.local:80", c).exists);
    CHECK(lookup(s, "web.default.svc.example.org:80", c).endpoints.at(0).identity ==
          "web.default.serviceaccount.identity.meshctl.example.org");
  }
}

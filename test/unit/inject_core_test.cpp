#include <catch2/catch.hpp>

#include <algorithm>

#include "core/error.h"
#include "core/inject/config.h"
#include "core/inject/inject.h"
#include "core/inject/names.h"
#include "core/inject/objects.h"
#include "core/proxy_env.h"
#include "core/render/values.h"
#include "core/version.h"
#include "core/yaml/yaml_json.h"

using namespace meshctl::core::inject;
using meshctl::core::Error;
namespace render = meshctl::core::render;
namespace y = meshctl::core::yaml;
namespace proxy_env = meshctl::core::proxy_env;

namespace {

const char* kPem = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n";

InjectConfig annotate_config() { return config_from_values(render::default_values()); }

InjectConfig manual_config() {
  InjectConfig c = annotate_config();
  c.mode = Mode::Manual;
  c.trust_anchors_pem = kPem;
  c.created_by = "meshctl/cli test";
  return c;
}

Json yaml(const char* text) { return y::parse_document(text, "test"); }

// Equal as Kubernetes sees it: key order aside.
bool same(const Json& a, const Json& b) { return nlohmann::json::parse(a.dump()) == nlohmann::json::parse(b.dump()); }

Json deployment() {
  return yaml(R"(
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: emojivoto
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: web:1
        ports:
        - containerPort: 8080
        - containerPort: 9090
          protocol: UDP
)");
}

ObjectResult inject(const Json& object, const InjectConfig& c, const NamespaceAnnotations& ns = {}) {
  return inject_object(object, ns, c);
}

const Json& tpl(const Json& deploy) { return deploy["spec"]["template"]; }

const Json* container(const Json& pod, const char* list, std::string_view name) {
  const Json& spec = pod["spec"];
  if (!spec.contains(list)) return nullptr;
  for (const auto& c : spec[list]) {
    if (c["name"] == name) return &c;
  }
  return nullptr;
}

std::string env_of(const Json& proxy, std::string_view name) {
  for (const auto& e : proxy["env"]) {
    if (e["name"] == name) return e.contains("value") ? e["value"].get<std::string>() : "<valueFrom>";
  }
  return "<unset>";
}

std::string arg_after(const Json& init, std::string_view flag) {
  const auto& args = init["args"];
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == flag) return args[i + 1];
  }
  return "<unset>";
}

std::string line_of(const ObjectResult& r) {
  REQUIRE(r.reports.size() == 1);
  return report_line(r.reports[0]);
}

Json with_template_annotations(Json object, const Json& annotations) {
  object["spec"]["template"]["metadata"]["annotations"] = annotations;
  return object;
}

// The test deployment with these template annotations (YAML flow text).
Json annotated(const char* annotations) { return with_template_annotations(deployment(), yaml(annotations)); }

}  // namespace

TEST_CASE("every workload kind gets its pod template injected", "[inject]") {
  const Json pod_spec = yaml("containers: [{name: app, image: app:1}]");
  const Json template_ = Json{{"metadata", Json{{"labels", Json{{"app", "x"}}}}}, {"spec", pod_spec}};
  struct Case {
    const char* kind;
    std::vector<const char*> path;  // to the pod
  };
  const std::vector<Case> cases{{"Deployment", {"spec", "template"}},
                                {"StatefulSet", {"spec", "template"}},
                                {"DaemonSet", {"spec", "template"}},
                                {"ReplicaSet", {"spec", "template"}},
                                {"ReplicationController", {"spec", "template"}},
                                {"Job", {"spec", "template"}},
                                {"CronJob", {"spec", "jobTemplate", "spec", "template"}},
                                {"Pod", {}}};
  for (const auto& c : cases) {
    INFO(c.kind);
    Json object{{"apiVersion", "v1"}, {"kind", c.kind}, {"metadata", Json{{"name", "x"}, {"namespace", "ns"}}}};
    if (c.path.empty()) {
      object["spec"] = pod_spec;
    } else {
      Json* at = &object;
      for (const char* step : c.path) at = &(*at)[step];
      *at = template_;
    }
    const auto result = inject(object, manual_config());
    std::string kind = c.kind;
    std::transform(kind.begin(), kind.end(), kind.begin(), ::tolower);
    CHECK(line_of(result) == kind + " \"x\" injected");
    const Json* pod = &result.object;
    for (const char* step : c.path) pod = &(*pod)[step];
    REQUIRE(container(*pod, "containers", kProxyContainerName));
    REQUIRE(container(*pod, "initContainers", kInitContainerName));
    CHECK((*pod)["spec"]["containers"][0]["name"] == kProxyContainerName);
    CHECK((*pod)["spec"]["containers"][1]["name"] == "app");
    const Json& labels = (*pod)["metadata"]["labels"];
    CHECK(labels[std::string(kControlPlaneNsLabel)] == "meshctl");
    CHECK(labels[std::string(kWorkloadNsLabel)] == "ns");
    if (kind == "pod") {
      CHECK_FALSE(labels.contains("meshctl.io/proxy-pod"));
    } else {
      CHECK(labels["meshctl.io/proxy-" + kind] == "x");
    }

    const auto annotated = inject(object, annotate_config());
    CHECK(line_of(annotated) == kind + " \"x\" injected");
    const Json* apod = &annotated.object;
    for (const char* step : c.path) apod = &(*apod)[step];
    CHECK((*apod)["metadata"]["annotations"][std::string(kInjectAnnotation)] == "enabled");
    CHECK((*apod)["spec"] == pod_spec);
  }
}

TEST_CASE("default mode adds only the annotation", "[inject]") {
  const Json d = deployment();
  const auto r = inject(d, annotate_config());
  Json expected = d;
  expected["spec"]["template"]["metadata"]["annotations"] = Json{{"meshctl.io/inject", "enabled"}};
  CHECK(r.object == expected);

  InjectConfig ingress = annotate_config();
  ingress.ingress = true;
  CHECK(tpl(inject(d, ingress).object)["metadata"]["annotations"]["meshctl.io/inject"] == "ingress");
}

TEST_CASE("manual mode writes the proxy, the init container and the volumes", "[inject]") {
  const auto r = inject(deployment(), manual_config());
  const Json& pod = tpl(r.object);
  const Json& annotations = pod["metadata"]["annotations"];
  CHECK(annotations[std::string(kCreatedByAnnotation)] == "meshctl/cli test");
  CHECK(annotations[std::string(kProxyVersionAnnotation)] == std::string(meshctl::core::version()));
  CHECK(annotations[std::string(kTrustRootSha256Annotation)] == trust_root_sha256(kPem));
  CHECK(trust_root_sha256("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK_FALSE(annotations.contains(std::string(kInjectAnnotation)));

  const Json& proxy = *container(pod, "containers", kProxyContainerName);
  const std::string image = "ghcr.io/meshctl/meshctl:" + std::string(meshctl::core::version());
  CHECK(proxy["image"] == image);
  CHECK(proxy["args"] == Json::array({"proxy"}));
  CHECK(proxy["ports"] == yaml("[{name: meshctl-proxy, containerPort: 4143}, {name: meshctl-admin, containerPort: 4191}]"));
  CHECK(proxy["livenessProbe"]["httpGet"] == yaml("{path: /live, port: 4191}"));
  CHECK(proxy["readinessProbe"]["httpGet"] == yaml("{path: /ready, port: 4191}"));
  CHECK_FALSE(proxy.contains("startupProbe"));
  CHECK_FALSE(proxy.contains("restartPolicy"));
  CHECK(proxy["securityContext"]["runAsUser"] == 2102);
  CHECK(proxy["securityContext"]["readOnlyRootFilesystem"] == true);
  CHECK(proxy["resources"] == yaml("{limits: {memory: 250Mi}, requests: {cpu: 100m, memory: 20Mi}}"));

  CHECK(env_of(proxy, "_MESHCTL_NS") == "<valueFrom>");
  CHECK(env_of(proxy, proxy_env::kDestinationAddr.name) == "meshctl-dst-headless.meshctl.svc.cluster.local.:8086");
  CHECK(env_of(proxy, proxy_env::kDestinationName.name) ==
        "meshctl-destination.meshctl.serviceaccount.identity.meshctl.cluster.local");
  CHECK(env_of(proxy, proxy_env::kIdentityAddr.name) == "meshctl-identity-headless.meshctl.svc.cluster.local.:8080");
  CHECK(env_of(proxy, proxy_env::kIdentityServerName.name) ==
        "meshctl-identity.meshctl.serviceaccount.identity.meshctl.cluster.local");
  CHECK(env_of(proxy, proxy_env::kIdentityName.name) ==
        "$(_MESHCTL_SA).$(_MESHCTL_NS).serviceaccount.identity.meshctl.cluster.local");
  CHECK(env_of(proxy, proxy_env::kTrustAnchors.name) == kPem);
  CHECK(env_of(proxy, proxy_env::kTokenFile.name) == "/var/run/secrets/tokens/meshctl-identity-token");
  CHECK(env_of(proxy, proxy_env::kInboundAddr.name) == "0.0.0.0:4143");
  CHECK(env_of(proxy, proxy_env::kOutboundAddr.name) == "127.0.0.1:4140");
  CHECK(env_of(proxy, proxy_env::kAdminAddr.name) == "0.0.0.0:4191");
  CHECK(env_of(proxy, proxy_env::kInboundPorts.name) == "8080");  // the UDP port is not proxied
  CHECK(env_of(proxy, proxy_env::kNamespace.name) == "$(_MESHCTL_NS)");
  CHECK(env_of(proxy, proxy_env::kPodName.name) == "$(_MESHCTL_POD)");
  CHECK(env_of(proxy, proxy_env::kOpaquePorts.name) == "25,587,3306,4444,5432,6379,9300,11211");
  CHECK(env_of(proxy, proxy_env::kDefaultInboundPolicy.name) == "all-unauthenticated");
  CHECK(env_of(proxy, proxy_env::kLogLevel.name) == "warn,meshctl=info");
  CHECK(env_of(proxy, proxy_env::kIngressMode.name) == "<unset>");
  // Every variable the injector writes is declared in the shared table.
  for (const auto& e : proxy["env"]) {
    const std::string name = e["name"];
    if (name[0] == '_') continue;
    CHECK(std::any_of(proxy_env::kAll.begin(), proxy_env::kAll.end(), [&](const auto& v) { return v.name == name; }));
  }

  const Json& init = *container(pod, "initContainers", kInitContainerName);
  CHECK(init["image"] == image);
  CHECK(init["args"][0] == "proxy");
  CHECK(init["args"][1] == "init");
  CHECK(arg_after(init, "--inbound-port") == "4143");
  CHECK(arg_after(init, "--outbound-port") == "4140");
  CHECK(arg_after(init, "--proxy-uid") == "2102");
  CHECK(arg_after(init, "--skip-inbound-ports") == "4191,4567,4568");
  CHECK(arg_after(init, "--skip-outbound-ports") == "4567,4568");
  CHECK(init["securityContext"]["capabilities"] == yaml("{add: [NET_ADMIN, NET_RAW], drop: [ALL]}"));

  const Json& volumes = pod["spec"]["volumes"];
  REQUIRE(volumes.size() == 3);
  CHECK(volumes[0] == yaml("{name: meshctl-identity-end-entity, emptyDir: {medium: Memory}}"));
  CHECK(volumes[1]["projected"]["sources"][0]["serviceAccountToken"]["audience"] == "identity.meshctl.io");
}

TEST_CASE("mesh values shape the injected proxy", "[inject]") {
  render::ValueSources sources;
  sources.sets = {"meshNamespace=mesh", "clusterDomain=example.org", "identityTrustDomain=trust.example",
                  "identity.port=9080", "proxy.uid=3000", "image.registry=reg.example", "image.tag=v9",
                  "proxy.resources.cpu.limit=1", "proxyInit.skipSubnets=10.0.0.0/8"};
  InjectConfig c = config_from_values(render::load_values(sources));
  c.mode = Mode::Manual;
  c.trust_anchors_pem = kPem;
  const Json pod = tpl(inject(deployment(), c).object);
  const Json& proxy = *container(pod, "containers", kProxyContainerName);
  CHECK(proxy["image"] == "reg.example/meshctl:v9");
  CHECK(proxy["securityContext"]["runAsUser"] == 3000);
  CHECK(proxy["resources"]["limits"]["cpu"] == "1");
  CHECK(env_of(proxy, proxy_env::kIdentityAddr.name) == "meshctl-identity-headless.mesh.svc.example.org.:9080");
  CHECK(env_of(proxy, proxy_env::kIdentityName.name) ==
        "$(_MESHCTL_SA).$(_MESHCTL_NS).serviceaccount.identity.mesh.trust.example");
  CHECK(env_of(proxy, proxy_env::kTrustDomain.name) == "trust.example");
  CHECK(pod["metadata"]["labels"][std::string(kControlPlaneNsLabel)] == "mesh");
  CHECK(pod["metadata"]["annotations"][std::string(kProxyVersionAnnotation)] == "v9");
  const Json& init = *container(pod, "initContainers", kInitContainerName);
  CHECK(arg_after(init, "--proxy-uid") == "3000");
  CHECK(arg_after(init, "--skip-subnets") == "10.0.0.0/8");

  render::ValueSources proxy_image;
  proxy_image.sets = {"proxy.image.name=other/proxy", "proxy.image.tag=dev"};
  c = config_from_values(render::load_values(proxy_image));
  CHECK(c.image == "other/proxy");
  CHECK(c.image_tag == "dev");
}

TEST_CASE("native sidecars run as init containers before the pod's own", "[inject]") {
  Json d = deployment();
  d["spec"]["template"]["spec"]["initContainers"] = yaml("[{name: migrate, image: m:1}]");
  InjectConfig c = manual_config();
  c.native_sidecar = true;
  const Json pod = tpl(inject(d, c).object);
  const Json& inits = pod["spec"]["initContainers"];
  REQUIRE(inits.size() == 3);
  CHECK(inits[0]["name"] == kInitContainerName);
  CHECK(inits[1]["name"] == kProxyContainerName);
  CHECK(inits[2]["name"] == "migrate");
  CHECK(inits[1]["restartPolicy"] == "Always");
  CHECK(inits[1]["startupProbe"] == yaml("{httpGet: {path: /ready, port: 4191}, periodSeconds: 1, failureThreshold: 120}"));
  CHECK(pod["spec"]["containers"].size() == 1);

  // The annotation asks for the same per workload, and "false" turns it off again.
  const Json asked = tpl(inject(annotated("{config.meshctl.io/proxy-enable-native-sidecar: 'true'}"),
                                manual_config())
                             .object);
  CHECK(container(asked, "initContainers", kProxyContainerName));
  const Json refused = tpl(inject(annotated("{config.meshctl.io/proxy-enable-native-sidecar: 'false'}"), c).object);
  CHECK(container(refused, "containers", kProxyContainerName));

  // Without other init containers, the proxy still follows meshctl-init.
  const Json plain = tpl(inject(deployment(), c).object);
  CHECK(plain["spec"]["initContainers"][0]["name"] == kInitContainerName);
  CHECK(plain["spec"]["initContainers"][1]["name"] == kProxyContainerName);
}

TEST_CASE("config annotations shape the proxy", "[inject]") {
  const Json annotations = yaml(R"({
    config.meshctl.io/skip-inbound-ports: "3306, 8000-8010",
    config.meshctl.io/skip-outbound-ports: "25",
    config.meshctl.io/opaque-ports: "4222",
    config.meshctl.io/proxy-log-level: "debug",
    config.meshctl.io/proxy-cpu-request: "200m",
    config.meshctl.io/proxy-cpu-limit: "1",
    config.meshctl.io/proxy-memory-request: "64Mi",
    config.meshctl.io/proxy-memory-limit: "128Mi",
    config.meshctl.io/proxy-image: "example.com/custom:v2",
    config.meshctl.io/default-inbound-policy: "deny",
    config.meshctl.io/something-newer: "ignored"})");
  const auto r = inject(with_template_annotations(deployment(), annotations), manual_config());
  CHECK(line_of(r) == "deployment \"web\" injected");
  const Json& pod = tpl(r.object);
  const Json& proxy = *container(pod, "containers", kProxyContainerName);
  const Json& init = *container(pod, "initContainers", kInitContainerName);
  CHECK(arg_after(init, "--skip-inbound-ports") == "4191,3306,8000-8010");
  CHECK(arg_after(init, "--skip-outbound-ports") == "25");
  CHECK(env_of(proxy, proxy_env::kOpaquePorts.name) == "4222");
  CHECK(env_of(proxy, proxy_env::kLogLevel.name) == "debug");
  CHECK(env_of(proxy, proxy_env::kDefaultInboundPolicy.name) == "deny");
  CHECK(proxy["resources"] == yaml("{limits: {cpu: '1', memory: 128Mi}, requests: {cpu: 200m, memory: 64Mi}}"));
  CHECK(proxy["image"] == "example.com/custom:v2");
  CHECK(init["image"] == "example.com/custom:v2");
  CHECK(pod["metadata"]["annotations"][std::string(kProxyVersionAnnotation)] == "v2");
  // The annotations themselves stay.
  for (auto it = annotations.begin(); it != annotations.end(); ++it) {
    CHECK(pod["metadata"]["annotations"][it.key()] == it.value());
  }

  // An image without a tag gets the mesh's tag.
  const Json untagged = tpl(inject(annotated("{config.meshctl.io/proxy-image: 'example.com:5000/p'}"),
                                   manual_config())
                                .object);
  CHECK((*container(untagged, "containers", kProxyContainerName))["image"] ==
        "example.com:5000/p:" + std::string(meshctl::core::version()));
  // An empty skip list replaces the values' ignored ports.
  const Json none = tpl(inject(annotated("{config.meshctl.io/skip-outbound-ports: ''}"),
                               manual_config())
                            .object);
  CHECK(arg_after(*container(none, "initContainers", kInitContainerName), "--skip-outbound-ports") == "<unset>");
}

TEST_CASE("invalid config annotations skip the workload with the reason", "[inject]") {
  const std::vector<std::pair<const char*, const char*>> bad{
      {"config.meshctl.io/skip-inbound-ports", "70000"},
      {"config.meshctl.io/skip-outbound-ports", "ssh"},
      {"config.meshctl.io/opaque-ports", "9-3"},
      {"config.meshctl.io/proxy-log-level", "loud"},
      {"config.meshctl.io/proxy-cpu-request", "lots"},
      {"config.meshctl.io/proxy-cpu-limit", "1 core"},
      {"config.meshctl.io/proxy-memory-request", "64MB"},
      {"config.meshctl.io/proxy-memory-limit", "-"},
      {"config.meshctl.io/proxy-image", "Has Spaces"},
      {"config.meshctl.io/default-inbound-policy", "allow"},
      {"config.meshctl.io/proxy-enable-native-sidecar", "yes"},
  };
  for (const auto& [key, value] : bad) {
    INFO(key);
    const Json d = with_template_annotations(deployment(), Json{{key, value}});
    for (const auto& c : {manual_config(), annotate_config()}) {
      const auto r = inject(d, c);
      CHECK(r.object == d);
      CHECK(line_of(r).rfind("deployment \"web\" skipped: annotation " + std::string(key) + ": ", 0) == 0);
    }
  }
}

TEST_CASE("skips leave the object as it was and say why", "[inject]") {
  auto skipped = [](const Json& object, const InjectConfig& c, const NamespaceAnnotations& ns = {}) {
    const auto r = inject(object, c, ns);
    CHECK(r.object == object);
    REQUIRE(r.reports.size() == 1);
    CHECK(r.reports[0].outcome == Outcome::Skipped);
    return report_line(r.reports[0]);
  };
  for (const auto& c : {manual_config(), annotate_config()}) {
    Json host = deployment();
    host["spec"]["template"]["spec"]["hostNetwork"] = true;
    CHECK(skipped(host, c) == "deployment \"web\" skipped: hostNetwork is enabled");

    for (const char* other : {"istio-proxy", "istio-init", "linkerd-proxy", "linkerd-init"}) {
      Json meshed = deployment();
      const bool init = std::string_view(other).find("init") != std::string_view::npos;
      meshed["spec"]["template"]["spec"][init ? "initContainers" : "containers"].push_back(Json{{"name", other}});
      CHECK(skipped(meshed, c) ==
            "deployment \"web\" skipped: another mesh's sidecar is present (container " + std::string(other) + ")");
    }

    CHECK(skipped(annotated("{meshctl.io/inject: disabled}"), c) ==
          "deployment \"web\" skipped: annotation meshctl.io/inject is disabled");
    CHECK(skipped(annotated("{meshctl.io/inject: 'on'}"), c) ==
          "deployment \"web\" skipped: meshctl.io/inject is \"on\", not enabled, ingress or disabled");
    CHECK(skipped(deployment(), c, {{"emojivoto", yaml("{meshctl.io/inject: disabled}")}}) ==
          "deployment \"web\" skipped: its namespace has annotation meshctl.io/inject: disabled");

    Json no_template = deployment();
    no_template["spec"].erase("template");
    CHECK(skipped(no_template, c) == "deployment \"web\" skipped: has no pod template");
    CHECK(skipped(yaml("{kind: Service, metadata: {name: web}, spec: {ports: [{port: 80}]}}"), c) ==
          "service \"web\" skipped: kind not injectable");
    CHECK(skipped(yaml("{kind: ConfigMap, metadata: {name: cfg}}"), c) == "configmap \"cfg\" skipped: kind not injectable");
  }

  InjectConfig webhook = annotate_config();
  webhook.require_opt_in = true;
  CHECK(skipped(deployment(), webhook) ==
        "deployment \"web\" skipped: neither it nor its namespace has meshctl.io/inject: enabled");
  CHECK(inject(deployment(), webhook, {{"emojivoto", yaml("{meshctl.io/inject: enabled}")}}).reports[0].outcome ==
        Outcome::Injected);
}

TEST_CASE("the pod's annotations beat its namespace's", "[inject]") {
  const NamespaceAnnotations disabled{
      {"emojivoto", yaml("{meshctl.io/inject: disabled, config.meshctl.io/proxy-log-level: debug}")}};
  const NamespaceAnnotations enabled{{"emojivoto", yaml(R"({meshctl.io/inject: ingress,
      config.meshctl.io/proxy-log-level: debug, config.meshctl.io/opaque-ports: '1234'})")}};
  const Json pod_enabled = annotated("{meshctl.io/inject: enabled, config.meshctl.io/proxy-log-level: trace}");
  const Json pod_disabled = annotated("{meshctl.io/inject: disabled}");

  // Namespace disabled, pod enabled: injected, with the pod's log level.
  auto r = inject(pod_enabled, manual_config(), disabled);
  CHECK(line_of(r) == "deployment \"web\" injected");
  const Json& proxy = *container(tpl(r.object), "containers", kProxyContainerName);
  CHECK(env_of(proxy, proxy_env::kLogLevel.name) == "trace");
  CHECK(env_of(proxy, proxy_env::kIngressMode.name) == "<unset>");

  // Namespace enabled, pod disabled: skipped.
  CHECK(line_of(inject(pod_disabled, manual_config(), enabled)) ==
        "deployment \"web\" skipped: annotation meshctl.io/inject is disabled");

  // Namespace settings apply where the pod says nothing, ingress included.
  r = inject(deployment(), manual_config(), enabled);
  const Json& from_ns = *container(tpl(r.object), "containers", kProxyContainerName);
  CHECK(env_of(from_ns, proxy_env::kLogLevel.name) == "debug");
  CHECK(env_of(from_ns, proxy_env::kOpaquePorts.name) == "1234");
  CHECK(env_of(from_ns, proxy_env::kIngressMode.name) == "true");
  CHECK(tpl(r.object)["metadata"]["annotations"]["meshctl.io/inject"] == "ingress");
  // ...but are not copied onto the pod.
  CHECK_FALSE(tpl(r.object)["metadata"]["annotations"].contains("config.meshctl.io/opaque-ports"));

  // An unrelated namespace does not count.
  CHECK(line_of(inject(deployment(), manual_config(), {{"other", yaml("{meshctl.io/inject: disabled}")}})) ==
        "deployment \"web\" injected");
}

TEST_CASE("flags become config annotations in both modes", "[inject]") {
  for (auto c : {manual_config(), annotate_config()}) {
    c.override_annotations = yaml("{config.meshctl.io/proxy-log-level: debug, config.meshctl.io/opaque-ports: '4222'}");
    const Json pod = tpl(inject(annotated("{config.meshctl.io/proxy-log-level: info}"), c).object);
    CHECK(pod["metadata"]["annotations"]["config.meshctl.io/proxy-log-level"] == "debug");
    CHECK(pod["metadata"]["annotations"]["config.meshctl.io/opaque-ports"] == "4222");
    if (c.mode == Mode::Manual) {
      CHECK(env_of(*container(pod, "containers", kProxyContainerName), proxy_env::kLogLevel.name) == "debug");
    }
  }
}

TEST_CASE("namespaces are annotated", "[inject]") {
  const Json ns = yaml("{apiVersion: v1, kind: Namespace, metadata: {name: emojivoto}}");
  for (const auto& c : {manual_config(), annotate_config()}) {
    const auto r = inject(ns, c);
    CHECK(line_of(r) == "namespace \"emojivoto\" annotated");
    CHECK(r.object["metadata"]["annotations"] == yaml("{meshctl.io/inject: enabled}"));
    CHECK(inject(r.object, c).object == r.object);
    const auto u = uninject_object(r.object);
    CHECK(line_of(u) == "namespace \"emojivoto\" uninjected");
    CHECK(u.object == ns);
  }
  InjectConfig c = annotate_config();
  c.ingress = true;
  c.override_annotations = yaml("{config.meshctl.io/proxy-log-level: debug}");
  CHECK(inject(ns, c).object["metadata"]["annotations"] ==
        yaml("{meshctl.io/inject: ingress, config.meshctl.io/proxy-log-level: debug}"));
  const Json off = yaml("{kind: Namespace, metadata: {name: x, annotations: {meshctl.io/inject: disabled}}}");
  CHECK(line_of(inject(off, c)) == "namespace \"x\" skipped: annotation meshctl.io/inject is disabled");
  CHECK(line_of(uninject_object(off)) == "namespace \"x\" skipped: not injected");
}

TEST_CASE("injecting injected objects changes nothing", "[inject]") {
  Json busy = deployment();
  busy["spec"]["template"]["metadata"]["annotations"] = yaml("{b: '1', meshctl.io/inject: enabled, a: '2'}");
  busy["spec"]["template"]["spec"]["initContainers"] = yaml("[{name: migrate, image: m}]");
  busy["spec"]["template"]["spec"]["volumes"] = yaml("[{name: data, emptyDir: {}}]");
  InjectConfig native = manual_config();
  native.native_sidecar = true;
  InjectConfig ingress = annotate_config();
  ingress.ingress = true;
  for (const Json& object : {deployment(), busy}) {
    for (const auto& c : {manual_config(), annotate_config(), native, ingress}) {
      const Json once = inject(object, c).object;
      const auto twice = inject(once, c);
      CHECK(twice.object.dump() == once.dump());
      CHECK(line_of(twice) == "deployment \"web\" injected");
    }
    // Switching modes replaces the earlier injection.
    const Json manual = inject(object, manual_config()).object;
    CHECK(same(inject(manual, annotate_config()).object, inject(object, annotate_config()).object));
    CHECK(inject(inject(object, native).object, manual_config()).object.dump() == manual.dump());
  }
}

TEST_CASE("uninject removes exactly what inject added", "[inject]") {
  Json busy = deployment();
  busy["spec"]["template"]["metadata"]["annotations"] =
      yaml("{b: '1', config.meshctl.io/proxy-log-level: debug, meshctl.io/other: x}");
  busy["spec"]["template"]["metadata"]["labels"]["meshctl.io/control-plane-component"] = "identity";
  busy["spec"]["template"]["spec"]["initContainers"] = yaml("[{name: migrate, image: m}]");
  busy["spec"]["template"]["spec"]["volumes"] = yaml("[{name: data, emptyDir: {}}]");
  Json bare_pod = yaml("{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: a, image: a}]}}");
  InjectConfig native = manual_config();
  native.native_sidecar = true;
  InjectConfig ingress = manual_config();
  ingress.ingress = true;
  for (const Json& object : {deployment(), busy, bare_pod}) {
    for (const auto& c : {manual_config(), annotate_config(), native, ingress}) {
      const auto injected = inject(object, c);
      REQUIRE(injected.reports[0].outcome == Outcome::Injected);
      const auto r = uninject_object(injected.object);
      CHECK(r.object.dump() == object.dump());
      CHECK(r.reports[0].outcome == Outcome::Uninjected);
    }
  }
  const auto untouched = uninject_object(deployment());
  CHECK(untouched.object == deployment());
  CHECK(line_of(untouched) == "deployment \"web\" skipped: not injected");
  const Json disabled = annotated("{meshctl.io/inject: disabled}");
  CHECK(uninject_object(disabled).object == disabled);
}

TEST_CASE("Lists are walked item by item", "[inject]") {
  const Json list = Json{{"apiVersion", "v1"},
                         {"kind", "List"},
                         {"items", Json::array({deployment(), yaml("{kind: Service, metadata: {name: web}}"),
                                                yaml(R"({kind: Namespace, metadata: {name: emojivoto,
                                                         annotations: {meshctl.io/inject: disabled}}})")})}};
  NamespaceAnnotations namespaces;
  collect_namespaces(list, namespaces);
  REQUIRE(namespaces.count("emojivoto"));
  auto r = inject(list, manual_config(), namespaces);
  REQUIRE(r.reports.size() == 3);
  CHECK(report_line(r.reports[0]) ==
        "deployment \"web\" skipped: its namespace has annotation meshctl.io/inject: disabled");
  CHECK(report_line(r.reports[1]) == "service \"web\" skipped: kind not injectable");
  CHECK(report_line(r.reports[2]) == "namespace \"emojivoto\" skipped: annotation meshctl.io/inject is disabled");
  r = inject(list, manual_config());
  CHECK(report_line(r.reports[0]) == "deployment \"web\" injected");
  CHECK(container(tpl(r.object["items"][0]), "containers", kProxyContainerName));

  // A typed list's items may leave their kind out.
  Json typed = Json{{"kind", "DeploymentList"}, {"items", Json::array({deployment()})}};
  typed["items"][0].erase("kind");
  r = inject(typed, annotate_config());
  CHECK(report_line(r.reports[0]) == "deployment \"web\" injected");
  CHECK_FALSE(r.object["items"][0].contains("kind"));

  Json untyped = list;
  untyped["items"][1].erase("kind");
  CHECK_THROWS_WITH(inject(untyped, annotate_config()), "item 2 of the List has no kind");
  CHECK_THROWS_WITH(inject(yaml("{metadata: {name: x}}"), annotate_config()), "the document has no kind");
}

TEST_CASE("owner labels fit Kubernetes' limits", "[inject]") {
  Json d = deployment();
  d["metadata"]["name"] = std::string(64, 'a');
  d["metadata"].erase("namespace");
  const Json labels = tpl(inject(d, manual_config()).object)["metadata"]["labels"];
  CHECK_FALSE(labels.contains("meshctl.io/proxy-deployment"));
  CHECK_FALSE(labels.contains(std::string(kWorkloadNsLabel)));
}

TEST_CASE("checks name what is wrong", "[inject]") {
  CHECK_FALSE(check_ports(""));
  CHECK_FALSE(check_ports("1,65535, 8000-8010"));
  CHECK(*check_ports("0") == "port 0 is out of range (1-65535)");
  CHECK(*check_ports("65536") == "port 65536 is out of range (1-65535)");
  CHECK(*check_ports("10-5") == "range \"10-5\" ends before it starts");
  CHECK(*check_ports("http") == "\"http\" is not a port or a range of ports (such as 8080 or 8000-8010)");
  CHECK(check_ports("1,,2"));
  CHECK(check_ports("-5"));
  CHECK(normalize_ports(" 1, 2 ") == "1,2");

  CHECK_FALSE(check_log_level("warn,meshctl=info,meshctl::proxy=trace"));
  CHECK_FALSE(check_log_level("off"));
  CHECK(check_log_level(""));
  CHECK(check_log_level("verbose"));
  CHECK(check_log_level("meshctl=loud"));
  CHECK(check_log_level("bad target=info"));

  for (const char* p : {"all-unauthenticated", "all-authenticated", "cluster-unauthenticated", "cluster-authenticated",
                        "deny", "audit"}) {
    CHECK_FALSE(check_inbound_policy(p));
  }
  CHECK(check_inbound_policy("allow"));

  for (const char* q : {"100m", "0.5", "1", "64Mi", "1Gi", "1e3", "500k", ".5"}) CHECK_FALSE(check_quantity(q));
  for (const char* q : {"", "64MB", "1 Gi", "-1", "m"}) CHECK(check_quantity(q));

  for (const std::string& i : {std::string("ghcr.io/meshctl/meshctl"), std::string("localhost:5000/p:dev"),
                               "p@sha256:" + std::string(64, 'a')}) {
    CHECK_FALSE(check_image(i));
  }
  for (const char* i : {"", "Upper/case", "a b", "img:"}) CHECK(check_image(i));
}

TEST_CASE("mesh values are checked", "[inject]") {
  auto error_of = [](std::vector<std::string> sets) -> std::string {
    render::ValueSources s;
    s.sets = std::move(sets);
    try {
      config_from_values(render::load_values(s));
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  CHECK(error_of({}).empty());
  CHECK(error_of({"proxy.defaultInboundPolicy=allow"}).rfind("mesh values: proxy.defaultInboundPolicy: ", 0) == 0);
  CHECK(error_of({"proxy.logLevel=loud"}).rfind("mesh values: proxy.logLevel: ", 0) == 0);
  CHECK(error_of({"proxy.opaquePorts=99999"}).rfind("mesh values: proxy.opaquePorts: ", 0) == 0);
  CHECK(error_of({"proxy.ports.inbound=0"}).rfind("mesh values: proxy.ports.inbound must be", 0) == 0);
  CHECK(error_of({"proxyInit.iptablesMode=ebpf"}).rfind("mesh values: proxyInit.iptablesMode", 0) == 0);
  CHECK(error_of({"proxy.resources.memory.limit=lots"}).rfind("mesh values: proxy.resources.memory.limit: ", 0) == 0);
  CHECK(error_of({"proxy.detectTimeout=soon"}).rfind("mesh values: proxy.detectTimeout: ", 0) == 0);
  CHECK(error_of({"image.pullPolicy=Sometimes"}).rfind("mesh values: image.pullPolicy", 0) == 0);
  CHECK(error_of({"meshNamespace="}) == "mesh values: meshNamespace is empty");
}

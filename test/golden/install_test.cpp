// Golden files for `meshctl install`, `install --crds` and `uninstall`, plus the properties a
// golden file cannot show: a default install (fresh certificates) is complete and consistent,
// the same inputs give the same bytes, and every kind of bad input fails cleanly.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>

#include "cli/command.h"
#include "cli/install_command.h"
#include "core/tls/certificate.h"
#include "core/tls/crypto_util.h"
#include "core/tls/pem.h"
#include "core/tls/verify.h"
#include "support/golden.h"

using namespace meshctl;
using meshctl::test::check_golden;
using meshctl::test::Json;
using meshctl::test::testdata;

namespace {

struct Result {
  int code;
  std::string out;
  std::string err;
};

// 2026-01-01T00:00:00Z: the fixed certificates are valid from 2025 to 2124.
core::tls::Time fixed_now() { return core::tls::from_unix_seconds(1767225600); }

cli::InstallOptions with_test_certificates() {
  cli::InstallOptions o;
  o.trust_anchors_file = testdata("certs/root.crt");
  o.issuer_certificate_file = testdata("certs/issuer.crt");
  o.issuer_key_file = testdata("certs/issuer.key");
  o.now = fixed_now();
  return o;
}

Result install(const cli::InstallOptions& o) {
  std::ostringstream out, err;
  const int code = cli::run_install(o, out, err);
  return {code, out.str(), err.str()};
}

Result uninstall(const cli::UninstallOptions& o) {
  std::ostringstream out, err;
  const int code = cli::run_uninstall(o, out, err);
  return {code, out.str(), err.str()};
}

std::vector<Json> objects_of(const std::string& yaml) { return core::yaml::parse_stream(yaml, "output"); }

const Json* find(const std::vector<Json>& objects, const std::string& kind, const std::string& name) {
  for (const auto& o : objects) {
    if (o["kind"] == kind && o["metadata"]["name"] == name) return &o;
  }
  return nullptr;
}

std::string b64decode(const Json& v) {
  const auto bytes = core::tls::base64_decode(v.get<std::string>());
  return std::string(bytes.begin(), bytes.end());
}

std::string write_temp(const std::string& content) {
  char name[] = "/tmp/meshctl-install-test-XXXXXX";
  const int fd = mkstemp(name);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(name, std::ios::binary) << content;
  return name;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void require_ok(const Result& r) {
  INFO(r.err);
  REQUIRE(r.code == 0);
}

}  // namespace

TEST_CASE("install with the test certificates", "[install][golden]") {
  const Result r = install(with_test_certificates());
  require_ok(r);
  CHECK(r.err.find("Rendering the meshctl control plane") != std::string::npos);
  check_golden("install/install_default.golden", r.out);
}

TEST_CASE("install --ha", "[install][golden]") {
  auto o = with_test_certificates();
  o.ha = true;
  const Result r = install(o);
  require_ok(r);
  check_golden("install/install_ha.golden", r.out);
  const auto objects = objects_of(r.out);
  for (const char* d : {"meshctl-identity", "meshctl-destination", "meshctl-proxy-injector"}) {
    INFO(d);
    const Json* dep = find(objects, "Deployment", d);
    REQUIRE(dep);
    CHECK((*dep)["spec"]["replicas"] == 3);
    CHECK((*dep)["spec"]["template"]["spec"].contains("affinity"));
    CHECK(find(objects, "PodDisruptionBudget", d));
  }
  CHECK((*find(objects, "MutatingWebhookConfiguration", "meshctl-proxy-injector-webhook-config"))["webhooks"][0]
            ["failurePolicy"] == "Fail");
}

TEST_CASE("install with values files, --set and the dedicated flags", "[install][golden]") {
  auto o = with_test_certificates();
  o.values.files = {testdata("install/values-custom.yaml")};
  o.values.sets = {"controllerReplicas=2", "proxyInjector.excludedNamespaces[1]=logging",
                   "webhookTimeoutSeconds=5"};
  o.values.string_sets = {"image.tag=2.0"};
  o.mesh_namespace = "mesh-system";
  o.trust_domain = "example.org";
  o.issuance_lifetime = "12h";
  const Result r = install(o);
  require_ok(r);
  check_golden("install/install_custom.golden", r.out);
  const auto objects = objects_of(r.out);
  const Json* dep = find(objects, "Deployment", "meshctl-identity");
  REQUIRE(dep);
  CHECK((*dep)["metadata"]["namespace"] == "mesh-system");
  CHECK((*dep)["spec"]["replicas"] == 2);
  CHECK((*dep)["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example.com/mesh/meshctl:2.0");
  CHECK((*dep)["spec"]["template"]["metadata"]["labels"]["team"] == "platform");
  const Json& args = (*dep)["spec"]["template"]["spec"]["containers"][0]["args"];
  CHECK(std::find(args.begin(), args.end(), "--issuance-lifetime=12h") != args.end());
  CHECK(std::find(args.begin(), args.end(), "--trust-domain=example.org") != args.end());
  const Json& webhook = (*find(objects, "MutatingWebhookConfiguration", "meshctl-proxy-injector-webhook-config"))["webhooks"][0];
  CHECK(webhook["namespaceSelector"]["matchExpressions"][1]["values"] ==
        Json::parse(R"(["kube-system","mesh-system","monitoring","logging"])"));
  CHECK(webhook["timeoutSeconds"] == 5);
  CHECK(webhook["clientConfig"]["service"]["namespace"] == "mesh-system");
  // A --set beats the -f file, and --controller-replicas beats --set.
  o.controller_replicas = "4";
  const auto again = objects_of(install(o).out);
  CHECK((*find(again, "Deployment", "meshctl-identity"))["spec"]["replicas"] == 4);
}

TEST_CASE("install --ha keeps the user's values over the HA preset", "[install]") {
  auto o = with_test_certificates();
  o.ha = true;
  o.values.sets = {"controllerReplicas=5", "webhookFailurePolicy=Ignore"};
  const auto objects = objects_of(install(o).out);
  CHECK((*find(objects, "Deployment", "meshctl-destination"))["spec"]["replicas"] == 5);
  CHECK((*find(objects, "MutatingWebhookConfiguration", "meshctl-proxy-injector-webhook-config"))["webhooks"][0]
            ["failurePolicy"] == "Ignore");
}

TEST_CASE("install --crds", "[install][golden]") {
  cli::InstallOptions o;
  o.crds = true;
  const Result r = install(o);
  require_ok(r);
  CHECK(r.err == "Rendering the meshctl CRDs...\n");
  check_golden("install/install_crds.golden", r.out);
}

TEST_CASE("uninstall names every object install creates", "[install][golden]") {
  const Result r = uninstall({});
  require_ok(r);
  check_golden("install/uninstall.golden", r.out);
  const auto stubs = objects_of(r.out);
  auto installed = objects_of(install(with_test_certificates()).out);
  cli::InstallOptions crds;
  crds.crds = true;
  for (auto& c : objects_of(install(crds).out)) installed.push_back(c);
  REQUIRE(stubs.size() == installed.size());
  for (const auto& o : installed) {
    INFO(o["kind"] << "/" << o["metadata"]["name"]);
    CHECK(find(stubs, o["kind"], o["metadata"]["name"]));
  }
  // The webhook goes first so pod creation never waits on an injector being deleted.
  CHECK(stubs.front()["kind"] == "MutatingWebhookConfiguration");
  for (const auto& s : stubs) CHECK(s["metadata"]["labels"]["meshctl.io/control-plane-ns"] == "meshctl");

  cli::UninstallOptions ha;
  ha.ha = true;
  ha.mesh_namespace = "mesh-system";
  const auto ha_stubs = objects_of(uninstall(ha).out);
  CHECK(find(ha_stubs, "PodDisruptionBudget", "meshctl-identity"));
  CHECK((*find(ha_stubs, "Namespace", "mesh-system"))["metadata"]["name"] == "mesh-system");
}

TEST_CASE("install prints the effective values with --print-values", "[install][golden]") {
  auto o = with_test_certificates();
  o.trust_anchors_file.clear();
  o.issuer_certificate_file.clear();
  o.issuer_key_file.clear();
  o.print_values = true;
  o.ha = true;
  o.values.sets = {"proxy.logLevel=debug"};
  const Result r = install(o);
  require_ok(r);
  CHECK(r.err.empty());
  check_golden("install/print_values_ha.golden", r.out);
  const Json v = core::yaml::parse_document(r.out, "output");
  CHECK(v["controllerReplicas"] == 3);
  CHECK(v["proxy"]["logLevel"] == "debug");
  o.output = "json";
  CHECK(Json::parse(install(o).out) == v);
}

TEST_CASE("the same certificate files give byte-identical output", "[install][determinism]") {
  const Result a = install(with_test_certificates());
  auto o = with_test_certificates();
  o.now = fixed_now() + std::chrono::hours(24 * 400);  // the clock only decides validity
  const Result b = install(o);
  require_ok(a);
  require_ok(b);
  CHECK(a.out == b.out);
  o.ha = true;
  CHECK(install(o).out == install(o).out);
}

TEST_CASE("certificates given as values render like the same certificates given as files", "[install]") {
  const std::string values = write_temp(core::yaml::to_yaml(Json{
      {"identityTrustAnchorsPEM", read_file(testdata("certs/root.crt"))},
      {"identity",
       {{"issuer",
         {{"tls",
           {{"crtPEM", read_file(testdata("certs/issuer.crt"))}, {"keyPEM", read_file(testdata("certs/issuer.key"))}}}}}}}}));
  cli::InstallOptions o;
  o.values.files = {values};
  o.now = fixed_now();
  const Result r = install(o);
  require_ok(r);
  CHECK(r.out == install(with_test_certificates()).out);
  // Both a file and a value for the same PEM is a conflict.
  o.trust_anchors_file = testdata("certs/root.crt");
  const Result conflict = install(o);
  CHECK(conflict.code == 1);
  CHECK(conflict.err.find("--identity-trust-anchors-file and the value identityTrustAnchorsPEM") != std::string::npos);
  std::remove(values.c_str());
}

TEST_CASE("a default install is complete and its certificates are consistent", "[install]") {
  const Result r = install({});
  require_ok(r);
  CHECK(r.err.find("Generated a new trust anchor and issuer") != std::string::npos);
  const auto objects = objects_of(r.out);
  for (const auto& [kind, name] : std::vector<std::pair<std::string, std::string>>{
           {"Namespace", "meshctl"},
           {"ServiceAccount", "meshctl-identity"},
           {"ServiceAccount", "meshctl-destination"},
           {"ServiceAccount", "meshctl-proxy-injector"},
           {"ClusterRole", "meshctl-meshctl-identity"},
           {"ClusterRole", "meshctl-meshctl-destination"},
           {"ClusterRole", "meshctl-meshctl-proxy-injector"},
           {"ClusterRoleBinding", "meshctl-meshctl-identity"},
           {"ClusterRoleBinding", "meshctl-meshctl-destination"},
           {"ClusterRoleBinding", "meshctl-meshctl-proxy-injector"},
           {"ConfigMap", "meshctl-config"},
           {"ConfigMap", "meshctl-identity-trust-roots"},
           {"Secret", "meshctl-identity-issuer"},
           {"Secret", "meshctl-proxy-injector-k8s-tls"},
           {"Service", "meshctl-identity"},
           {"Service", "meshctl-identity-headless"},
           {"Service", "meshctl-dst"},
           {"Service", "meshctl-dst-headless"},
           {"Service", "meshctl-proxy-injector"},
           {"Deployment", "meshctl-identity"},
           {"Deployment", "meshctl-destination"},
           {"Deployment", "meshctl-proxy-injector"},
           {"MutatingWebhookConfiguration", "meshctl-proxy-injector-webhook-config"}}) {
    INFO(kind << "/" << name);
    CHECK(find(objects, kind, name));
  }
  CHECK(objects.size() == 23);
  CHECK(objects.front()["kind"] == "Namespace");

  // The issuer chains to the anchor and its key matches.
  const std::string anchors_pem = (*find(objects, "ConfigMap", "meshctl-identity-trust-roots"))["data"]["ca-bundle.crt"];
  const Json& issuer_secret = (*find(objects, "Secret", "meshctl-identity-issuer"));
  CHECK(issuer_secret["type"] == "kubernetes.io/tls");
  const auto anchors = core::tls::bundle_from_pem(anchors_pem, "anchors");
  const auto issuer = core::tls::certificate_from_pem(b64decode(issuer_secret["data"]["tls.crt"]), "issuer");
  const auto issuer_key = core::tls::private_key_from_pem(b64decode(issuer_secret["data"]["tls.key"]), "issuer key");
  CHECK(b64decode(issuer_secret["data"]["ca.crt"]) == anchors_pem);
  core::tls::VerifyOptions now;
  now.at = std::chrono::system_clock::now();
  CHECK(core::tls::verify_certificate(issuer, {}, anchors, now).ok());
  CHECK(core::tls::key_matches_certificate(issuer_key, issuer));
  CHECK(issuer_key.algorithm() == core::tls::KeyAlgorithm::ecdsa_p256);
  CHECK(anchors.front().public_key().algorithm() == core::tls::KeyAlgorithm::ecdsa_p256);

  // The webhook's caBundle is the certificate the injector serves, for the Service's name.
  const Json& tls_secret = *find(objects, "Secret", "meshctl-proxy-injector-k8s-tls");
  const std::string serving_pem = b64decode(tls_secret["data"]["tls.crt"]);
  const Json& webhook = (*find(objects, "MutatingWebhookConfiguration", "meshctl-proxy-injector-webhook-config"));
  CHECK(b64decode(webhook["webhooks"][0]["clientConfig"]["caBundle"]) == serving_pem);
  const auto serving = core::tls::certificate_from_pem(serving_pem, "webhook");
  const auto serving_key = core::tls::private_key_from_pem(b64decode(tls_secret["data"]["tls.key"]), "webhook key");
  CHECK(core::tls::key_matches_certificate(serving_key, serving));
  core::tls::VerifyOptions named = now;
  named.dns_name = "meshctl-proxy-injector.meshctl.svc";
  const std::vector<core::tls::Certificate> self{serving};
  CHECK(core::tls::verify_certificate(serving, {}, self, named).ok());

  // Pods carry the hash of the anchors they trust.
  const Json& dep = *find(objects, "Deployment", "meshctl-identity");
  CHECK(dep["spec"]["template"]["metadata"]["annotations"]["meshctl.io/trust-root-sha256"] ==
        core::tls::sha256_hex(anchors_pem));

  // Two default installs share nothing random.
  const auto other = objects_of(install({}).out);
  CHECK((*find(other, "ConfigMap", "meshctl-identity-trust-roots"))["data"]["ca-bundle.crt"] != anchors_pem);
}

TEST_CASE("install --identity-external-issuer leaves the issuer Secret to cert-manager", "[install]") {
  cli::InstallOptions o;
  o.external_issuer = true;
  o.trust_anchors_file = testdata("certs/root.crt");
  o.now = fixed_now();
  const Result r = install(o);
  require_ok(r);
  const auto objects = objects_of(r.out);
  CHECK_FALSE(find(objects, "Secret", "meshctl-identity-issuer"));
  const Json& dep = *find(objects, "Deployment", "meshctl-identity");
  CHECK(dep["spec"]["template"]["spec"]["volumes"][0]["secret"]["secretName"] == "meshctl-identity-issuer");
  CHECK((*find(objects, "ConfigMap", "meshctl-identity-trust-roots"))["data"]["ca-bundle.crt"] ==
        read_file(testdata("certs/root.crt")));
  const std::string config = (*find(objects, "ConfigMap", "meshctl-config"))["data"]["values"];
  CHECK(core::yaml::parse_document(config, "config")["identity"]["externalIssuer"] == true);
  // The webhook certificate is random here (documented): it still matches its caBundle.
  const Json& webhook = *find(objects, "MutatingWebhookConfiguration", "meshctl-proxy-injector-webhook-config");
  CHECK(webhook["webhooks"][0]["clientConfig"]["caBundle"] ==
        (*find(objects, "Secret", "meshctl-proxy-injector-k8s-tls"))["data"]["tls.crt"]);
}

TEST_CASE("meshctl-config holds the values without the issuer's key", "[install]") {
  const auto objects = objects_of(install(with_test_certificates()).out);
  const std::string text = (*find(objects, "ConfigMap", "meshctl-config"))["data"]["values"];
  CHECK(text.find("PRIVATE KEY") == std::string::npos);
  const Json config = core::yaml::parse_document(text, "meshctl-config");
  CHECK(config["identity"]["issuer"]["tls"]["keyPEM"] == "");
  CHECK(config["identityTrustAnchorsPEM"] == read_file(testdata("certs/root.crt")));
  CHECK(config["meshNamespace"] == "meshctl");
}

TEST_CASE("install -o json writes one List with the same objects", "[install]") {
  auto o = with_test_certificates();
  const auto yaml_objects = objects_of(install(o).out);
  o.output = "json";
  const Result r = install(o);
  require_ok(r);
  const Json list = Json::parse(r.out);
  CHECK(list["kind"] == "List");
  CHECK(list["items"] == Json(yaml_objects));
}

TEST_CASE("the binary wires install and uninstall to stdout, stderr and the exit code", "[install][binary]") {
  const std::string out = "/tmp/meshctl-install-binary.out", err = "/tmp/meshctl-install-binary.err";
  const std::string base = std::string(MESHCTL_BINARY) + " ";
  auto run = [&](const std::string& args) {
    const int status = std::system((base + args + " >" + out + " 2>" + err).c_str());
    return WEXITSTATUS(status);
  };
  CHECK(run("install --crds") == 0);
  CHECK(objects_of(read_file(out)).size() == 7);
  CHECK(run("install --set nosuch=1") == 1);
  CHECK(read_file(out).empty());
  CHECK(read_file(err) == "Error: --set \"nosuch=1\": unknown value \"nosuch\"\n"
                          "Hint: `meshctl install --print-values` lists every value and its default\n");
  CHECK(run("uninstall") == 0);
  CHECK(objects_of(read_file(out)).size() == 30);
  std::remove(out.c_str());
  std::remove(err.c_str());
}

namespace {

struct BadInput {
  std::string what;
  std::function<void(cli::InstallOptions&)> apply;
  std::string error;  // a part of the "Error: ..." line
};

std::string cert(const std::string& name) { return testdata("certs/" + name); }

}  // namespace

TEST_CASE("bad input fails with one error naming the flag, file or key, and nothing on stdout", "[install][errors]") {
  const std::string broken_yaml = write_temp("controllerReplicas: 2\nproxy: [unclosed\n");
  const std::string unknown_key = write_temp("proxy:\n  nosuch: 1\n");
  const std::string wrong_type = write_temp("controllerReplicas: three\n");
  const std::string a_list = write_temp("- 1\n- 2\n");
  const std::string bad_policy = write_temp("proxy:\n  defaultInboundPolicy: allow-all\n");

  const std::vector<BadInput> cases = {
      // values files
      {"missing values file", [](auto& o) { o.values.files = {"/nonexistent/values.yaml"}; },
       "/nonexistent/values.yaml: cannot read values file"},
      {"broken YAML", [&](auto& o) { o.values.files = {broken_yaml}; }, broken_yaml + ":"},
      {"unknown key in a file", [&](auto& o) { o.values.files = {unknown_key}; },
       unknown_key + ": unknown value \"proxy.nosuch\""},
      {"wrong type in a file", [&](auto& o) { o.values.files = {wrong_type}; },
       wrong_type + ": controllerReplicas must be a number"},
      {"values file that is a list", [&](auto& o) { o.values.files = {a_list}; }, "a values file must be a map"},
      {"bad enum in a file", [&](auto& o) { o.values.files = {bad_policy}; },
       "value proxy.defaultInboundPolicy: \"allow-all\" is not one of"},
      // --set / --set-string
      {"--set unknown key", [](auto& o) { o.values.sets = {"nosuch.key=1"}; }, "unknown value \"nosuch\""},
      {"--set without =", [](auto& o) { o.values.sets = {"controllerReplicas"}; }, "has no '='"},
      {"--set bad index", [](auto& o) { o.values.sets = {"proxyInjector.excludedNamespaces[x]=a"}; },
       "list index \"x\""},
      {"--set out of range", [](auto& o) { o.values.sets = {"controllerReplicas=0"}; },
       "value controllerReplicas: must be from 1 to 100, not 0"},
      {"--set-string of a number", [](auto& o) { o.values.string_sets = {"controllerReplicas=3"}; },
       "controllerReplicas must be a number, not a string"},
      {"--set failure policy", [](auto& o) { o.values.sets = {"webhookFailurePolicy=Sometimes"}; },
       "value webhookFailurePolicy: \"Sometimes\" is not one of Fail, Ignore"},
      {"--set webhook timeout", [](auto& o) { o.values.sets = {"webhookTimeoutSeconds=31"}; },
       "value webhookTimeoutSeconds: must be from 1 to 30"},
      {"--set negative port", [](auto& o) { o.values.sets = {"identity.port=-1"}; },
       "value identity.port: must be from 1 to 65535, not -1"},
      {"--set clashing ports", [](auto& o) { o.values.sets = {"destination.port=8080"}; },
       "value destination.port: 8080 is already used"},
      {"--set root uid", [](auto& o) { o.values.sets = {"controllerUID=0"}; }, "value controllerUID: must be from 1"},
      {"--set bad namespace value", [](auto& o) { o.values.sets = {"meshNamespace=Mesh_NS"}; },
       "value meshNamespace: \"Mesh_NS\" is not a valid namespace name"},
      {"--set bad opaque ports", [](auto& o) { o.values.sets = {"proxy.opaquePorts=25\\,http"}; },
       "value proxy.opaquePorts: \"http\" is not a port"},
      {"--set bad duration", [](auto& o) { o.values.sets = {"proxy.detectTimeout=soon"}; },
       "value proxy.detectTimeout: \"soon\""},
      {"--set bad excluded namespace", [](auto& o) { o.values.sets = {"proxyInjector.excludedNamespaces={Bad!}"}; },
       "value proxyInjector.excludedNamespaces"},
      {"--set bad log level", [](auto& o) { o.values.sets = {"controllerLogLevel=loud"}; },
       "value controllerLogLevel: unknown log level \"loud\""},
      {"--set bad pull policy", [](auto& o) { o.values.sets = {"image.pullPolicy=Sometimes"}; },
       "value image.pullPolicy"},
      // dedicated flags
      {"--mesh-namespace", [](auto& o) { o.mesh_namespace = "Mesh_NS"; },
       "--mesh-namespace: \"Mesh_NS\" is not a valid namespace name"},
      {"--mesh-namespace empty", [](auto& o) { o.mesh_namespace = ""; }, "--mesh-namespace: \"\""},
      {"--identity-trust-domain", [](auto& o) { o.trust_domain = "not a domain!"; },
       "--identity-trust-domain: \"not a domain!\" is not a DNS name"},
      {"--identity-issuance-lifetime unit", [](auto& o) { o.issuance_lifetime = "10x"; },
       "--identity-issuance-lifetime: \"10x\" is not a duration"},
      {"--identity-issuance-lifetime negative", [](auto& o) { o.issuance_lifetime = "-5s"; },
       "--identity-issuance-lifetime: \"-5s\" is not a duration"},
      {"--identity-issuance-lifetime zero", [](auto& o) { o.issuance_lifetime = "0s"; },
       "--identity-issuance-lifetime: must be at least 1s"},
      {"--identity-issuance-lifetime number", [](auto& o) { o.issuance_lifetime = "24"; },
       "--identity-issuance-lifetime: \"24\" is not a duration"},
      {"--controller-replicas word", [](auto& o) { o.controller_replicas = "three"; },
       "--controller-replicas: \"three\" is not a number"},
      {"--controller-replicas zero", [](auto& o) { o.controller_replicas = "0"; }, "--controller-replicas: \"0\""},
      {"--controller-replicas negative", [](auto& o) { o.controller_replicas = "-1"; }, "--controller-replicas: \"-1\""},
      {"--controller-replicas too many", [](auto& o) { o.controller_replicas = "101"; },
       "--controller-replicas: must be from 1 to 100, not 101"},
      {"-o", [](auto& o) { o.output = "xml"; }, "-o/--output: \"xml\" is not an output format"},
      {"--crds with certificates", [](auto& o) { o.crds = true; }, "--crds renders only the CRDs"},
      {"--ha with a bad --set", [](auto& o) {
         o.ha = true;
         o.values.sets = {"controllerReplicas=x"};
       }, "controllerReplicas must be a number"},
      // certificate files
      {"missing anchors file", [](auto& o) { o.trust_anchors_file = "/nonexistent/ca.crt"; },
       "/nonexistent/ca.crt: cannot read file (--identity-trust-anchors-file)"},
      {"missing issuer file", [](auto& o) { o.issuer_certificate_file = "/nonexistent/issuer.crt"; },
       "/nonexistent/issuer.crt: cannot read file (--identity-issuer-certificate-file)"},
      {"garbage anchors", [](auto& o) { o.trust_anchors_file = cert("garbage.pem"); }, cert("garbage.pem") + ": "},
      {"garbage issuer", [](auto& o) { o.issuer_certificate_file = cert("garbage.pem"); }, cert("garbage.pem") + ": "},
      {"garbage key", [](auto& o) { o.issuer_key_file = cert("garbage.pem"); },
       cert("garbage.pem") + ": not a PEM private key"},
      {"certificate as key", [](auto& o) { o.issuer_key_file = cert("issuer.crt"); }, cert("issuer.crt") + ": "},
      {"key as anchors", [](auto& o) { o.trust_anchors_file = cert("root.key"); }, cert("root.key") + ": "},
      {"expired issuer", [](auto& o) {
         o.issuer_certificate_file = cert("expired-issuer.crt");
         o.issuer_key_file = cert("expired-issuer.key");
       }, cert("expired-issuer.crt") + ": certificate \"CN=expired-issuer.meshctl.cluster.local\" expired"},
      {"expired anchor", [](auto& o) { o.trust_anchors_file = cert("expired-root.crt"); },
       cert("expired-root.crt") + ": trust anchor \"CN=expired-root.meshctl.cluster.local\" expired"},
      {"issuer from another root", [](auto& o) { o.trust_anchors_file = cert("other-root.crt"); },
       "does not chain to the trust anchors in " + cert("other-root.crt")},
      {"key of another certificate", [](auto& o) { o.issuer_key_file = cert("leaf.key"); },
       cert("leaf.key") + ": the key does not match the issuer certificate"},
      {"RSA issuer", [](auto& o) {
         o.issuer_certificate_file = cert("rsa-issuer.crt");
         o.issuer_key_file = cert("rsa-issuer.key");
       }, cert("rsa-issuer.key") + ": the issuer key is RSA 2048"},
      {"non-CA issuer", [](auto& o) {
         o.issuer_certificate_file = cert("leaf.crt");
         o.issuer_key_file = cert("leaf.key");
       }, cert("leaf.crt") + ": issuer \"CN=leaf.meshctl.cluster.local\" is not a CA certificate"},
      {"non-CA anchor", [](auto& o) { o.trust_anchors_file = cert("leaf.crt"); }, "is not a CA certificate"},
      {"issuer certificate without key", [](auto& o) { o.issuer_key_file.clear(); },
       "--identity-issuer-certificate-file needs --identity-issuer-key-file"},
      {"issuer key without certificate", [](auto& o) { o.issuer_certificate_file.clear(); },
       "--identity-issuer-key-file needs --identity-issuer-certificate-file"},
      {"anchors without issuer", [](auto& o) {
         o.issuer_certificate_file.clear();
         o.issuer_key_file.clear();
       }, "are given without an issuer"},
      {"issuer without anchors", [](auto& o) { o.trust_anchors_file.clear(); }, "is given without its trust anchors"},
      {"external issuer with issuer files", [](auto& o) { o.external_issuer = true; },
       "--identity-external-issuer conflicts with --identity-issuer-certificate-file"},
      {"external issuer without anchors", [](auto& o) {
         o = cli::InstallOptions{};
         o.external_issuer = true;
       }, "an external issuer needs the trust anchors"},
  };

  for (const auto& c : cases) {
    INFO(c.what);
    auto o = with_test_certificates();
    c.apply(o);
    const Result r = install(o);
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    // Progress may precede it, but the error is one "Error: " line (and perhaps a hint).
    const size_t at = r.err.find("Error: ");
    REQUIRE(at != std::string::npos);
    const std::string line = r.err.substr(at, r.err.find('\n', at) - at);
    INFO(line);
    CHECK(line.find(c.error) != std::string::npos);
    const std::string rest = r.err.substr(r.err.find('\n', at) + 1);
    CHECK((rest.empty() || (rest.rfind("Hint: ", 0) == 0 && std::count(rest.begin(), rest.end(), '\n') == 1)));
  }

  SECTION("uninstall rejects bad values too") {
    cli::UninstallOptions u;
    u.values.sets = {"nosuch=1"};
    const Result r = uninstall(u);
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("Error: --set \"nosuch=1\": unknown value \"nosuch\"", 0) == 0);
    u.values.sets.clear();
    u.output = "table";
    CHECK(uninstall(u).code == 1);
  }

  for (const auto& f : {broken_yaml, unknown_key, wrong_type, a_list, bad_policy}) std::remove(f.c_str());
}

TEST_CASE("the identity Deployment's arguments are flags meshctl identity accepts", "[install]") {
  const auto objects = objects_of(install(with_test_certificates()).out);
  const Json& container = (*find(objects, "Deployment", "meshctl-identity"))["spec"]["template"]["spec"]["containers"][0];
  REQUIRE(container["command"] == Json::parse(R"(["meshctl"])"));
  std::vector<std::string> argv_text{"meshctl"};
  for (const auto& a : container["args"]) argv_text.push_back(a.get<std::string>());
  std::vector<const char*> argv;
  for (const auto& a : argv_text) argv.push_back(a.c_str());

  CLI::App app{"meshctl", "meshctl"};
  app.require_subcommand(1);
  std::istringstream in;
  std::ostringstream out, err;
  cli::Io io{in, out, err};
  cli::Runner run;
  cli::add_commands(app, io, run);
  // Parsing only: the runner it leaves behind is never called.
  CHECK_NOTHROW(app.parse(static_cast<int>(argv.size()), argv.data()));
  CHECK(static_cast<bool>(run));
}

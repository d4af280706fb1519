#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/render/control_plane.h"
#include "core/render/identity_material.h"
#include "core/render/manifests.h"
#include "core/tls/certificate.h"
#include "core/tls/pem.h"
#include "core/tls/verify.h"

using namespace meshctl::core::render;
using meshctl::core::Error;
namespace tls = meshctl::core::tls;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string read_cert(const std::string& name) {
  std::ifstream in(std::string(MESHCTL_SOURCE_DIR) + "/test/golden/testdata/certs/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

IdentityRequest user_files() {
  IdentityRequest r;
  r.trust_domain = "cluster.local";
  r.mesh_namespace = "meshctl";
  r.trust_anchors = PemInput{read_cert("root.crt"), "root.crt"};
  r.issuer_certificate = PemInput{read_cert("issuer.crt"), "issuer.crt"};
  r.issuer_key = PemInput{read_cert("issuer.key"), "issuer.key"};
  r.now = tls::from_unix_seconds(1767225600);
  return r;
}

RenderedText render_text(const std::string& name, const std::string& text) {
  TemplateSet set;
  set.add(name, text);
  return set.render(name, Json::object());
}

}  // namespace

TEST_CASE("the default values pass validation and bad ones name the key", "[values][validate]") {
  Json v = default_values();
  CHECK_NOTHROW(validate_values(v));
  CHECK(trust_domain(v) == "cluster.local");
  v["identityTrustDomain"] = "example.org";
  CHECK(trust_domain(v) == "example.org");
  Json bad = default_values();
  bad["proxy"]["ports"]["admin"] = 0;
  CHECK(error_of([&] { validate_values(bad); }) == "value proxy.ports.admin: must be from 1 to 65535, not 0");
  bad = default_values();
  bad["identity"]["issuer"]["issuanceLifetime"] = "0s";
  CHECK(error_of([&] { validate_values(bad); }) == "value identity.issuer.issuanceLifetime: must be at least 1s");
  bad = default_values();
  bad["controllerResources"]["memory"]["request"] = "";
  CHECK(error_of([&] { validate_values(bad); }).find("value controllerResources.memory.request") == 0);
}

TEST_CASE("the HA preset merges before the user's values", "[values]") {
  ValueSources s;
  s.presets = {"values-ha.yaml"};
  CHECK(load_values(s)["controllerReplicas"] == 3);
  CHECK(load_values(s)["webhookFailurePolicy"] == "Fail");
  s.sets = {"controllerReplicas=2"};
  CHECK(load_values(s)["controllerReplicas"] == 2);
  s.presets = {"nosuch.yaml"};
  CHECK(error_of([&] { load_values(s); }) == "nosuch.yaml is missing from the embedded manifests");
}

TEST_CASE("fresh identity material: an anchor, an issuer it signs, and a webhook certificate", "[identity]") {
  IdentityRequest r;
  r.trust_domain = "cluster.local";
  r.mesh_namespace = "meshctl";
  r.now = std::chrono::system_clock::now();
  const IdentityMaterial m = prepare_identity(r);
  CHECK_FALSE(m.reproducible);
  const auto anchors = tls::bundle_from_pem(m.trust_anchors_pem, "anchors");
  REQUIRE(anchors.size() == 1);
  const auto issuer = tls::certificate_from_pem(m.issuer_certificate_pem, "issuer");
  const auto key = tls::private_key_from_pem(m.issuer_key_pem, "key");
  CHECK(anchors[0].is_ca());
  CHECK(anchors[0].is_self_signed());
  CHECK(anchors[0].common_name() == "root.meshctl.cluster.local");
  CHECK(issuer.is_ca());
  CHECK(issuer.common_name() == "identity.meshctl.cluster.local");
  CHECK(key.algorithm() == tls::KeyAlgorithm::ecdsa_p256);
  CHECK(anchors[0].public_key().algorithm() == tls::KeyAlgorithm::ecdsa_p256);
  CHECK(tls::key_matches_certificate(key, issuer));
  tls::VerifyOptions now;
  now.at = r.now;
  CHECK(tls::verify_certificate(issuer, {}, anchors, now).ok());
  // 365 days, give or take the five minutes of clock skew allowed at the start.
  const auto life = std::chrono::duration_cast<std::chrono::hours>(issuer.not_after() - issuer.not_before());
  CHECK(life.count() == 24 * 365);
  tls::VerifyOptions later = now;
  later.at = r.now + std::chrono::hours(24 * 366);
  CHECK(tls::verify_certificate(issuer, {}, anchors, later).status == tls::VerifyStatus::expired);

  const auto webhook = tls::certificate_from_pem(m.webhook_certificate_pem, "webhook");
  tls::VerifyOptions named = now;
  named.dns_name = webhook_dns_name("meshctl");
  const std::vector<tls::Certificate> self{webhook};
  CHECK(tls::verify_certificate(webhook, {}, self, named).ok());

  // Serials and keys are random: a second run shares nothing.
  const IdentityMaterial other = prepare_identity(r);
  CHECK(other.trust_anchors_pem != m.trust_anchors_pem);
  CHECK(!(tls::certificate_from_pem(other.issuer_certificate_pem, "x").serial() == issuer.serial()));
}

TEST_CASE("user files give a reproducible webhook certificate derived from the issuer key", "[identity]") {
  const IdentityMaterial a = prepare_identity(user_files());
  const IdentityMaterial b = prepare_identity(user_files());
  CHECK(a.reproducible);
  CHECK(a.webhook_certificate_pem == b.webhook_certificate_pem);
  CHECK(a.webhook_key_pem == b.webhook_key_pem);
  const auto webhook = tls::certificate_from_pem(a.webhook_certificate_pem, "webhook");
  const auto issuer = tls::certificate_from_pem(a.issuer_certificate_pem, "issuer");
  CHECK(webhook.not_before() == issuer.not_before());
  CHECK(webhook.not_after() == issuer.not_after());
  CHECK(tls::private_key_from_pem(a.webhook_key_pem, "k").algorithm() == tls::KeyAlgorithm::ed25519);
  CHECK(webhook.subject_alt_names().dns == std::vector<std::string>{"meshctl-proxy-injector.meshctl.svc"});

  // The same key in another encoding derives the same webhook key.
  auto sec1 = user_files();
  sec1.issuer_key = PemInput{read_cert("issuer-sec1.key"), "issuer-sec1.key"};
  CHECK(prepare_identity(sec1).webhook_key_pem == a.webhook_key_pem);
  // Another namespace changes the name, not the key.
  auto other_ns = user_files();
  other_ns.mesh_namespace = "mesh-system";
  const IdentityMaterial c = prepare_identity(other_ns);
  CHECK(c.webhook_key_pem == a.webhook_key_pem);
  CHECK(tls::certificate_from_pem(c.webhook_certificate_pem, "w").subject_alt_names().dns ==
        std::vector<std::string>{"meshctl-proxy-injector.mesh-system.svc"});
}

TEST_CASE("identity inputs are checked at the given time", "[identity]") {
  auto r = user_files();
  r.now = tls::from_unix_seconds(1700000000);  // 2023: before the test anchor's notBefore
  CHECK(error_of([&] { prepare_identity(r); }).find("root.crt: trust anchor \"CN=root.meshctl.cluster.local\" is not valid before") == 0);
  r = user_files();
  r.now = tls::from_unix_seconds(4900000000);  // 2125: after the issuer expired
  CHECK(error_of([&] { prepare_identity(r); }).find("expired") != std::string::npos);
  r = user_files();
  r.external_issuer = true;
  CHECK(error_of([&] { prepare_identity(r); }).find("do not give them to install (issuer.crt)") != std::string::npos);
  r.issuer_certificate.reset();
  r.issuer_key.reset();
  const IdentityMaterial external = prepare_identity(r);
  CHECK(external.issuer_certificate_pem.empty());
  CHECK(external.issuer_key_pem.empty());
  CHECK_FALSE(external.webhook_certificate_pem.empty());
  // Two anchors in one bundle are fine; a bundle with a non-CA is not.
  auto bundle = user_files();
  bundle.trust_anchors->pem = read_cert("other-root.crt") + read_cert("root.crt");
  CHECK_NOTHROW(prepare_identity(bundle));
  bundle.trust_anchors->pem = read_cert("root.crt") + read_cert("leaf.crt");
  CHECK(error_of([&] { prepare_identity(bundle); }) ==
        "root.crt: trust anchor \"CN=leaf.meshctl.cluster.local\" (certificate 2) is not a CA certificate");
}

TEST_CASE("rendered YAML errors point at the template line", "[manifests]") {
  const auto bad = render_text("manifests/x.yaml",
                               "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
                               "{{- if true }}\ndata:\n  k: [unclosed\n{{- end }}\n");
  // The reader notices the unclosed list at the end of the document, which the template's
  // line 7 produced.
  CHECK(error_of([&] { parse_rendered("manifests/x.yaml", bad); }) ==
        "manifests/x.yaml:7: the template renders invalid YAML (output line 7): end of sequence flow not found");
  const auto tab = render_text("manifests/w.yaml", "{{/* a comment\nline */}}\nkey: value\n\tbad: 1\n");
  CHECK(error_of([&] { parse_rendered("manifests/w.yaml", tab); }) ==
        "manifests/w.yaml:4: the template renders invalid YAML (output line 3): illegal tab when looking for indentation");
  const auto second = render_text("manifests/y.yaml",
                                  "---\napiVersion: v1\nkind: A\nmetadata:\n  name: a\n  labels:\n"
                                  "    meshctl.io/control-plane-ns: m\n    app.kubernetes.io/part-of: meshctl\n"
                                  "---\n# comment\napiVersion: v1\nkind: B\nmetadata:\n  name: b\n");
  CHECK(error_of([&] { parse_rendered("manifests/y.yaml", second); }) ==
        "manifests/y.yaml:11: B b lacks the label meshctl.io/control-plane-ns, which uninstall relies on");
  const auto dup = render_text("manifests/z.yaml", "a: 1\n\na: 2\n");
  CHECK(error_of([&] { parse_rendered("manifests/z.yaml", dup); }).find("manifests/z.yaml:3:") == 0);
  CHECK(error_of([&] { parse_rendered("t", render_text("t", "- 1\n")); }) ==
        "t:1: a rendered document must be a Kubernetes object, not a scalar or a list");
  CHECK(error_of([&] { parse_rendered("t", render_text("t", "kind: A\n")); }) == "t:1: a rendered object has no apiVersion");
  CHECK(parse_rendered("t", render_text("t", "# only a comment\n---\n\n")).empty());
}

TEST_CASE("the control plane keeps to least privilege and hardened pods", "[manifests]") {
  const Json values = default_values();
  const auto objects = render_control_plane(values, prepare_identity(user_files()));
  int deployments = 0;
  for (const auto& o : objects) {
    INFO(o["kind"] << "/" << o["metadata"]["name"]);
    CHECK(o["metadata"]["labels"]["meshctl.io/control-plane-ns"] == "meshctl");
    CHECK(o["metadata"]["labels"]["app.kubernetes.io/part-of"] == "meshctl");
    if (o["kind"] == "ClusterRole") {
      for (const auto& rule : o["rules"]) {
        for (const auto& field : {"apiGroups", "resources", "verbs"}) {
          for (const auto& item : rule[field]) CHECK(item != "*");
        }
        for (const auto& r : rule["resources"]) CHECK(r != "secrets");
        for (const auto& verb : rule["verbs"]) {
          const bool write = verb == "create" || verb == "patch";
          // Only events and tokenreviews are ever written.
          if (write) CHECK((rule["resources"] == Json::parse(R"(["events"])") ||
                            rule["resources"] == Json::parse(R"(["tokenreviews"])")));
        }
      }
    }
    if (o["kind"] == "Deployment") {
      ++deployments;
      const Json& pod = o["spec"]["template"]["spec"];
      CHECK(pod["securityContext"]["runAsNonRoot"] == true);
      CHECK(pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault");
      for (const auto& c : pod["containers"]) {
        CHECK(c["command"] == Json::parse(R"(["meshctl"])"));
        CHECK(c["securityContext"]["readOnlyRootFilesystem"] == true);
        CHECK(c["securityContext"]["allowPrivilegeEscalation"] == false);
        CHECK(c["securityContext"]["capabilities"]["drop"] == Json::parse(R"(["ALL"])"));
        CHECK(c["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault");
        CHECK(c["readinessProbe"]["httpGet"]["path"] == "/ready");
        CHECK(c["livenessProbe"]["httpGet"]["path"] == "/live");
        CHECK(c["resources"]["requests"].contains("cpu"));
        CHECK(c["resources"]["requests"].contains("memory"));
        CHECK(c["resources"]["limits"].contains("memory"));
      }
    }
    if (o["kind"] == "Service" && o["metadata"]["name"].get<std::string>().ends_with("-headless")) {
      CHECK(o["spec"]["clusterIP"] == "None");
    }
  }
  CHECK(deployments == 3);
}

TEST_CASE("each Deployment runs its subcommand on the ports of the values", "[manifests]") {
  Json values = default_values();
  values["identity"]["port"] = 18080;
  const auto objects = render_control_plane(values, prepare_identity(user_files()));
  auto container = [&](const std::string& name) -> const Json& {
    for (const auto& o : objects) {
      if (o["kind"] == "Deployment" && o["metadata"]["name"] == name) return o["spec"]["template"]["spec"]["containers"][0];
    }
    throw Error("no " + name);
  };
  CHECK(container("meshctl-identity")["args"][0] == "identity");
  CHECK(container("meshctl-identity")["args"][1] == "--addr=0.0.0.0:18080");
  CHECK(container("meshctl-identity")["ports"][0]["containerPort"] == 18080);
  CHECK(container("meshctl-destination")["args"][0] == "destination");
  CHECK(container("meshctl-destination")["ports"][1]["containerPort"] == 9996);
  CHECK(container("meshctl-proxy-injector")["args"][0] == "proxy-injector");
  CHECK(container("meshctl-proxy-injector")["ports"][0]["containerPort"] == 8443);
  const auto& dst_args = container("meshctl-destination")["args"];
  CHECK(std::find(dst_args.begin(), dst_args.end(),
                  "--identity-name=meshctl-destination.meshctl.serviceaccount.identity.meshctl.cluster.local") !=
        dst_args.end());
}

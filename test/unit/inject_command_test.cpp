#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/yaml/manifest_stream.h"
#include "support/run_cli.h"

using meshctl::test::run_cli;
using meshctl::core::yaml::Json;
using meshctl::core::yaml::ManifestStream;
namespace fs = std::filesystem;

namespace {

const std::string kAnchors = std::string(MESHCTL_SOURCE_DIR) + "/test/golden/testdata/inject/ca.crt";

// A directory under /tmp removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string name = (fs::temp_directory_path() / "meshctl-inject-XXXXXX").string();
    REQUIRE(mkdtemp(name.data()));
    path = name;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& relative, const std::string& content) const {
    const fs::path p = path / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
};

const std::string kDeployment =
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata:\n"
    "  name: web\n"
    "  namespace: emojivoto\n"
    "spec:\n"
    "  template:\n"
    "    metadata:\n"
    "      labels:\n"
    "        app: web\n"
    "    spec:\n"
    "      containers:\n"
    "      - name: web\n"
    "        image: 'web:1'\n";

const std::string kService =
    "# the web service\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: web}   # flow, with a comment\n"
    "spec:\n"
    "  ports:\n"
    "  - port: 80\n";

size_t lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

// A failed run: exit 1, nothing on stdout, one error line naming the problem (and maybe a hint).
void check_fails(const meshctl::test::CliRun& r, const std::string& error_prefix) {
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.rfind("Error: " + error_prefix, 0) == 0);
  const size_t n = lines(r.err);
  CHECK((n == 1 || (n == 2 && r.err.find("\nHint: ") != std::string::npos)));
}

}  // namespace

TEST_CASE("inject keeps untouched documents byte for byte and reports each object", "[inject]") {
  const std::string input = kService + "---\n" + kDeployment + "---\n# only a comment\n";
  const auto r = run_cli({"inject", "-"}, input);
  REQUIRE(r.code == 0);
  CHECK(r.out.rfind(kService + "---\n", 0) == 0);
  CHECK(r.out.size() > input.size());
  CHECK(r.out.find("      annotations:\n        meshctl.io/inject: enabled\n") != std::string::npos);
  CHECK(r.out.find("        image: 'web:1'\n") != std::string::npos);
  CHECK(r.out.substr(r.out.size() - 21) == "---\n# only a comment\n");
  CHECK(r.err ==
        "service \"web\" skipped: kind not injectable\n"
        "deployment \"web\" injected\n"
        "inject: 1 injected, 1 skipped, 0 annotated\n");

  // Injected input comes back unchanged, and uninject gives the original back.
  const auto again = run_cli({"inject", "-"}, r.out);
  CHECK(again.out == r.out);
  const auto un = run_cli({"uninject", "-"}, r.out);
  CHECK(un.out == input);
  CHECK(un.err ==
        "service \"web\" skipped: kind not injectable\n"
        "deployment \"web\" uninjected\n"
        "uninject: 1 uninjected, 1 skipped\n");
}

TEST_CASE("manual inject round-trips through uninject", "[inject]") {
  const auto r = run_cli({"inject", "--manual", "--identity-trust-anchors-file", kAnchors, "-"}, kDeployment);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("- name: meshctl-proxy") != std::string::npos);
  CHECK(r.out.find("- name: meshctl-init") != std::string::npos);
  CHECK(r.err == "deployment \"web\" injected\ninject: 1 injected, 0 skipped, 0 annotated\n");
  CHECK(run_cli({"inject", "--manual", "--identity-trust-anchors-file", kAnchors, "-"}, r.out).out == r.out);
  CHECK(run_cli({"uninject", "-"}, r.out).out == kDeployment);
}

TEST_CASE("flags become config annotations in default mode", "[inject]") {
  const auto r = run_cli({"inject", "--ingress", "--native-sidecar", "--proxy-log-level", "debug", "--skip-inbound-ports",
                          "3306", "--skip-inbound-ports", "8000-8010", "--skip-outbound-ports", "25",
                          "--opaque-ports", "4222", "--default-inbound-policy", "deny", "--proxy-image",
                          "example.com/p:v1", "--proxy-cpu-request", "10m", "--proxy-cpu-limit", "1",
                          "--proxy-memory-request", "10Mi", "--proxy-memory-limit", "100Mi", "-"},
                         kDeployment);
  REQUIRE(r.code == 0);
  const Json out = ManifestStream(r.out, "out").document(0);
  CHECK(out["spec"]["template"]["metadata"]["annotations"] == Json::parse(R"({
    "config.meshctl.io/proxy-log-level": "debug",
    "config.meshctl.io/skip-inbound-ports": "3306,8000-8010",
    "config.meshctl.io/skip-outbound-ports": "25",
    "config.meshctl.io/opaque-ports": "4222",
    "config.meshctl.io/default-inbound-policy": "deny",
    "config.meshctl.io/proxy-image": "example.com/p:v1",
    "config.meshctl.io/proxy-cpu-request": "10m",
    "config.meshctl.io/proxy-cpu-limit": "1",
    "config.meshctl.io/proxy-memory-request": "10Mi",
    "config.meshctl.io/proxy-memory-limit": "100Mi",
    "config.meshctl.io/proxy-enable-native-sidecar": "true",
    "meshctl.io/inject": "ingress"})"));
}

TEST_CASE("JSON in gives JSON out", "[inject]") {
  const std::string service = R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}})";
  const std::string input = service + "\n" + ManifestStream(kDeployment, "d").document(0).dump() + "\n";
  const auto r = run_cli({"inject", "-"}, input);
  REQUIRE(r.code == 0);
  CHECK(r.out.rfind(service + "\n{\n  \"apiVersion\": \"apps/v1\",\n", 0) == 0);
  const ManifestStream out(r.out, "out");
  CHECK(out.format() == meshctl::core::yaml::StreamFormat::Json);
  REQUIRE(out.size() == 2);
  CHECK(out.document(1)["spec"]["template"]["metadata"]["annotations"]["meshctl.io/inject"] == "enabled");
  CHECK(run_cli({"inject", "-"}, r.out).out == r.out);
}

TEST_CASE("List objects are walked", "[inject]") {
  const std::string list =
      "apiVersion: v1\n"
      "kind: List\n"
      "items:\n"
      "- apiVersion: v1\n"
      "  kind: Namespace\n"
      "  metadata:\n"
      "    name: emojivoto\n"
      "- apiVersion: apps/v1\n"
      "  kind: DaemonSet\n"
      "  metadata:\n"
      "    name: agent\n"
      "  spec:\n"
      "    template:\n"
      "      spec:\n"
      "        hostNetwork: true\n"
      "        containers:\n"
      "        - name: agent\n";
  const auto r = run_cli({"inject", "-"}, list);
  REQUIRE(r.code == 0);
  CHECK(r.err ==
        "namespace \"emojivoto\" annotated\n"
        "daemonset \"agent\" skipped: hostNetwork is enabled\n"
        "inject: 0 injected, 1 skipped, 1 annotated\n");
  CHECK(r.out ==
        "apiVersion: v1\n"
        "kind: List\n"
        "items:\n"
        "- apiVersion: v1\n"
        "  kind: Namespace\n"
        "  metadata:\n"
        "    name: emojivoto\n"
        "    annotations:\n"
        "      meshctl.io/inject: enabled\n" +
            list.substr(list.find("- apiVersion: apps/v1")));
}

TEST_CASE("a namespace in the input governs the workloads in it", "[inject]") {
  const std::string ns =
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: emojivoto\n  annotations:\n    meshctl.io/inject: disabled\n";
  const auto r = run_cli({"inject", "-"}, kDeployment + "---\n" + ns);
  REQUIRE(r.code == 0);
  CHECK(r.out == kDeployment + "---\n" + ns);
  CHECK(r.err ==
        "deployment \"web\" skipped: its namespace has annotation meshctl.io/inject: disabled\n"
        "namespace \"emojivoto\" skipped: annotation meshctl.io/inject is disabled\n"
        "inject: 0 injected, 2 skipped, 0 annotated\n");
}

TEST_CASE("directories are read recursively, in path order", "[inject]") {
  TempDir dir;
  dir.write("b/deploy.yml", kDeployment);
  dir.write("a.yaml", kService);
  dir.write("b/c/pod.json", R"({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}})");
  dir.write("b/notes.txt", "not a manifest: [");
  const auto r = run_cli({"inject", dir.path.string()});
  REQUIRE(r.code == 0);
  CHECK(r.err ==
        "service \"web\" skipped: kind not injectable\n"
        "pod \"p\" injected\n"
        "deployment \"web\" injected\n"
        "inject: 2 injected, 1 skipped, 0 annotated\n");
  const ManifestStream out(r.out, "out");
  REQUIRE(out.size() == 3);
  CHECK(r.out.rfind(kService + "---\n{\n", 0) == 0);
  CHECK(out.document(1)["metadata"]["annotations"]["meshctl.io/inject"] == "enabled");

  // Files and stdin mix, in the order given.
  const auto mixed = run_cli({"inject", dir.path.string() + "/a.yaml", "-"}, kDeployment);
  REQUIRE(mixed.code == 0);
  CHECK(ManifestStream(mixed.out, "out").size() == 2);
}

TEST_CASE("ten thousand documents stream through", "[inject]") {
  std::string input;
  const size_t n = 10000;
  input.reserve(n * 200);
  for (size_t i = 0; i < n; ++i) {
    if (i % 2 == 0) {
      input += "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d" + std::to_string(i) +
               "\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: app\n";
    } else {
      input += "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c" + std::to_string(i) + "\ndata:\n  k: v\n";
    }
  }
  const auto r = run_cli({"inject", "-"}, input);
  REQUIRE(r.code == 0);
  CHECK(ManifestStream(r.out, "out").size() == n);
  CHECK(lines(r.err) == n + 1);
  CHECK(r.err.substr(r.err.rfind("inject:")) == "inject: 5000 injected, 5000 skipped, 0 annotated\n");
}

TEST_CASE("broken input fails with the file, document and line", "[inject]") {
  TempDir dir;
  const std::string broken = dir.write("broken.yaml", kService + "---\nkind: Deployment\nmetadata:\n  name: [web\n");
  check_fails(run_cli({"inject", broken}), broken + ": document 2, line 11: ");
  check_fails(run_cli({"uninject", broken}), broken + ": document 2, line 11: ");

  check_fails(run_cli({"inject", "-"}, "{\"kind\": \"Pod\",\n \"metadata\": {\"name\": tru}}"),
              "<stdin>: document 1, line 2: ");
  check_fails(run_cli({"inject", "-"}, "{\"kind\": \"Pod\"}\n{\"kind\": \"Pod\",\n"), "<stdin>: document 2, line ");
  check_fails(run_cli({"inject", "-"}, kService + "---\n\n# no kind here\nmetadata:\n  name: x\n"),
              "<stdin>: document 2, line 11: the document has no kind");
  check_fails(run_cli({"inject", "-"}, "just a string\n"), "<stdin>: document 1, line 1: the document has no kind");
  check_fails(run_cli({"inject", "-"}, "kind: List\nitems:\n- kind: Pod\n- metadata: {}\n"),
              "<stdin>: document 1, line 1: item 2 of the List has no kind");
  check_fails(run_cli({"inject", "-"}, "kind: Pod\nkind: Pod\n"), "<stdin>: document 1, line 2: duplicate key");
  check_fails(run_cli({"uninject", "-"}, "kind: Pod\n---\n- b\n"), "<stdin>: document 2, line 3: the document has no kind");

  // Nothing is written when a later file is broken.
  const std::string good = dir.write("good.yaml", kDeployment);
  check_fails(run_cli({"inject", good, broken}), broken + ": document 2, line 11: ");
}

TEST_CASE("unreadable paths fail with the path", "[inject]") {
  TempDir dir;
  check_fails(run_cli({"inject", "/nonexistent/deploy.yaml"}),
              "/nonexistent/deploy.yaml: cannot read: No such file or directory");
  check_fails(run_cli({"uninject", dir.path.string() + "/missing"}), dir.path.string() + "/missing: cannot read: ");
  check_fails(run_cli({"inject"}), "no input: ");
  check_fails(run_cli({"uninject"}), "no input: ");
  if (geteuid() != 0) {
    const std::string locked = dir.write("locked.yaml", kDeployment);
    fs::permissions(locked, fs::perms::none);
    check_fails(run_cli({"inject", locked}), locked + ": cannot read: Permission denied");
  }
}

TEST_CASE("bad flag values fail with the flag", "[inject]") {
  TempDir dir;
  const std::string deploy = dir.write("d.yaml", kDeployment);
  const std::string not_pem = dir.write("not.pem", "hello\n");
  const std::string bad_values = dir.write("v.yaml", "proxy:\n  nope: 1\n");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"--proxy-log-level", "loud"}, "--proxy-log-level: \"loud\" is not a log level"},
      {{"--proxy-log-level", ""}, "--proxy-log-level: the log level is empty"},
      {{"--skip-inbound-ports", "0"}, "--skip-inbound-ports: port 0 is out of range (1-65535)"},
      {{"--skip-inbound-ports", "80", "--skip-inbound-ports", "99999"}, "--skip-inbound-ports: port 99999 is out of range"},
      {{"--skip-outbound-ports", "ssh"}, "--skip-outbound-ports: \"ssh\" is not a port or a range of ports"},
      {{"--opaque-ports", "10-1"}, "--opaque-ports: range \"10-1\" ends before it starts"},
      {{"--default-inbound-policy", "allow"}, "--default-inbound-policy: \"allow\" is not a policy"},
      {{"--proxy-image", "Bad Image"}, "--proxy-image: \"Bad Image\" is not an image reference"},
      {{"--proxy-cpu-request", "fast"}, "--proxy-cpu-request: \"fast\" is not a quantity"},
      {{"--proxy-cpu-limit", "1 cpu"}, "--proxy-cpu-limit: \"1 cpu\" is not a quantity"},
      {{"--proxy-memory-request", "1GB"}, "--proxy-memory-request: \"1GB\" is not a quantity"},
      {{"--proxy-memory-limit", "x"}, "--proxy-memory-limit: \"x\" is not a quantity"},
      {{"--mesh-namespace", "Mesh_NS"}, "--mesh-namespace: \"Mesh_NS\" is not a namespace name"},
      {{"--manual"}, "--manual needs the mesh's trust anchors"},
      {{"--manual", "--identity-trust-anchors-file", "/nonexistent/ca.crt"},
       "--identity-trust-anchors-file /nonexistent/ca.crt: cannot read: No such file or directory"},
      {{"--manual", "--identity-trust-anchors-file", not_pem},
       "--identity-trust-anchors-file " + not_pem + ": no PEM certificate in it"},
      {{"-f", "/nonexistent/values.yaml"}, "/nonexistent/values.yaml: cannot read values file"},
      {{"-f", bad_values}, bad_values + ": unknown value \"proxy.nope\""},
      {{"--set", "proxy.nope=1"}, "--set \"proxy.nope=1\": unknown value \"proxy.nope\""},
      {{"--set", "proxy.defaultInboundPolicy=allow"}, "mesh values: proxy.defaultInboundPolicy: \"allow\" is not a policy"},
      {{"--set-string", "proxy.uid=abc"}, "--set-string \"proxy.uid=abc\": proxy.uid must be a number"},
      {{"--set", "proxy.ports.admin=70000"}, "mesh values: proxy.ports.admin must be a whole number from 1 to 65535"},
  };
  for (const auto& [flags, error] : cases) {
    std::vector<std::string> args{"inject"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(deploy);
    INFO(error);
    check_fails(run_cli(args), error);
  }
  const auto hint = run_cli({"inject", "--manual", deploy});
  CHECK(hint.err.find("\nHint: pass --identity-trust-anchors-file") != std::string::npos);
}

// Golden files for `meshctl inject` and `meshctl uninject`: testdata/inject/<case>.input.yml (or
// .json) is run through the command; stdout must match <case>.golden.yml and stderr <case>.report.
// Outputs are compared as YAML first (each document's value, with a diff of the differences),
// then as text, since keeping the input's style is part of the contract.
// MESHCTL_UPDATE_GOLDEN=1 rewrites the golden files from the current output.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/yaml/manifest_stream.h"
#include "core/yaml/yaml_json.h"
#include "support/run_cli.h"

using meshctl::core::yaml::Json;
using meshctl::core::yaml::ManifestStream;

namespace {

const std::string kDir = std::string(MESHCTL_SOURCE_DIR) + "/test/golden/testdata/inject/";

bool updating() {
  const char* v = std::getenv("MESHCTL_UPDATE_GOLDEN");
  return v && std::string(v) == "1";
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A unified-style line diff with two lines of context, from a longest common subsequence.
std::string diff(const std::string& expected, const std::string& actual) {
  const auto a = split_lines(expected), b = split_lines(actual);
  std::vector<std::vector<int>> lcs(a.size() + 1, std::vector<int>(b.size() + 1, 0));
  for (size_t i = a.size(); i-- > 0;) {
    for (size_t j = b.size(); j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::vector<std::pair<char, std::string>> ops;
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      ops.push_back({' ', a[i++]});
      ++j;
    } else if (i < a.size() && (j == b.size() || lcs[i + 1][j] >= lcs[i][j + 1])) {
      ops.push_back({'-', a[i++]});
    } else {
      ops.push_back({'+', b[j++]});
    }
  }
  std::string out = "--- golden\n+++ actual\n";
  for (size_t k = 0; k < ops.size(); ++k) {
    bool near = false;
    for (size_t d = (k >= 2 ? k - 2 : 0); d < std::min(ops.size(), k + 3); ++d) near |= ops[d].first != ' ';
    if (near) {
      out += ops[k].first + ops[k].second + "\n";
    } else if (!out.empty() && out.substr(out.size() - 4) != "...\n") {
      out += "...\n";
    }
  }
  return out;
}

std::vector<Json> documents(const std::string& text, const std::string& name) {
  const ManifestStream stream(text, name);
  std::vector<Json> docs;
  for (size_t i = 0; i < stream.size(); ++i) docs.push_back(stream.document(i));
  return docs;
}

std::string as_yaml(const std::vector<Json>& docs) {
  std::string out;
  for (const auto& d : docs) out += "---\n" + meshctl::core::yaml::to_yaml(d);
  return out;
}

struct Case {
  std::string name;
  std::vector<std::string> args;  // "{ca}" stands for the test trust anchors
  std::string command = "inject";
  std::string ext = "yml";
};

const std::vector<Case>& cases() {
  static const std::vector<Case> all{
      {"deployment_default", {}},
      {"deployment_manual", {"--manual", "--identity-trust-anchors-file", "{ca}"}},
      {"deployment_native_sidecar", {"--manual", "--native-sidecar", "--identity-trust-anchors-file", "{ca}"}},
      {"deployment_ingress", {"--manual", "--ingress", "--identity-trust-anchors-file", "{ca}"}},
      {"deployment_flags",
       {"--proxy-log-level", "debug", "--skip-inbound-ports", "9000", "--skip-outbound-ports", "3306",
        "--opaque-ports", "4222,5000-5010", "--default-inbound-policy", "deny", "--proxy-image",
        "registry.example.com/proxy:v2", "--proxy-memory-limit", "512Mi", "--native-sidecar"}},
      {"pod", {"--manual", "--identity-trust-anchors-file", "{ca}"}},
      {"statefulset", {"--manual", "--identity-trust-anchors-file", "{ca}"}},
      {"cronjob", {"--manual", "--identity-trust-anchors-file", "{ca}"}},
      {"list", {"--manual", "--identity-trust-anchors-file", "{ca}"}},
      {"namespace", {}},
      {"already_injected", {"--manual", "--identity-trust-anchors-file", "{ca}"}},
      {"other_mesh_sidecar", {"--manual", "--identity-trust-anchors-file", "{ca}"}},
      {"host_network", {"--manual", "--identity-trust-anchors-file", "{ca}"}},
      {"disabled_annotation", {"--manual", "--identity-trust-anchors-file", "{ca}"}},
      {"config_annotations", {"--manual", "--identity-trust-anchors-file", "{ca}"}},
      {"json_input", {"--manual", "--identity-trust-anchors-file", "{ca}"}, "inject", "json"},
      {"multi_doc_untouched", {"--manual", "--identity-trust-anchors-file", "{ca}"}},
      {"uninject", {}, "uninject"},
  };
  return all;
}

meshctl::test::CliRun run_case(const Case& c, const std::string& input) {
  std::vector<std::string> args{c.command};
  for (const auto& a : c.args) args.push_back(a == "{ca}" ? kDir + "ca.crt" : a);
  args.push_back(input);
  return meshctl::test::run_cli(args);
}

}  // namespace

TEST_CASE("inject golden files", "[golden][inject]") {
  for (const auto& c : cases()) {
    INFO("case " << c.name);
    const std::string input = kDir + c.name + ".input." + c.ext;
    const std::string golden_path = kDir + c.name + ".golden." + c.ext;
    const std::string report_path = kDir + c.name + ".report";
    REQUIRE(!read(input).empty());
    const auto r = run_case(c, input);
    INFO(r.err);
    REQUIRE(r.code == 0);
    if (updating()) {
      write(golden_path, r.out);
      write(report_path, r.err);
      continue;
    }
    const std::string golden = read(golden_path);
    REQUIRE(!golden.empty());

    const auto want = documents(golden, golden_path);
    const auto got = documents(r.out, "output");
    if (want != got) {
      FAIL_CHECK("output differs from " << golden_path << " as YAML:\n" << diff(as_yaml(want), as_yaml(got)));
    }
    if (golden != r.out) FAIL_CHECK("output text differs from " << golden_path << ":\n" << diff(golden, r.out));
    CHECK(r.err == read(report_path));

    // Running the command on its own output changes nothing.
    const auto again = run_case(c, golden_path);
    CHECK(again.code == 0);
    if (again.out != golden) FAIL_CHECK("not idempotent:\n" << diff(golden, again.out));
  }
}

TEST_CASE("uninject of the injected golden gives the input back", "[golden][inject]") {
  // uninject.input.yml is deployment_manual.golden.yml: the manual injection, exactly undone.
  CHECK(read(kDir + "uninject.input.yml") == read(kDir + "deployment_manual.golden.yml"));
  CHECK(read(kDir + "uninject.golden.yml") == read(kDir + "deployment_manual.input.yml"));
  // already_injected.input.yml is the same injection, which injecting again leaves alone.
  CHECK(read(kDir + "already_injected.input.yml") == read(kDir + "deployment_manual.golden.yml"));
  CHECK(read(kDir + "already_injected.golden.yml") == read(kDir + "deployment_manual.golden.yml"));
}

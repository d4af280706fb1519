// The local store: a directory of manifests in YAML and JSON, multi-document, re-read on change;
// a broken file is reported with file and line and keeps what it held before.
#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "core/error.h"
#include "core/metrics/registry.h"
#include "core/store/local_store.h"
#include "support/process.h"

using namespace meshctl::core;
using meshctl::test::TempDir;
using meshctl::test::write_file;
using namespace std::chrono_literals;

namespace {

// Distinct sizes or a pause: the store sees a change by mtime, size or inode.
void rewrite(const std::string& path, const std::string& text) {
  std::this_thread::sleep_for(10ms);
  write_file(path, text);
}

const std::string kTwoPods = R"(apiVersion: v1
kind: Pod
metadata: {name: a, namespace: default}
status: {podIP: 10.0.0.1}
---
# a comment-only document is skipped

---
apiVersion: v1
kind: Pod
metadata: {name: b}
status: {podIP: 10.0.0.2}
)";

}  // namespace

TEST_CASE("manifest files parse into objects, all or nothing", "[store]") {
  store::FileProblem problem;
  auto objects = store::parse_manifest_file(kTwoPods, "pods.yaml", problem);
  REQUIRE(objects);
  REQUIRE(objects->size() == 2);
  CHECK((*objects)[1]->at("metadata").at("namespace") == "default");  // as kubectl would

  objects = store::parse_manifest_file(R"({"kind": "List", "items": [
      {"kind": "Namespace", "metadata": {"name": "shop", "namespace": "ignored"}},
      {"kind": "ServiceAccount", "metadata": {"name": "web", "namespace": "shop"}}]})",
                                       "list.json", problem);
  REQUIRE(objects);
  REQUIRE(objects->size() == 2);
  CHECK_FALSE((*objects)[0]->at("metadata").contains("namespace"));

  SECTION("malformed YAML names the file and line") {
    CHECK_FALSE(store::parse_manifest_file("kind: Pod\nmetadata:\n  name: a\n---\nkind: Pod\nmetadata: {name: [\n",
                                           "bad.yaml", problem));
    CHECK(problem.file == "bad.yaml");
    CHECK(problem.line >= 5);
    CHECK(problem.to_string().starts_with("bad.yaml:" + std::to_string(problem.line) + ": "));
  }
  SECTION("objects without kind or name") {
    CHECK_FALSE(store::parse_manifest_file("kind: Pod\nmetadata: {name: a}\n---\nkind: Pod\nmetadata: {}\n", "x.yaml",
                                           problem));
    CHECK(problem.line == 4);
    CHECK(problem.problem == "Pod without metadata.name");
    CHECK_FALSE(store::parse_manifest_file("- 1\n- 2\n", "x.yaml", problem));
    CHECK(problem.line == 1);
    CHECK_FALSE(store::parse_manifest_file("{\"kind\": \"Pod\"", "x.json", problem));
    CHECK(problem.line == 1);
  }
}

TEST_CASE("the local store loads a directory and follows its changes", "[store]") {
  TempDir dir;
  std::filesystem::create_directories(dir.file("nested/deeper"));
  write_file(dir.file("pods.yaml"), kTwoPods);
  write_file(dir.file("nested/deeper/svc.yml"),
             "kind: Service\nmetadata: {name: web, namespace: default}\nspec: {selector: {app: web}}\n");
  write_file(dir.file("nested/ns.json"), R"({"kind": "Namespace", "metadata": {"name": "default"}})");
  write_file(dir.file("README.md"), "not a manifest: ignored");
  write_file(dir.file(".hidden.yaml"), "this: [is not read");

  meshctl::core::metrics::Registry metrics;
  store::LocalStore local({dir.path(), 20ms, &metrics});
  std::vector<store::SnapshotPtr> seen;
  auto sub = local.subscribe([&](const store::SnapshotPtr& s) { seen.push_back(s); });
  REQUIRE(seen.size() == 1);  // the current one at once (empty before loading)
  CHECK(local.rescan().empty());
  REQUIRE(seen.size() == 2);
  auto s = local.current();
  CHECK(s->size() == 4);
  CHECK(s->get("Pod", "default", "b"));
  CHECK(s->get("Service", "default", "web"));
  CHECK(s->get("Namespace", "", "default"));
  CHECK(s->in_namespace("Pod", "default").size() == 2);
  CHECK(s->all("Deployment").empty());

  SECTION("an unchanged directory publishes nothing") {
    CHECK(local.rescan().empty());
    CHECK(seen.size() == 2);
  }
  SECTION("a broken file keeps its previous objects and is reported with file and line") {
    rewrite(dir.file("pods.yaml"), "kind: Pod\nmetadata:\n  name: a\n  labels: {x: [\n");
    const auto problems = local.rescan();
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].file == dir.file("pods.yaml"));
    CHECK(problems[0].line >= 4);
    CHECK(local.current()->get("Pod", "default", "b"));  // still there
    CHECK(local.problems().size() == 1);
    CHECK(metrics.render().find("store_load_errors_total{file=\"" + dir.file("pods.yaml") + "\"} 1") !=
          std::string::npos);
    // Fixed: the new content replaces the old, the problem goes away.
    rewrite(dir.file("pods.yaml"), "kind: Pod\nmetadata: {name: c}\n");
    CHECK(local.rescan().empty());
    CHECK(local.problems().empty());
    CHECK(local.current()->get("Pod", "default", "c"));
    CHECK_FALSE(local.current()->get("Pod", "default", "b"));
  }
  SECTION("a new broken file contributes nothing; other files still load") {
    write_file(dir.file("new.yaml"), "kind: Pod\nmetadata: {name: d}\n---\nkind: [\n");
    write_file(dir.file("more.yaml"), "kind: Pod\nmetadata: {name: e}\n");
    CHECK(local.rescan().size() == 1);
    CHECK_FALSE(local.current()->get("Pod", "default", "d"));
    CHECK(local.current()->get("Pod", "default", "e"));
  }
  SECTION("removing a file removes its objects") {
    std::filesystem::remove(dir.file("nested/deeper/svc.yml"));
    local.rescan();
    CHECK_FALSE(local.current()->get("Service", "default", "web"));
    CHECK(local.current()->version() > s->version());
  }
  SECTION("the polling thread picks changes up by itself") {
    local.start();
    write_file(dir.file("late.yaml"), "kind: Pod\nmetadata: {name: late}\n");
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!local.current()->get("Pod", "default", "late") && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
    CHECK(local.current()->get("Pod", "default", "late"));
    local.stop();
  }
  SECTION("unsubscribing stops the calls") {
    sub.reset();
    write_file(dir.file("late.yaml"), "kind: Pod\nmetadata: {name: late}\n");
    local.rescan();
    CHECK(seen.size() == 2);
  }
}

TEST_CASE("the local store refuses a directory it cannot read", "[store]") {
  store::LocalStore local({"/nonexistent/registry", 20ms, nullptr});
  CHECK_THROWS_AS(local.rescan(), meshctl::core::Error);
}

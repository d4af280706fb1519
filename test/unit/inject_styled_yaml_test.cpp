#include <catch2/catch.hpp>

#include <functional>

#include "core/yaml/manifest_stream.h"
#include "core/yaml/styled_yaml.h"
#include "core/yaml/yaml_json.h"

using meshctl::core::yaml::Json;
namespace y = meshctl::core::yaml;

namespace {

// Emits `text`'s value after `change` and checks that the result reads back as the changed value.
std::string restyle(const std::string& text, const std::function<void(Json&)>& change) {
  const auto doc = y::parse_styled(text);
  Json v = doc.value();
  change(v);
  const std::string out = doc.emit(v);
  INFO(out);
  CHECK(y::parse_document(out, "emitted") == v);
  return out;
}

}  // namespace

TEST_CASE("styled parse types values exactly as parse_document", "[inject][yaml]") {
  const char* texts[] = {
      "a: 1\nb: \"1\"\nc: true\nd: 'true'\ne: ~\nf: 1.5\ng: hello\nh: 0x1F\ni: 0o17\nj: !!str 12\nk: !!int \"7\"\n",
      "list:\n- a\n- {x: 1, y: [1, 2, null]}\n- - nested\n  - seq\nempty:\nnull_word: null\n",
      "lit: |\n  line1\n  line2\nfold: >-\n  a\n  b\nkeep: |+\n  x\n\nnext: 1\n",
      "anchors:\n  base: &b {a: 1}\n  copy: *b\n  s: &s text\n  t: *s\n",
      "\"quoted key\": 1\n'single': 2\n? complex\n: 3\n",
      "multi: this is\n  a folded plain\nq: \"multi\n  line\"\n",
  };
  for (const char* t : texts) {
    INFO(t);
    CHECK(y::parse_styled(t).value() == y::parse_document(t, "t"));
  }
}

TEST_CASE("an unchanged value is written as it was", "[inject][yaml]") {
  const std::string text =
      "apiVersion: apps/v1\n"
      "kind: Deployment\n"
      "metadata:\n"
      "  name: 'web'\n"
      "  labels: {app: web, tier: \"front\"}\n"
      "  annotations:\n"
      "    note: \"a \\\"quoted\\\" note\"\n"
      "    hex: 0x1F\n"
      "    word: yes\n"
      "    tilde: ~\n"
      "    empty:\n"
      "spec:\n"
      "  template:\n"
      "    spec:\n"
      "      containers:\n"
      "      - name: app\n"
      "        args: [--port, \"8080\"]\n"
      "        command:\n"
      "        - sh\n"
      "        - -c\n"
      "        - |\n"
      "          echo hello\n"
      "          exec app\n"
      "      - name: side\n"
      "        env:\n"
      "        - name: TEXT\n"
      "          value: >-\n"
      "            folded text that\n"
      "            spans lines\n"
      "        - name: KEEP\n"
      "          value: |+\n"
      "            kept\n"
      "\n"
      "        - name: STRIP\n"
      "          value: |2-\n"
      "             leading space\n"
      "            next\n";
  const auto doc = y::parse_styled(text);
  CHECK(doc.layout().seq_indent == 0);
  CHECK(doc.layout().map_indent == 2);
  CHECK(doc.emit(doc.value()) == text);
}

TEST_CASE("four-space documents with indented sequences keep their layout", "[inject][yaml]") {
  const std::string text =
      "metadata:\n"
      "    name: web\n"
      "spec:\n"
      "    containers:\n"
      "        -   name: app\n"
      "            image: nginx\n";
  const auto doc = y::parse_styled(text);
  CHECK(doc.layout().map_indent == 4);
  CHECK(doc.layout().seq_indent == 4);
  CHECK(doc.layout().item_indent == 4);
  CHECK(doc.emit(doc.value()) == text);
  const std::string out = restyle(text, [](Json& v) {
    v["spec"]["containers"].push_back(Json{{"name", "proxy"}, {"ports", Json::array({Json{{"containerPort", 4143}}})}});
  });
  CHECK(out ==
        "metadata:\n"
        "    name: web\n"
        "spec:\n"
        "    containers:\n"
        "        -   name: app\n"
        "            image: nginx\n"
        "        -   name: proxy\n"
        "            ports:\n"
        "                -   containerPort: 4143\n");
}

TEST_CASE("changed documents keep the style of untouched fields", "[inject][yaml]") {
  const std::string text =
      "kind: Deployment\n"
      "spec:\n"
      "  template:\n"
      "    metadata:\n"
      "      labels: {app: web}\n"
      "    spec:\n"
      "      containers:\n"
      "      - name: 'app'\n"
      "        image: \"nginx:1.25\"\n"
      "        ports: [{containerPort: 80}]\n"
      "      volumes: []\n";
  const std::string out = restyle(text, [](Json& v) {
    auto& tpl = v["spec"]["template"];
    tpl["metadata"]["annotations"] = Json{{"meshctl.io/inject", "enabled"}, {"note", "8080"}};
    auto& containers = tpl["spec"]["containers"];
    containers.insert(containers.begin(), Json{{"name", "meshctl-proxy"}, {"args", Json::array({"proxy"})}});
    tpl["spec"]["volumes"].push_back(Json{{"name", "v"}, {"emptyDir", Json::object()}});
  });
  CHECK(out ==
        "kind: Deployment\n"
        "spec:\n"
        "  template:\n"
        "    metadata:\n"
        "      labels: {app: web}\n"
        "      annotations:\n"
        "        meshctl.io/inject: enabled\n"
        "        note: \"8080\"\n"
        "    spec:\n"
        "      containers:\n"
        "      - name: meshctl-proxy\n"
        "        args:\n"
        "        - proxy\n"
        "      - name: 'app'\n"
        "        image: \"nginx:1.25\"\n"
        "        ports: [{containerPort: 80}]\n"
        "      volumes:\n"
        "      - name: v\n"
        "        emptyDir: {}\n");
}

TEST_CASE("changed strings keep their quoting and block style", "[inject][yaml]") {
  const std::string text = "a: 'one'\nb: \"two\"\nc: |\n  three\nd: >\n  four\n  five\ne: plain\n";
  const std::string out = restyle(text, [](Json& v) {
    v["a"] = "it's";
    v["b"] = "tab\there";
    v["c"] = "x\ny\n\n";
    v["d"] = "long line\nsecond\n";
    v["e"] = "needs: quotes";
  });
  CHECK(out == "a: 'it''s'\nb: \"tab\\there\"\nc: |+\n  x\n  y\n\nd: >\n  long line\n\n  second\ne: \"needs: quotes\"\n");
}

TEST_CASE("block scalars round-trip for awkward text", "[inject][yaml]") {
  const char* values[] = {"plain\n", "no newline", "two\n\n", "  leading space\nnext\n", "\nleading blank\n",
                          "a\n\n\nb\n", "tab\tinside\n", "more\n  indented\nlines\nhere\n", " x", "a\n b\nc",
                          "trailing space \nx\n", "x\n  \ny\n"};
  for (const char* style : {"|", ">"}) {
    const std::string text = std::string("k: ") + style + "\n  seed\nl:\n- " + style + "\n  seed\n";
    for (const char* value : values) {
      INFO(style << " " << Json(value).dump());
      restyle(text, [&](Json& v) {
        v["k"] = value;
        v["l"][0] = value;
      });
    }
  }
}

TEST_CASE("styled parse errors carry the line", "[inject][yaml]") {
  auto line_of = [](const std::string& text, int first_line) {
    try {
      y::parse_styled(text, first_line);
    } catch (const y::SyntaxError& e) {
      return e.line();
    }
    return 0;
  };
  CHECK(line_of("a: 1\nb: [1, 2\n", 10) >= 11);
  CHECK(line_of("a: 1\na: 2\n", 1) == 2);
  CHECK(line_of("a: 1\n? [x]\n: 2\n", 5) == 6);
  // Nested aliases that would expand to 2^30 nodes.
  std::string laughs = "a0: &a0 [x, x]\n";
  for (int i = 1; i <= 30; ++i) {
    laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" + std::to_string(i - 1) + ", *a" +
              std::to_string(i - 1) + "]\n";
  }
  CHECK(line_of(laughs, 1) > 1);
}

TEST_CASE("a stream keeps unchanged documents byte for byte", "[inject][yaml]") {
  const std::string text =
      "# leading comment\n"
      "apiVersion: v1\n"
      "kind: ConfigMap   # trailing comment\n"
      "data: {a: \"1\"}\n"
      "---\n"
      "# about the deployment\n"
      "kind: Deployment\n"
      "metadata: {name: web}  # inline\n"
      "# at the end\n"
      "--- # empty document\n"
      "...\n"
      "---\n"
      "kind: Service\n";
  const y::ManifestStream stream(text, "t.yaml");
  REQUIRE(stream.format() == y::StreamFormat::Yaml);
  REQUIRE(stream.size() == 3);
  CHECK(stream.line(0) == 2);
  CHECK(stream.line(1) == 7);
  CHECK(stream.line(2) == 13);
  std::vector<Json> values{stream.document(0), stream.document(1), stream.document(2)};
  CHECK(stream.render(values) == text);
  values[1]["metadata"]["labels"] = Json{{"app", "web"}};
  CHECK(stream.render(values) ==
        "# leading comment\n"
        "apiVersion: v1\n"
        "kind: ConfigMap   # trailing comment\n"
        "data: {a: \"1\"}\n"
        "---\n"
        "# about the deployment\n"
        "kind: Deployment\n"
        "metadata: {name: web, labels: {app: web}}\n"
        "# at the end\n"
        "--- # empty document\n"
        "...\n"
        "---\n"
        "kind: Service\n");
}

TEST_CASE("streams with CRLF, a BOM and no final newline", "[inject][yaml]") {
  const std::string text = "\xEF\xBB\xBF" "a: 1\r\nb:\r\n  c: 'x'\r\n---\r\nd: 2";
  const y::ManifestStream stream(text, "t.yaml");
  REQUIRE(stream.size() == 2);
  std::vector<Json> values{stream.document(0), stream.document(1)};
  CHECK(stream.render(values) == text);
  values[0]["b"]["e"] = 3;
  CHECK(stream.render(values) == "\xEF\xBB\xBF" "a: 1\r\nb:\r\n  c: 'x'\r\n  e: 3\r\n---\r\nd: 2");
}

TEST_CASE("JSON streams keep their format", "[inject][yaml]") {
  const std::string text = "{\"kind\": \"A\", \"n\": 1}\n\n{\n  \"kind\": \"B\"\n}\n";
  const y::ManifestStream stream(text, "t.json");
  REQUIRE(stream.format() == y::StreamFormat::Json);
  REQUIRE(stream.size() == 2);
  CHECK(stream.line(1) == 3);
  std::vector<Json> values{stream.document(0), stream.document(1)};
  CHECK(stream.render(values) == text);
  values[1]["x"] = "y";
  CHECK(stream.render(values) == "{\"kind\": \"A\", \"n\": 1}\n\n{\n  \"kind\": \"B\",\n  \"x\": \"y\"\n}\n");
}

TEST_CASE("stream errors name the document and the line", "[inject][yaml]") {
  auto error_of = [](const std::string& text) -> std::string {
    try {
      y::ManifestStream(text, "f.yaml");
    } catch (const y::ManifestError& e) {
      return e.what();
    }
    return "";
  };
  CHECK(error_of("a: 1\n---\nb: 2\nc: [1,\n") .rfind("f.yaml: document 2, line ", 0) == 0);
  CHECK(error_of("a: 1\n---\nb: 2\nb: 3\n") == "f.yaml: document 2, line 4: duplicate key \"b\"");
  CHECK(error_of("{\"a\": 1}\n{\"b\": tru}\n").rfind("f.yaml: document 2, line 2: ", 0) == 0);
  CHECK(error_of("{\"a\": 1}\n{\"b\": \n").rfind("f.yaml: document 2, line ", 0) == 0);
  CHECK(error_of("{\"a\": 1}\n3\n") == "f.yaml: document 2, line 2: expected a JSON object");
}

#include <catch2/catch.hpp>

#include "core/error.h"
#include "core/render/template.h"

using namespace meshctl::core::render;
using meshctl::core::Error;

namespace {

Json data() {
  return Json::parse(R"({
    "Values": {
      "name": "web", "port": 8080, "ratio": 0.2, "on": true, "off": false, "empty": "",
      "list": ["a", "b", "c"], "none": [], "nothing": null,
      "map": {"zeta": 1, "alpha": 2, "mid": 3},
      "nested": {"labels": {"app": "web", "tier": "front"}}
    },
    "Release": {"Namespace": "meshctl"}
  })");
}

std::string render(std::string_view text, const Json& d = data()) { return render_template("t.yaml", text, d); }

std::string error_of(std::string_view text, const Json& d = data(), TemplateOptions options = {}) {
  try {
    render_template("manifests/t.yaml", text, d, options);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("text and values", "[template]") {
  CHECK(render("plain text\n") == "plain text\n");
  CHECK(render("name: {{ .Values.name }}") == "name: web");
  CHECK(render("{{.Values.port}} {{ .Values.ratio }} {{ .Values.on }} {{ .Values.nothing }}|") == "8080 0.2 true |");
  CHECK(render("{{ .Release.Namespace }}") == "meshctl");
  CHECK(render("{{ $.Values.name }}") == "web");
  CHECK(render("{{ \"lit\" }} {{ `raw\\n` }} {{ 42 }} {{ -3 }} {{ 1.5 }} {{ true }}") == "lit raw\\n 42 -3 1.5 true");
  CHECK(render("{{ \"a\\tb\\n\" }}") == "a\tb\n");
}

TEST_CASE("whitespace trimming and comments", "[template]") {
  CHECK(render("a  \n  {{- .Values.name -}}  \n  b") == "awebb");
  CHECK(render("a {{- /* gone */ -}} b") == "ab");
  CHECK(render("a{{/* a comment\nover lines */}}b") == "ab");
  CHECK(render("x:\n{{- if .Values.on }}\n  y: 1\n{{- end }}\n") == "x:\n  y: 1\n");
  // A dash without a following space is a number, not a trim marker.
  CHECK(render("a {{-3}}") == "a -3");
}

TEST_CASE("if, else if, else", "[template]") {
  const char* t = "{{ if .Values.off }}A{{ else if eq .Values.name \"web\" }}B{{ else }}C{{ end }}";
  CHECK(render(t) == "B");
  CHECK(render("{{ if .Values.empty }}x{{ else }}y{{ end }}") == "y");
  CHECK(render("{{ if .Values.none }}x{{ else }}y{{ end }}") == "y");
  CHECK(render("{{ if .Values.list }}x{{ end }}") == "x");
  CHECK(render("{{ if .Values.nothing }}x{{ end }}") == "");
  CHECK(render("{{ if 0 }}x{{ else if .Values.on }}y{{ else if true }}z{{ end }}") == "y");
  CHECK(render("{{ if and .Values.on (not .Values.off) }}ok{{ end }}") == "ok");
  CHECK(render("{{ or .Values.empty .Values.name }}") == "web");
  CHECK(render("{{ and .Values.on .Values.empty }}|") == "|");
  // and / or are lazy: the second argument would fail if evaluated.
  CHECK(render("{{ if and .Values.nothing .Values.nothing.x }}x{{ end }}") == "");
  CHECK(render("{{ or .Values.name .Values.nothing.x }}") == "web");
}

TEST_CASE("range over lists, maps and integers", "[template]") {
  CHECK(render("{{ range .Values.list }}[{{ . }}]{{ end }}") == "[a][b][c]");
  CHECK(render("{{ range $i, $v := .Values.list }}{{ $i }}={{ $v }} {{ end }}") == "0=a 1=b 2=c ");
  CHECK(render("{{ range $v := .Values.list }}{{ $v }}{{ end }}") == "abc");
  // Maps in sorted key order, as Go does.
  CHECK(render("{{ range $k, $v := .Values.map }}{{ $k }}:{{ $v }} {{ end }}") == "alpha:2 mid:3 zeta:1 ");
  CHECK(render("{{ range .Values.none }}x{{ else }}empty{{ end }}") == "empty");
  CHECK(render("{{ range .Values.nothing }}x{{ else }}null{{ end }}") == "null");
  CHECK(render("{{ range $i := until 3 }}{{ $i }}{{ end }}") == "012");
  CHECK(render("{{ range 2 }}x{{ end }}") == "xx");
  // $ stays the root inside a range.
  CHECK(render("{{ range .Values.list }}{{ $.Release.Namespace }}{{ end }}") == "meshctlmeshctlmeshctl");
}

TEST_CASE("with and variables", "[template]") {
  CHECK(render("{{ with .Values.nested.labels }}{{ .app }}{{ end }}") == "web");
  CHECK(render("{{ with .Values.empty }}x{{ else }}none{{ end }}") == "none");
  CHECK(render("{{ $x := .Values.name }}{{ $x }}-{{ $x = \"api\" }}{{ $x }}") == "web-api");
  CHECK(render("{{ $n := 1 }}{{ range .Values.list }}{{ $n = add $n 1 }}{{ end }}{{ $n }}") == "4");
  CHECK(render("{{ $m := .Values.nested }}{{ $m.labels.tier }}") == "front");
  CHECK(error_of("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}") ==
        "manifests/t.yaml:1: undefined variable $y");
}

TEST_CASE("pipelines and functions", "[template]") {
  CHECK(render("{{ .Values.name | quote }}") == "\"web\"");
  CHECK(render("{{ .Values.port | quote }}") == "\"8080\"");
  CHECK(render("{{ quote \"a\\\"b\" }}") == "\"a\\\"b\"");
  CHECK(render("{{ .Values.name | squote }} {{ squote \"it's\" }}") == "'web' 'it''s'");
  CHECK(render("{{ .Values.empty | default \"dflt\" }}") == "dflt");
  CHECK(render("{{ .Values.name | default \"dflt\" }}") == "web");
  CHECK(render("{{ .Values.name | upper | lower }}") == "web");
  CHECK(render("{{ \"meshctl.local.\" | trimSuffix \".\" }}") == "meshctl.local");
  CHECK(render("{{ \"abc\" | trimPrefix \"a\" }}{{ trim \"  x \" }}") == "bcx");
  CHECK(render("{{ replace \".\" \"-\" \"a.b.c\" }}") == "a-b-c");
  CHECK(render("{{ printf \"%s:%d\" .Values.name .Values.port }}") == "web:8080");
  CHECK(render("{{ printf \"%q %v %05d %.2f %x %%\" \"s\" true 42 0.5 255 }}") == "\"s\" true 00042 0.50 ff %");
  CHECK(render("{{ \"hello\" | b64enc }} {{ \"aGVsbG8=\" | b64dec }}") == "aGVsbG8= hello");
  CHECK(render("{{ \"\" | b64enc }}|{{ \"a\" | b64enc }}|{{ \"ab\" | b64enc }}") == "|YQ==|YWI=");
  CHECK(render("{{ sha256sum \"abc\" }}") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(render("{{ eq 1 1 }} {{ eq .Values.name \"x\" \"web\" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ ge 2 3 }}") ==
        "true true true true false");
  CHECK(render("{{ eq .Values.port 8080.0 }}") == "true");
  CHECK(render("{{ len .Values.list }} {{ len .Values.name }} {{ index .Values.list 1 }}") == "3 3 b");
  CHECK(render("{{ index .Values.map \"mid\" }}|{{ index .Values.map \"missing\" }}|") == "3||");
  CHECK(render("{{ join \",\" .Values.list }} {{ splitList \",\" \"x,y\" | len }}") == "a,b,c 2");
  CHECK(render("{{ hasKey .Values.map \"alpha\" }} {{ keys .Values.map | join \",\" }}") == "true alpha,mid,zeta");
  CHECK(render("{{ ternary \"y\" \"n\" .Values.on }} {{ coalesce .Values.empty .Values.nothing \"c\" }}") == "y c");
  CHECK(render("{{ add 1 2 3 }} {{ sub 5 2 }} {{ mul 2 3 }} {{ div 7 2 }} {{ mod 7 2 }} {{ max 1 9 }}") ==
        "6 3 6 3 1 9");
  CHECK(render("{{ (dict \"a\" 1 \"b\" (list 1 2)).b | toJson }}") == "[1,2]");
  CHECK(render("{{ contains \"eb\" .Values.name }} {{ hasPrefix \"w\" .Values.name }} {{ hasSuffix \"b\" \"ab\" }}") ==
        "true true true");
  CHECK(render("{{ .Values.port | toString | len }} {{ \"12\" | int | add 1 }}") == "4 13");
  CHECK(render("{{ kindIs \"map\" .Values.map }} {{ kindIs \"string\" 1 }}") == "true false");
  CHECK(render("{{ print \"a\" 1 2 \"b\" }}") == "a1 2b");
}

TEST_CASE("toYaml, toJson, indent and nindent", "[template]") {
  CHECK(render("labels:{{ .Values.nested.labels | toYaml | nindent 2 }}") == "labels:\n  app: web\n  tier: front");
  CHECK(render("{{ toYaml .Values.list | indent 4 }}") == "    - a\n    - b\n    - c");
  CHECK(render("{{ toJson .Values.nested }}") == R"({"labels":{"app":"web","tier":"front"}})");
  CHECK(render("{{ toYaml .Values.none }}|{{ toYaml .Values.map.zeta }}") == "[]|1");
  CHECK(render("{{ \"a\\nb\" | indent 2 }}") == "  a\n  b");
}

TEST_CASE("define, include and template", "[template]") {
  TemplateSet set;
  set.add("manifests/_helpers.tpl", R"({{- define "labels" -}}
app: {{ .name }}
ns: {{ .ns }}
{{- end }}
{{- define "outer" }}[{{ include "labels" . | nindent 2 }}]{{ end }})");
  set.add("manifests/a.yaml", R"(metadata:
  labels:
    {{- include "labels" (dict "name" "web" "ns" $.Release.Namespace) | nindent 4 }}
x: {{ template "outer" (dict "name" "n" "ns" "m") }}
)");
  CHECK(set.contains("labels"));
  CHECK(set.render("manifests/a.yaml", data()).text ==
        "metadata:\n  labels:\n    app: web\n    ns: meshctl\nx: [\n  app: n\n  ns: m]\n");
}

TEST_CASE("output lines map back to template lines", "[template]") {
  TemplateSet set;
  set.add("t", "a: 1\n{{- if true }}\nb: {{ \"x\\ny\" }}\n{{- end }}\nc: 3\n");
  const auto out = set.render("t", Json::object());
  REQUIRE(out.text == "a: 1\nb: x\ny\nc: 3\n");
  CHECK(out.source_line(1) == 1);
  CHECK(out.source_line(2) == 3);
  CHECK(out.source_line(3) == 3);  // produced by the action on line 3
  CHECK(out.source_line(4) == 5);
}

TEST_CASE("errors name the template and line", "[template][errors]") {
  CHECK(error_of("a\n{{ .Values.missing }}") == "manifests/t.yaml:2: .Values.missing is not defined");
  CHECK(error_of("a\n\n{{ .Values.nested.nope.deeper }}") == "manifests/t.yaml:3: .Values.nested.nope is not defined");
  CHECK(error_of("{{ .Values.nothing.x }}") == "manifests/t.yaml:1: cannot read .Values.nothing.x: .Values.nothing is null");
  CHECK(error_of("{{ .Values.name.x }}") == "manifests/t.yaml:1: cannot read .Values.name.x: .Values.name is a string");
  CHECK(error_of("x\n{{ nosuch 1 }}") == "manifests/t.yaml:2: function \"nosuch\" is not defined");
  CHECK(error_of("{{ if true }}x") == "manifests/t.yaml:1: {{ if }} has no matching {{ end }}");
  CHECK(error_of("x\n{{ end }}") == "manifests/t.yaml:2: unexpected {{ end }}");
  CHECK(error_of("{{ .Values.name ") == "manifests/t.yaml:1: unclosed action: missing }}");
  CHECK(error_of("{{ \"abc }}") == "manifests/t.yaml:1: unterminated string");
  CHECK(error_of("{{/* x }}") == "manifests/t.yaml:1: unclosed comment");
  CHECK(error_of("{{ .Values.map }}") ==
        "manifests/t.yaml:1: cannot print a map as text: pipe it through toYaml or toJson");
  CHECK(error_of("\n{{ required \"set image.tag\" .Values.empty }}") == "manifests/t.yaml:2: required: set image.tag");
  CHECK(error_of("{{ fail \"boom\" }}") == "manifests/t.yaml:1: fail: boom");
  CHECK(error_of("{{ indent \"x\" \"y\" }}") ==
        "manifests/t.yaml:1: indent: indent width must be an integer, not a string \"x\"");
  CHECK(error_of("{{ quote }}{{ indent 1 }}") == "manifests/t.yaml:1: indent: wants 2 arguments, got 1");
  CHECK(error_of("{{ include \"nope\" . }}") == "manifests/t.yaml:1: no template named \"nope\"");
  CHECK(error_of("{{ .Values.name 1 }}") ==
        "manifests/t.yaml:1: can't give arguments to a value that is not a function");
  CHECK(error_of("{{ 1 | .Values.name }}") == "manifests/t.yaml:1: only a function can follow | in a pipeline");
  CHECK(error_of("{{ lt 1 \"a\" }}") == "manifests/t.yaml:1: lt: cannot compare a number with a string");
  CHECK(error_of("{{ range .Values.name }}{{ end }}") == "manifests/t.yaml:1: range can't iterate over a string");
  CHECK(error_of("{{ $x = 1 }}") == "manifests/t.yaml:1: undefined variable $x");
  CHECK(error_of("{{ if 1 == 1 }}{{ end }}") == "manifests/t.yaml:1: there is no == operator: write eq a b");
  CHECK(error_of("{{ }}") == "manifests/t.yaml:1: empty action");
  CHECK(error_of("{{ if true }}{{ else }}{{ else }}{{ end }}") == "manifests/t.yaml:1: a second {{ else }}");
  CHECK(error_of("{{ printf \"%d\" }}") == "manifests/t.yaml:1: printf: printf: missing argument for %d");
  CHECK(error_of("{{ div 1 0 }}") == "manifests/t.yaml:1: div: division by zero");
  CHECK(error_of("{{ (1 }}") == "manifests/t.yaml:1: unclosed (");
  CHECK(error_of("{{ define \"x\" }}{{ end }}{{ define \"x\" }}{{ end }}").find("already defined") != std::string::npos);
  CHECK(error_of("{{ 12abc }}") == "manifests/t.yaml:1: bad number syntax: 12");
  // A multi-line action reports the line of the failing part.
  CHECK(error_of("{{ list\n  1\n  (nosuch) }}") == "manifests/t.yaml:3: function \"nosuch\" is not defined");
}

TEST_CASE("lenient mode reads missing keys as null", "[template]") {
  TemplateOptions lenient;
  lenient.strict = false;
  CHECK(render_template("t", "{{ .Values.missing.deeper | default \"d\" }}", data(), lenient) == "d");
}

TEST_CASE("included templates report their own location", "[template][errors]") {
  TemplateSet set;
  set.add("manifests/_h.tpl", "{{ define \"h\" }}\n{{ .nope }}\n{{ end }}");
  set.add("manifests/a.yaml", "a\nb: {{ include \"h\" (dict) }}");
  try {
    set.render("manifests/a.yaml", data());
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "manifests/_h.tpl:2: .nope is not defined (included from manifests/a.yaml:2)");
  }
  TemplateSet loop;
  loop.add("l", "{{ define \"self\" }}{{ include \"self\" . }}{{ end }}{{ include \"self\" . }}");
  CHECK_THROWS_WITH(loop.render("l", data()), Catch::Contains("nest deeper than"));
}

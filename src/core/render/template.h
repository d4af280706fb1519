#pragma once
// A small text-template engine in the style of Go's text/template and Helm, because the people
// who install a Kubernetes mesh already read and write that language. It renders the files under
// manifests/ with the install values; every error names the template and line it came from.
//
// Supported: {{ pipeline }}, {{- and -}} whitespace trimming, {{/* comments */}}, if / else if /
// else / end, range (lists, maps in sorted key order, `$i, $v :=`, else), with, variables
// ($x := ..., $x = ..., $ for the root), define / template / include, parenthesised pipelines and
// the functions listed in template_functions.h.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/yaml/yaml_json.h"

namespace meshctl::core::render {

using Json = yaml::Json;

struct TemplateOptions {
  // Reading a map key that does not exist is an error rather than an empty value. Values are
  // checked against values.yaml, so a missing key in a template is a typo worth stopping for.
  bool strict = true;
  // Deepest chain of include / template calls, so a template that includes itself fails
  // instead of exhausting the stack.
  int max_include_depth = 64;
};

// The output of one template with, for each output line, the template line that produced its
// first character: a YAML error in the output can then point at the template.
struct RenderedText {
  std::string text;
  std::vector<int> source_lines;  // index: output line - 1; value: 1-based template line

  int source_line(int output_line) const;
};

using TemplateFunction = std::function<Json(std::vector<Json>& args)>;

// A set of parsed templates that may include one another by name. A template's own name (for
// example "manifests/control-plane/identity.yaml") is what errors show; `define` adds more names.
class TemplateSet {
 public:
  explicit TemplateSet(TemplateOptions options = {});
  ~TemplateSet();
  TemplateSet(TemplateSet&&) noexcept;
  TemplateSet& operator=(TemplateSet&&) noexcept;

  // Parses `text` as the template `name` and registers its `define`d templates. Throws
  // core::Error "<name>:<line>: <problem>" on a syntax error, an unknown function or a name
  // defined twice.
  void add(const std::string& name, std::string_view text);

  bool contains(std::string_view name) const;

  // Adds or replaces a function available to templates added after this call.
  void add_function(const std::string& name, TemplateFunction fn);

  // Renders the template `name` with `data` as dot and `$`. Throws core::Error naming the
  // template and line of the first failing action.
  RenderedText render(std::string_view name, const Json& data) const;

  struct Impl;  // defined in template.cpp; public so the renderer there can read it

 private:
  std::unique_ptr<Impl> impl_;
};

// Parses and renders one template; for tests and one-off strings.
std::string render_template(std::string_view name, std::string_view text, const Json& data,
                            TemplateOptions options = {});

}  // namespace meshctl::core::render

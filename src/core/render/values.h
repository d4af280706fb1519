#pragma once
// The mesh's values: the embedded defaults (manifests/values.yaml), then each `-f FILE` in order,
// then each `--set` in order, the later winning. Shared by `install` and `inject --manual`.

#include <string>
#include <string_view>
#include <vector>

#include "core/yaml/yaml_json.h"

namespace meshctl::core::render {

using Json = yaml::Json;

struct ValueSources {
  std::vector<std::string> files;        // -f/--values, YAML, applied in order
  std::vector<std::string> sets;         // --set a.b=v (typed), applied after files
  std::vector<std::string> string_sets;  // --set-string a.b=v (always strings), applied last
  // Embedded value files (paths under manifests/, e.g. "values-ha.yaml" for --ha) merged over
  // the defaults before any -f file, so the user's files and --set still win over them.
  std::vector<std::string> presets;
};

// The embedded defaults.
Json default_values();

// Defaults merged with every source. Throws core::Error naming the file, line or --set
// expression and the key, for unreadable files, malformed YAML, unknown keys and wrong types.
Json load_values(const ValueSources& sources);

// Applies one --set expression ("a.b=v,c[1].d=w", "list={a,b}") to `values`.
// `as_string` keeps every value a string, as --set-string does.
void apply_set(Json& values, std::string_view expression, bool as_string = false);

// Deep merge: maps merge key by key, anything else in `overlay` replaces what is in `base`.
void merge_values(Json& base, const Json& overlay);

// Checks `values` against the defaults: every key must exist there (maps that are empty in the
// defaults, such as podLabels, take any key) and keep its type. `origin` names the source.
void check_known_keys(const Json& values, const Json& defaults, std::string_view origin);

}  // namespace meshctl::core::render

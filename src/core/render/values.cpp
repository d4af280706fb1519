#include "core/render/values.h"

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/render/embedded.h"

namespace meshctl::core::render {
namespace {

std::string type_name(const Json& v) {
  if (v.is_object()) return "a map";
  if (v.is_array()) return "a list";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  return "null";
}

// Splits a --set expression on unescaped commas that are not inside {...}.
std::vector<std::string> split_assignments(std::string_view expr) {
  std::vector<std::string> parts;
  std::string cur;
  int depth = 0;
  for (size_t i = 0; i < expr.size(); ++i) {
    const char c = expr[i];
    if (c == '\\' && i + 1 < expr.size()) {
      cur += c;
      cur += expr[++i];
      continue;
    }
    if (c == '{') ++depth;
    if (c == '}' && depth > 0) --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(cur);
      cur.clear();
      continue;
    }
    cur += c;
  }
  parts.push_back(cur);
  return parts;
}

std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

Json typed_scalar(const std::string& raw, bool as_string) {
  if (as_string) return raw;
  if (raw == "true") return true;
  if (raw == "false") return false;
  if (raw == "null") return nullptr;
  if (!raw.empty() && raw.find_first_not_of("0123456789", raw[0] == '-' ? 1 : 0) == std::string::npos &&
      raw != "-" && !(raw.size() > 1 && raw[0] == '0')) {
    try {
      return std::stoll(raw);
    } catch (const std::out_of_range&) {
      return raw;
    }
  }
  return raw;
}

Json parse_set_value(std::string_view raw, bool as_string) {
  if (raw.size() >= 2 && raw.front() == '{' && raw.back() == '}') {
    Json list = Json::array();
    const std::string_view inner = raw.substr(1, raw.size() - 2);
    if (inner.empty()) return list;
    for (const auto& item : split_assignments(inner)) list.push_back(typed_scalar(unescape(item), as_string));
    return list;
  }
  return typed_scalar(unescape(raw), as_string);
}

struct PathStep {
  std::string key;  // empty for a list index
  long index = -1;
};

std::vector<PathStep> parse_path(std::string_view path, std::string_view expr) {
  std::vector<PathStep> steps;
  std::string cur;
  auto bad = [&](const std::string& why) {
    return Error("--set \"" + std::string(expr) + "\": " + why);
  };
  auto flush = [&] {
    if (!cur.empty()) steps.push_back({cur, -1});
    cur.clear();
  };
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '\\' && i + 1 < path.size()) {
      cur += path[++i];
    } else if (c == '.') {
      if (cur.empty() && (steps.empty() || steps.back().index < 0)) throw bad("empty key in \"" + std::string(path) + "\"");
      flush();
    } else if (c == '[') {
      flush();
      const size_t close = path.find(']', i);
      if (close == std::string_view::npos) throw bad("unclosed [ in \"" + std::string(path) + "\"");
      const std::string digits(path.substr(i + 1, close - i - 1));
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) {
        throw bad("list index \"" + digits + "\" is not a non-negative number");
      }
      if (digits.size() > 6) throw bad("list index " + digits + " is too large");
      if (steps.empty()) throw bad("a list index needs a key before it");
      steps.push_back({"", std::stol(digits)});
      i = close;
    } else {
      cur += c;
    }
  }
  flush();
  if (steps.empty()) throw bad("no key before '='");
  return steps;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read values file");
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(path + ": cannot read values file");
  return ss.str();
}

// Values whose default is a string take numbers and booleans as their text, since YAML and
// --set read "3306" or "true" as typed values where the user meant the text.
void coerce_to_defaults(Json& values, const Json& defaults) {
  if (values.is_object() && defaults.is_object()) {
    for (auto it = values.begin(); it != values.end(); ++it) {
      auto d = defaults.find(it.key());
      if (d != defaults.end()) coerce_to_defaults(it.value(), *d);
    }
  } else if (defaults.is_string() && (values.is_number() || values.is_boolean())) {
    values = values.dump();
  }
}

}  // namespace

Json default_values() {
  const auto text = embedded_file("values.yaml");
  if (!text) throw Error("values.yaml is missing from the embedded manifests");
  return yaml::parse_document(*text, "manifests/values.yaml");
}

void merge_values(Json& base, const Json& overlay) {
  if (!base.is_object() || !overlay.is_object()) {
    base = overlay;
    return;
  }
  for (auto it = overlay.begin(); it != overlay.end(); ++it) {
    auto existing = base.find(it.key());
    if (existing != base.end() && existing->is_object() && it.value().is_object()) {
      merge_values(*existing, it.value());
    } else {
      base[it.key()] = it.value();
    }
  }
}

void apply_set(Json& values, std::string_view expression, bool as_string) {
  for (const auto& assignment : split_assignments(expression)) {
    size_t eq = std::string::npos;
    for (size_t i = 0; i < assignment.size(); ++i) {
      if (assignment[i] == '\\') {
        ++i;
      } else if (assignment[i] == '=') {
        eq = i;
        break;
      }
    }
    if (eq == std::string::npos) {
      throw Error("--set \"" + std::string(expression) + "\": \"" + assignment + "\" has no '='",
                  "write --set key=value, for example --set controllerReplicas=2");
    }
    const auto steps = parse_path(std::string_view(assignment).substr(0, eq), expression);
    const Json value = parse_set_value(std::string_view(assignment).substr(eq + 1), as_string);

    Json* node = &values;
    for (size_t i = 0; i < steps.size(); ++i) {
      const auto& step = steps[i];
      const bool last = i + 1 == steps.size();
      if (step.index >= 0) {
        if (!node->is_array()) *node = Json::array();
        while (static_cast<long>(node->size()) <= step.index) node->push_back(nullptr);
        node = &(*node)[static_cast<size_t>(step.index)];
      } else {
        if (!node->is_object()) *node = Json::object();
        node = &(*node)[step.key];
      }
      if (last) *node = value;
    }
  }
}

void check_known_keys(const Json& values, const Json& defaults, std::string_view origin) {
  struct Walker {
    std::string_view origin;
    void walk(const Json& v, const Json& d, const std::string& path) {
      if (d.is_object()) {
        if (!v.is_object()) {
          throw Error(std::string(origin) + ": " + path + " must be a map, not " + type_name(v));
        }
        if (d.empty()) return;  // free-form map such as podLabels
        for (auto it = v.begin(); it != v.end(); ++it) {
          const std::string child = path.empty() ? it.key() : path + "." + it.key();
          auto known = d.find(it.key());
          if (known == d.end()) {
            throw Error(std::string(origin) + ": unknown value \"" + child + "\"",
                        "`meshctl install --print-values` lists every value and its default");
          }
          walk(it.value(), *known, child);
        }
        return;
      }
      if (v.is_null() || d.is_null()) return;
      const bool ok = (d.is_array() && v.is_array()) || (d.is_boolean() && v.is_boolean()) ||
                      (d.is_number() && v.is_number()) || (d.is_string() && v.is_string());
      if (!ok) {
        throw Error(std::string(origin) + ": " + path + " must be " + type_name(d) + ", not " + type_name(v) +
                    " (" + v.dump() + ")");
      }
    }
  };
  Walker{origin}.walk(values, defaults, "");
}

Json load_values(const ValueSources& sources) {
  const Json defaults = default_values();
  Json values = defaults;
  for (const auto& preset : sources.presets) {
    const auto text = embedded_file(preset);
    if (!text) throw Error(preset + " is missing from the embedded manifests");
    const std::string name = "manifests/" + preset;
    Json overlay = yaml::parse_document(*text, name);
    if (overlay.is_null()) continue;
    check_known_keys(overlay, defaults, name);
    merge_values(values, overlay);
  }
  for (const auto& file : sources.files) {
    Json overlay = yaml::parse_document(read_file(file), file);
    if (overlay.is_null()) continue;  // an empty values file changes nothing
    if (!overlay.is_object()) throw Error(file + ": a values file must be a map of keys");
    coerce_to_defaults(overlay, defaults);
    check_known_keys(overlay, defaults, file);
    merge_values(values, overlay);
  }
  auto apply_all = [&](const std::vector<std::string>& sets, bool as_string) {
    for (const auto& set : sets) {
      // Applied in place so that an index such as list[1] lands in the list already there.
      apply_set(values, set, as_string);
      coerce_to_defaults(values, defaults);
      check_known_keys(values, defaults, std::string(as_string ? "--set-string \"" : "--set \"") + set + "\"");
    }
  };
  apply_all(sources.sets, false);
  apply_all(sources.string_sets, true);
  return values;
}

}  // namespace meshctl::core::render

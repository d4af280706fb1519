#include "core/yaml/yaml_json.h"


#include <charconv>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "core/yaml/manifest_stream.h"
#include "core/yaml/styled_yaml.h"

namespace meshctl::core::yaml {
namespace {

bool is_null_word(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}
bool is_true_word(std::string_view s) { return s == "true" || s == "True" || s == "TRUE"; }
bool is_false_word(std::string_view s) { return s == "false" || s == "False" || s == "FALSE"; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool all_digits(std::string_view s, bool (*ok)(char)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!ok(c)) return false;
  }
  return true;
}

// YAML 1.2 core schema integers: [-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+. Hand-written rather than
// std::regex: every plain scalar of every document passes through here.
bool parse_int(std::string_view s, Json& out) {
  int base = 10;
  std::string_view digits = s;
  if (s.starts_with("0o")) {
    base = 8, digits.remove_prefix(2);
    if (!all_digits(digits, [](char c) { return c >= '0' && c <= '7'; })) return false;
  } else if (s.starts_with("0x")) {
    base = 16, digits.remove_prefix(2);
    if (!all_digits(digits, [](char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); })) {
      return false;
    }
  } else {
    const bool sign = !s.empty() && (s[0] == '-' || s[0] == '+');
    if (!all_digits(s.substr(sign ? 1 : 0), is_digit)) return false;
    if (s[0] == '+') digits.remove_prefix(1);
  }
  long long v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
  if (ec == std::errc() && p == digits.data() + digits.size()) {
    out = v;
    return true;
  }
  if (base != 10) return false;  // too large: keep the text rather than guess
  out = std::stod(std::string(s));  // too large for an integer: YAML still calls it a number
  return true;
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? and the infinities and NaN.
bool parse_float(std::string_view s, Json& out) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  const size_t whole = digits();
  size_t fraction = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    fraction = digits();
  }
  bool ok = whole > 0 || fraction > 0;
  if (ok && i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    ok = digits() > 0;
  }
  if (ok && i == s.size()) {
    out = std::stod(std::string(s));
    return true;
  }
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf" || s == "+.Inf" || s == "+.INF") {
    out = INFINITY;  // nlohmann writes non-finite numbers as null in JSON output
    return true;
  }
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") {
    out = -INFINITY;
    return true;
  }
  if (s == ".nan" || s == ".NaN" || s == ".NAN") {
    out = NAN;
    return true;
  }
  return false;
}

Json plain_scalar(const std::string& s) {
  if (is_null_word(s)) return nullptr;
  if (is_true_word(s)) return true;
  if (is_false_word(s)) return false;
  Json n;
  if (parse_int(s, n) || parse_float(s, n)) return n;
  return s;
}

void emit(const Json& v, int indent, std::string& out);


std::string scalar_text(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
    if (std::isnan(d)) return ".nan";
    return v.dump();
  }
  const auto& s = v.get_ref<const std::string&>();
  return plain_scalar_safe(s) ? s : double_quoted(s);
}

void emit_string_block(const std::string& s, int indent, std::string& out) {
  // Multi-line text reads best as a literal block; keep the trailing newline exactly.
  const bool ends_nl = !s.empty() && s.back() == '\n';
  const bool ends_many = s.size() >= 2 && s[s.size() - 2] == '\n' && ends_nl;
  out += ends_many ? "|+" : ends_nl ? "|" : "|-";
  if (!s.empty() && s.front() == ' ') out += "2";
  out += "\n";
  std::string_view rest = s;
  if (ends_nl) rest.remove_suffix(1);
  size_t start = 0;
  while (start <= rest.size()) {
    size_t nl = rest.find('\n', start);
    std::string_view line = rest.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    if (!line.empty()) out.append(indent, ' ').append(line);
    out += "\n";
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
}

bool block_friendly(const std::string& s) {
  if (s.find('\n') == std::string::npos) return false;
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return false;
  }
  // Trailing spaces on a line and a leading blank line do not survive a literal block.
  return s.find(" \n") == std::string::npos && s.front() != '\n';
}

void emit_value_after_key(const Json& v, int indent, std::string& out) {
  if (v.is_object() && !v.empty()) {
    out += "\n";
    emit(v, indent + 2, out);
  } else if (v.is_array() && !v.empty()) {
    out += "\n";
    emit(v, indent + 2, out);
  } else if (v.is_string() && block_friendly(v.get_ref<const std::string&>())) {
    out += " ";
    emit_string_block(v.get_ref<const std::string&>(), indent + 2, out);
  } else if (v.is_object()) {
    out += " {}\n";
  } else if (v.is_array()) {
    out += " []\n";
  } else {
    out += " " + scalar_text(v) + "\n";
  }
}

void emit(const Json& v, int indent, std::string& out) {
  const std::string pad(indent, ' ');
  if (v.is_object()) {
    if (v.empty()) {
      out += pad + "{}\n";
      return;
    }
    for (auto it = v.begin(); it != v.end(); ++it) {
      out += pad + scalar_text(Json(it.key())) + ":";
      emit_value_after_key(it.value(), indent, out);
    }
  } else if (v.is_array()) {
    if (v.empty()) {
      out += pad + "[]\n";
      return;
    }
    for (const auto& item : v) {
      if (item.is_object() && !item.empty()) {
        // The first key shares the dash's line; the rest line up under it.
        std::string nested;
        emit(item, indent + 2, nested);
        out += pad + "- " + nested.substr(indent + 2);
      } else if (item.is_array() && !item.empty()) {
        std::string nested;
        emit(item, indent + 2, nested);
        out += pad + "- " + nested.substr(indent + 2);
      } else if (item.is_string() && block_friendly(item.get_ref<const std::string&>())) {
        out += pad + "- ";
        emit_string_block(item.get_ref<const std::string&>(), indent + 2, out);
      } else {
        out += pad + "- " + (item.is_object() ? "{}" : item.is_array() ? "[]" : scalar_text(item)) + "\n";
      }
    }
  } else {
    out += pad + scalar_text(v) + "\n";
  }
}

}  // namespace

bool plain_scalar_safe(std::string_view s) {
  if (s.empty()) return false;
  const Json typed = plain_scalar(std::string(s));
  if (!typed.is_string()) return false;  // would read back as a number, bool or null
  static const std::string_view bad_first = "-?:,[]{}#&*!|>'\"%@` \t";
  if (bad_first.find(s.front()) != std::string_view::npos) {
    // "-x", "?x" and ":x" are fine plain scalars when not followed by a space... keep it simple.
    return false;
  }
  if (s.back() == ' ' || s.back() == '\t' || s.back() == ':') return false;
  if (s.find(": ") != std::string_view::npos || s.find(" #") != std::string_view::npos) return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  // YAML 1.1 readers (Kubernetes' among them) take these words as booleans.
  static const char* yaml11_bools[] = {"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
                                       "on", "On", "ON", "off", "Off", "OFF"};
  for (const char* w : yaml11_bools) {
    if (s == w) return false;
  }
  if (s == "---" || s == "...") return false;
  return true;
}

// One reader for all YAML: the styled parser bounds alias expansion and finds duplicate keys in
// linear time; callers that only want the value drop the style.
Json parse_document(std::string_view text, std::string_view source, int first_line) {
  try {
    return parse_styled(text, first_line).take_value();
  } catch (const SyntaxError& e) {
    throw Error(std::string(source) + ":" + std::to_string(e.line()) + ": " + e.problem());
  }
}

std::vector<Json> parse_stream(std::string_view text, std::string_view source) {
  const ManifestStream stream{std::string(text), std::string(source)};
  std::vector<Json> docs;
  docs.reserve(stream.size());
  for (size_t i = 0; i < stream.size(); ++i) {
    if (!stream.document(i).is_null()) docs.push_back(stream.document(i));
  }
  return docs;
}

Json plain_scalar_value(std::string_view text) { return plain_scalar(std::string(text)); }

std::string to_yaml(const Json& value) {
  std::string out;
  emit(value, 0, out);
  return out;
}

}  // namespace meshctl::core::yaml

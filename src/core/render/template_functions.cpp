#include "core/render/template_functions.h"
#include "core/yaml/styled_yaml.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace meshctl::core::render {
namespace {

using Args = std::vector<Json>;

void arity(const Args& a, size_t min, size_t max = 0) {
  if (max == 0) max = min;
  if (a.size() < min || a.size() > max) {
    std::string want = min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
    if (max == SIZE_MAX) want = "at least " + std::to_string(min);
    throw TemplateFault("wants " + want + " argument" + (max == 1 ? "" : "s") + ", got " + std::to_string(a.size()));
  }
}

const std::string& str(const Json& v, const char* what = "argument") {
  if (!v.is_string()) throw TemplateFault(std::string(what) + " must be a string, not " + template_kind(v));
  return v.get_ref<const std::string&>();
}

long long integer(const Json& v, const char* what = "argument") {
  if (v.is_number_integer() || v.is_number_unsigned()) return v.get<long long>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::trunc(d) == d && std::fabs(d) < 9e15) return static_cast<long long>(d);
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    long long n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && p == s.data() + s.size()) return n;
  }
  throw TemplateFault(std::string(what) + " must be an integer, not " + template_kind(v) + " " + v.dump());
}

double real(const Json& v) {
  if (v.is_number()) return v.get<double>();
  throw TemplateFault("argument must be a number, not " + template_kind(v));
}


std::string indent_lines(long long n, const std::string& s) {
  if (n < 0) throw TemplateFault("indent must not be negative");
  const std::string pad(static_cast<size_t>(n), ' ');
  std::string out = pad;
  for (char c : s) {
    out += c;
    if (c == '\n') out += pad;
  }
  return out;
}

std::string base64_encode(std::string_view in) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  if (i < in.size()) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < in.size() && in[i] != '='; ++i) {
    const int v = value(in[i]);
    if (v < 0) throw TemplateFault("not base64: unexpected character");
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xff);
    }
  }
  for (; i < in.size(); ++i) {
    if (in[i] != '=') throw TemplateFault("not base64: data after padding");
  }
  return out;
}

std::string sha256_hex(std::string_view in) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(in.data(), in.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    throw TemplateFault("SHA-256 failed");
  }
  std::string hex;
  char buf[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", digest[i]);
    hex += buf;
  }
  return hex;
}

int compare(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) return a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
  throw TemplateFault("cannot compare " + template_kind(a) + " with " + template_kind(b));
}

bool equal(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  return a == b;
}

// Go's fmt verbs that templates use: %s %d %v %q %f %x %t %% with flags, width and precision.
std::string go_printf(const std::string& format, const Args& args, size_t first) {
  std::string out;
  size_t next = first;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    size_t j = i + 1;
    std::string spec = "%";
    while (j < format.size() && std::string_view("-+ 0#").find(format[j]) != std::string_view::npos) spec += format[j++];
    while (j < format.size() && (std::isdigit(static_cast<unsigned char>(format[j])) || format[j] == '.')) {
      spec += format[j++];
    }
    if (j >= format.size()) throw TemplateFault("printf: format ends inside a verb");
    const char verb = format[j];
    i = j;
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (next >= args.size()) throw TemplateFault(std::string("printf: missing argument for %") + verb);
    const Json& a = args[next++];
    char buf[512];
    switch (verb) {
      case 's':
      case 'v':
        std::snprintf(buf, sizeof buf, (spec + "s").c_str(),
                      (a.is_object() || a.is_array() ? a.dump() : template_text(a)).c_str());
        out += buf;
        break;
      case 'q':
        out += yaml::double_quoted(template_text(a));
        break;
      case 't':
        if (!a.is_boolean()) throw TemplateFault("printf: %t needs a boolean");
        out += a.get<bool>() ? "true" : "false";
        break;
      case 'd':
        std::snprintf(buf, sizeof buf, (spec + "lld").c_str(), integer(a));
        out += buf;
        break;
      case 'x':
      case 'X':
        if (a.is_string()) {
          for (unsigned char c : a.get_ref<const std::string&>()) {
            std::snprintf(buf, sizeof buf, verb == 'x' ? "%02x" : "%02X", c);
            out += buf;
          }
        } else {
          std::snprintf(buf, sizeof buf, (spec + (verb == 'x' ? "llx" : "llX")).c_str(), integer(a));
          out += buf;
        }
        break;
      case 'f':
      case 'g':
      case 'e':
        std::snprintf(buf, sizeof buf, (spec + verb).c_str(), real(a));
        out += buf;
        break;
      default:
        throw TemplateFault(std::string("printf: unsupported verb %") + verb);
    }
  }
  if (next != args.size()) throw TemplateFault("printf: more arguments than verbs");
  return out;
}

Json dict_get(const Json& m, const Json& key) {
  if (m.is_object()) {
    auto it = m.find(str(key, "map key"));
    return it == m.end() ? Json() : *it;
  }
  if (m.is_array()) {
    const long long i = integer(key, "list index");
    if (i < 0 || static_cast<size_t>(i) >= m.size()) throw TemplateFault("index " + std::to_string(i) + " out of range");
    return m[static_cast<size_t>(i)];
  }
  if (m.is_null()) return nullptr;
  throw TemplateFault("cannot index " + template_kind(m));
}

}  // namespace

bool template_truth(const Json& v) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_float()) return v.get<double>() != 0;
  if (v.is_number()) return v.get<long long>() != 0;
  if (v.is_string()) return !v.get_ref<const std::string&>().empty();  // json::empty() is false for any string
  if (v.is_array() || v.is_object()) return !v.empty();
  return true;
}

std::string template_text(const Json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::trunc(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
    char buf[64];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, d);
    return ec == std::errc() ? std::string(buf, p) : v.dump();
  }
  if (v.is_number()) return v.dump();
  throw TemplateFault("cannot print " + template_kind(v) + " as text: pipe it through toYaml or toJson");
}

std::string template_kind(const Json& v) {
  if (v.is_object()) return "a map";
  if (v.is_array()) return "a list";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  return "null";
}

std::map<std::string, TemplateFunction> builtin_template_functions() {
  std::map<std::string, TemplateFunction> f;

  // Strings.
  f["quote"] = [](Args& a) {
    std::string out;
    for (const auto& v : a) {
      if (v.is_null()) continue;  // as Sprig does: a missing value quotes to nothing
      if (!out.empty()) out += ' ';
      out += yaml::double_quoted(template_text(v));
    }
    return Json(out);
  };
  f["squote"] = [](Args& a) {
    std::string out;
    for (const auto& v : a) {
      if (v.is_null()) continue;
      if (!out.empty()) out += ' ';
      std::string s = template_text(v);
      std::string q = "'";
      for (char c : s) q += c == '\'' ? std::string("''") : std::string(1, c);  // YAML's single-quote escape
      out += q + "'";
    }
    return Json(out);
  };
  f["lower"] = [](Args& a) {
    arity(a, 1);
    std::string s = template_text(a[0]);
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return Json(s);
  };
  f["upper"] = [](Args& a) {
    arity(a, 1);
    std::string s = template_text(a[0]);
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
    return Json(s);
  };
  f["trim"] = [](Args& a) {
    arity(a, 1);
    const std::string s = template_text(a[0]);
    const size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return Json("");
    return Json(s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1));
  };
  f["trimSuffix"] = [](Args& a) {
    arity(a, 2);
    const std::string& suffix = str(a[0]);
    std::string s = template_text(a[1]);
    if (s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0) {
      s.resize(s.size() - suffix.size());
    }
    return Json(s);
  };
  f["trimPrefix"] = [](Args& a) {
    arity(a, 2);
    const std::string& prefix = str(a[0]);
    std::string s = template_text(a[1]);
    if (s.rfind(prefix, 0) == 0) s.erase(0, prefix.size());
    return Json(s);
  };
  f["replace"] = [](Args& a) {
    arity(a, 3);
    const std::string& from = str(a[0]);
    const std::string& to = str(a[1]);
    std::string s = template_text(a[2]);
    if (from.empty()) return Json(s);
    std::string out;
    size_t pos = 0, hit;
    while ((hit = s.find(from, pos)) != std::string::npos) {
      out += s.substr(pos, hit - pos) + to;
      pos = hit + from.size();
    }
    return Json(out + s.substr(pos));
  };
  f["contains"] = [](Args& a) {
    arity(a, 2);
    return Json(template_text(a[1]).find(str(a[0])) != std::string::npos);
  };
  f["hasPrefix"] = [](Args& a) {
    arity(a, 2);
    return Json(template_text(a[1]).rfind(str(a[0]), 0) == 0);
  };
  f["hasSuffix"] = [](Args& a) {
    arity(a, 2);
    const std::string s = template_text(a[1]);
    const std::string& suffix = str(a[0]);
    return Json(s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0);
  };
  f["printf"] = [](Args& a) {
    arity(a, 1, SIZE_MAX);
    return Json(go_printf(str(a[0], "format"), a, 1));
  };
  f["print"] = [](Args& a) {
    // fmt.Sprint: a space between operands when neither is a string.
    std::string out;
    for (size_t i = 0; i < a.size(); ++i) {
      if (i > 0 && !a[i].is_string() && !a[i - 1].is_string()) out += ' ';
      out += a[i].is_object() || a[i].is_array() ? a[i].dump() : template_text(a[i]);
    }
    return Json(out);
  };
  f["toString"] = [](Args& a) {
    arity(a, 1);
    return Json(a[0].is_object() || a[0].is_array() ? a[0].dump() : template_text(a[0]));
  };
  f["indent"] = [](Args& a) {
    arity(a, 2);
    return Json(indent_lines(integer(a[0], "indent width"), template_text(a[1])));
  };
  f["nindent"] = [](Args& a) {
    arity(a, 2);
    return Json("\n" + indent_lines(integer(a[0], "indent width"), template_text(a[1])));
  };
  f["b64enc"] = [](Args& a) {
    arity(a, 1);
    return Json(base64_encode(template_text(a[0])));
  };
  f["b64dec"] = [](Args& a) {
    arity(a, 1);
    return Json(base64_decode(str(a[0])));
  };
  f["sha256sum"] = [](Args& a) {
    arity(a, 1);
    return Json(sha256_hex(template_text(a[0])));
  };
  f["splitList"] = [](Args& a) {
    arity(a, 2);
    const std::string& sep = str(a[0], "separator");
    const std::string s = template_text(a[1]);
    Json out = Json::array();
    if (sep.empty()) throw TemplateFault("separator must not be empty");
    size_t pos = 0, hit;
    while ((hit = s.find(sep, pos)) != std::string::npos) {
      out.push_back(s.substr(pos, hit - pos));
      pos = hit + sep.size();
    }
    out.push_back(s.substr(pos));
    return out;
  };
  f["join"] = [](Args& a) {
    arity(a, 2);
    const std::string& sep = str(a[0], "separator");
    if (!a[1].is_array()) throw TemplateFault("second argument must be a list, not " + template_kind(a[1]));
    std::string out;
    for (size_t i = 0; i < a[1].size(); ++i) {
      if (i) out += sep;
      out += template_text(a[1][i]);
    }
    return Json(out);
  };
  f["repeat"] = [](Args& a) {
    arity(a, 2);
    const long long n = integer(a[0]);
    if (n < 0 || n > 10000) throw TemplateFault("count out of range");
    std::string out;
    for (long long i = 0; i < n; ++i) out += template_text(a[1]);
    return Json(out);
  };

  // Values.
  f["default"] = [](Args& a) {
    arity(a, 1, 2);
    if (a.size() == 1) return a[0];  // `x | default` with x missing: Sprig returns the default
    return template_truth(a[1]) ? a[1] : a[0];
  };
  f["empty"] = [](Args& a) {
    arity(a, 1);
    return Json(!template_truth(a[0]));
  };
  f["coalesce"] = [](Args& a) {
    for (const auto& v : a) {
      if (template_truth(v)) return v;
    }
    return Json();
  };
  f["required"] = [](Args& a) {
    arity(a, 2);
    if (a[1].is_null() || (a[1].is_string() && a[1].get_ref<const std::string&>().empty())) {
      throw TemplateFault(str(a[0], "message"));
    }
    return a[1];
  };
  f["fail"] = [](Args& a) -> Json {
    arity(a, 1);
    throw TemplateFault(template_text(a[0]));
  };
  f["ternary"] = [](Args& a) {
    arity(a, 3);
    return template_truth(a[2]) ? a[0] : a[1];
  };
  f["toYaml"] = [](Args& a) {
    arity(a, 1);
    std::string y = yaml::to_yaml(a[0]);
    while (!y.empty() && y.back() == '\n') y.pop_back();
    return Json(y);
  };
  f["toJson"] = [](Args& a) {
    arity(a, 1);
    return Json(a[0].dump());
  };
  f["list"] = [](Args& a) { return Json(a); };
  f["dict"] = [](Args& a) {
    if (a.size() % 2) throw TemplateFault("wants key and value pairs");
    Json m = Json::object();
    for (size_t i = 0; i < a.size(); i += 2) m[str(a[i], "key")] = a[i + 1];
    return m;
  };
  f["hasKey"] = [](Args& a) {
    arity(a, 2);
    if (!a[0].is_object()) throw TemplateFault("first argument must be a map, not " + template_kind(a[0]));
    return Json(a[0].contains(str(a[1], "key")));
  };
  f["keys"] = [](Args& a) {
    arity(a, 1);
    if (!a[0].is_object()) throw TemplateFault("argument must be a map, not " + template_kind(a[0]));
    std::vector<std::string> ks;
    for (auto it = a[0].begin(); it != a[0].end(); ++it) ks.push_back(it.key());
    std::sort(ks.begin(), ks.end());
    return Json(ks);
  };
  f["index"] = [](Args& a) {
    arity(a, 1, SIZE_MAX);
    Json v = a[0];
    for (size_t i = 1; i < a.size(); ++i) v = dict_get(v, a[i]);
    return v;
  };
  f["len"] = [](Args& a) {
    arity(a, 1);
    if (a[0].is_string()) return Json(a[0].get_ref<const std::string&>().size());
    if (a[0].is_array() || a[0].is_object()) return Json(a[0].size());
    if (a[0].is_null()) return Json(0);
    throw TemplateFault("len of " + template_kind(a[0]));
  };
  f["until"] = [](Args& a) {
    arity(a, 1);
    const long long n = integer(a[0]);
    if (n > 100000) throw TemplateFault("count too large");
    Json out = Json::array();
    for (long long i = 0; i < n; ++i) out.push_back(i);
    return out;
  };
  f["int"] = [](Args& a) {
    arity(a, 1);
    return Json(integer(a[0]));
  };
  f["float64"] = [](Args& a) {
    arity(a, 1);
    if (a[0].is_string()) {
      try {
        size_t used = 0;
        const double d = std::stod(a[0].get<std::string>(), &used);
        if (used == a[0].get_ref<const std::string&>().size()) return Json(d);
      } catch (const std::exception&) {
      }
      throw TemplateFault("not a number: " + a[0].dump());
    }
    return Json(real(a[0]));
  };
  f["kindIs"] = [](Args& a) {
    arity(a, 2);
    const std::string& kind = str(a[0], "kind");
    const Json& v = a[1];
    const std::string actual = v.is_object()                 ? "map"
                               : v.is_array()                ? "slice"
                               : v.is_string()               ? "string"
                               : v.is_boolean()              ? "bool"
                               : v.is_number_float()         ? "float64"
                               : v.is_number()               ? "int64"
                                                             : "invalid";
    return Json(kind == actual || (kind == "int" && actual == "int64"));
  };

  // Logic (and / or are in the engine: they are lazy).
  f["not"] = [](Args& a) {
    arity(a, 1);
    return Json(!template_truth(a[0]));
  };
  f["eq"] = [](Args& a) {
    arity(a, 2, SIZE_MAX);
    for (size_t i = 1; i < a.size(); ++i) {
      if (equal(a[0], a[i])) return Json(true);
    }
    return Json(false);
  };
  f["ne"] = [](Args& a) {
    arity(a, 2);
    return Json(!equal(a[0], a[1]));
  };
  f["lt"] = [](Args& a) {
    arity(a, 2);
    return Json(compare(a[0], a[1]) < 0);
  };
  f["le"] = [](Args& a) {
    arity(a, 2);
    return Json(compare(a[0], a[1]) <= 0);
  };
  f["gt"] = [](Args& a) {
    arity(a, 2);
    return Json(compare(a[0], a[1]) > 0);
  };
  f["ge"] = [](Args& a) {
    arity(a, 2);
    return Json(compare(a[0], a[1]) >= 0);
  };

  // Integer arithmetic, as Sprig's add/sub/mul/div/mod/max/min.
  auto arith = [](auto op) {
    return [op](Args& a) {
      arity(a, 2, SIZE_MAX);
      long long acc = integer(a[0]);
      for (size_t i = 1; i < a.size(); ++i) acc = op(acc, integer(a[i]));
      return Json(acc);
    };
  };
  f["add"] = arith([](long long x, long long y) { return x + y; });
  f["sub"] = arith([](long long x, long long y) { return x - y; });
  f["mul"] = arith([](long long x, long long y) { return x * y; });
  f["div"] = arith([](long long x, long long y) {
    if (y == 0) throw TemplateFault("division by zero");
    return x / y;
  });
  f["mod"] = arith([](long long x, long long y) {
    if (y == 0) throw TemplateFault("division by zero");
    return x % y;
  });
  f["max"] = arith([](long long x, long long y) { return std::max(x, y); });
  f["min"] = arith([](long long x, long long y) { return std::min(x, y); });
  return f;
}

}  // namespace meshctl::core::render

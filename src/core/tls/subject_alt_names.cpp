#include "core/tls/subject_alt_names.h"

namespace meshctl::core::tls {

std::string SubjectAltNames::to_string() const {
  std::string out;
  auto add = [&](const char* prefix, const std::vector<std::string>& values) {
    for (const auto& v : values) {
      if (!out.empty()) out += ", ";
      out += prefix;
      out += v;
    }
  };
  add("DNS:", dns);
  add("IP:", ip);
  add("email:", email);
  add("URI:", uri);
  add("", other);
  return out;
}

}  // namespace meshctl::core::tls

#include "core/tls/openssl_error.h"

#include <openssl/err.h>

#include "core/error.h"

namespace meshctl::core::tls {

std::string take_openssl_errors() {
  std::string out;
  const char* data = nullptr;
  int flags = 0;
  while (unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    std::string line;
    if (const char* reason = ERR_reason_error_string(code)) {
      line = reason;
    } else {
      char buf[256];
      ERR_error_string_n(code, buf, sizeof buf);
      line = buf;
    }
    // Extra data often names the very thing that was wrong (a file, a curve, a field).
    if (data != nullptr && (flags & ERR_TXT_STRING) != 0 && *data != '\0') {
      line += " (";
      line += data;
      line += ")";
    }
    if (!out.empty()) out += "; ";
    out += line;
  }
  return out;
}

void clear_openssl_errors() { ERR_clear_error(); }

void throw_openssl_error(std::string_view what) {
  std::string message(what);
  const std::string details = take_openssl_errors();
  if (!details.empty()) message += ": " + details;
  throw Error(std::move(message));
}

}  // namespace meshctl::core::tls

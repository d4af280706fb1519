#include "core/tls/describe.h"

namespace meshctl::core::tls {

CertificateDescription describe(const Certificate& cert) {
  CertificateDescription d;
  d.subject = cert.subject();
  d.issuer = cert.issuer();
  d.serial = cert.serial().hex();
  d.not_before = cert.not_before();
  d.not_after = cert.not_after();
  d.subject_alt_names = cert.subject_alt_names();
  d.is_ca = cert.is_ca();
  d.path_length = cert.path_length();
  d.self_signed = cert.is_self_signed();
  d.key_type = cert.public_key().type_name();
  d.sha256_fingerprint = cert.sha256_fingerprint();
  return d;
}

std::string render(const CertificateDescription& d) {
  std::string out;
  auto line = [&](std::string_view label, std::string_view value) {
    out += label;
    out.append(14 - label.size(), ' ');
    out += value;
    out += '\n';
  };
  line("Subject:", d.subject.empty() ? "(empty)" : d.subject);
  line("Issuer:", d.issuer.empty() ? "(empty)" : d.issuer);
  line("Serial:", d.serial);
  line("Not Before:", format_rfc3339(d.not_before));
  line("Not After:", format_rfc3339(d.not_after));
  std::string ca = d.is_ca ? "yes" : "no";
  if (d.path_length) ca += ", path length " + std::to_string(*d.path_length);
  if (d.self_signed) ca += " (self-signed)";
  line("CA:", ca);
  line("Key Type:", d.key_type);
  const SubjectAltNames& s = d.subject_alt_names;
  std::vector<std::string> sans;
  for (const auto& v : s.dns) sans.push_back("DNS:" + v);
  for (const auto& v : s.ip) sans.push_back("IP:" + v);
  for (const auto& v : s.email) sans.push_back("email:" + v);
  for (const auto& v : s.uri) sans.push_back("URI:" + v);
  for (const auto& v : s.other) sans.push_back(v);
  if (sans.empty()) {
    line("SANs:", "(none)");
  } else {
    for (std::size_t i = 0; i < sans.size(); ++i) line(i == 0 ? "SANs:" : "", sans[i]);
  }
  line("SHA-256:", d.sha256_fingerprint);
  return out;
}

}  // namespace meshctl::core::tls

#pragma once
// The subjectAltName entries of a certificate or CSR, by kind. The identity service must refuse
// a CSR with anything but exactly one DNS name, so kinds we never issue are still reported.

#include <cstddef>
#include <string>
#include <vector>

namespace meshctl::core::tls {

struct SubjectAltNames {
  std::vector<std::string> dns;    // dNSName
  std::vector<std::string> ip;     // iPAddress, as text ("10.0.0.1", "::1")
  std::vector<std::string> email;  // rfc822Name
  std::vector<std::string> uri;    // uniformResourceIdentifier
  // Any other kind (otherName, directoryName, registeredID, ...), described as "<kind>".
  std::vector<std::string> other;

  std::size_t size() const { return dns.size() + ip.size() + email.size() + uri.size() + other.size(); }
  bool empty() const { return size() == 0; }
  // Every entry as OpenSSL prints them: "DNS:a, URI:spiffe://..., IP:10.0.0.1". Empty when none.
  std::string to_string() const;
};

}  // namespace meshctl::core::tls

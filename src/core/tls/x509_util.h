#pragma once
// Internal to core/tls: conversions between OpenSSL's X.509 structures and ours that several
// files share. Not part of the API.

#include <string>
#include <string_view>
#include <vector>

#include "core/tls/bytes.h"
#include "core/tls/handles.h"
#include "core/tls/subject_alt_names.h"
#include "core/tls/validity.h"

namespace meshctl::core::tls::detail {

// RFC 2253 text of a name; empty for an empty name.
std::string name_to_string(const X509_NAME* name);
// The first commonName of a name, UTF-8; empty when there is none.
std::string common_name_of(const X509_NAME* name);
// A name holding only CN = `cn`, or an empty name when `cn` is empty. Throws core::Error when
// `cn` is longer than the 64 characters X.520 allows.
X509NamePtr name_with_common_name(std::string_view cn);

SubjectAltNames parse_general_names(const GENERAL_NAMES* names);

// A GENERAL_NAMES of DNS names, then IP addresses, then URIs. Throws core::Error naming `what`
// for an empty or malformed entry.
GeneralNamesPtr make_general_names(std::string_view what, const std::vector<std::string>& dns,
                                   const std::vector<std::string>& ip, const std::vector<std::string>& uri);

Time asn1_time_to_time(const ASN1_TIME* t);
// UTCTime through 2049 and GeneralizedTime from 2050, as RFC 5280 requires.
Asn1TimePtr time_to_asn1(Time t);

// The digest to sign with for `key`: none for Ed25519/Ed448, SHA-256 otherwise.
const EVP_MD* signing_digest(const EVP_PKEY* key);

// A fresh memory BIO; throws core::Error on allocation failure.
BioPtr memory_bio();
// A read-only memory BIO over `data` (which must outlive it).
BioPtr memory_bio(ByteView data);
// Everything written to a memory BIO.
std::string bio_text(BIO* bio);

}  // namespace meshctl::core::tls::detail

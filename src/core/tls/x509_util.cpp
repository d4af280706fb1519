#include "core/tls/x509_util.h"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>

#include "core/error.h"
#include "core/tls/openssl_error.h"

namespace meshctl::core::tls::detail {

namespace {

std::string asn1_string_text(const ASN1_STRING* s) {
  if (s == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

std::size_t utf8_length(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

bool valid_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '*';
  });
}

bool valid_uri(std::string_view uri) {
  const auto colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  return std::all_of(uri.begin(), uri.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

GeneralNamePtr ia5_name(int type, std::string_view value) {
  GeneralNamePtr gen(GENERAL_NAME_new());
  ASN1_IA5STRING* str = ASN1_IA5STRING_new();
  if (!gen || str == nullptr ||
      ASN1_STRING_set(str, value.data(), static_cast<int>(value.size())) != 1) {
    ASN1_IA5STRING_free(str);
    throw_openssl_error("building a subjectAltName entry");
  }
  GENERAL_NAME_set0_value(gen.get(), type, str);
  return gen;
}

void push(GENERAL_NAMES* names, GeneralNamePtr gen) {
  if (sk_GENERAL_NAME_push(names, gen.get()) == 0) throw_openssl_error("building subjectAltName");
  (void)gen.release();
}

}  // namespace

std::string name_to_string(const X509_NAME* name) {
  if (name == nullptr) return {};
  BioPtr bio = memory_bio();
  // RFC 2253 order and escaping, but UTF-8 left as is rather than \-escaped.
  if (X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
    throw_openssl_error("formatting a distinguished name");
  }
  return bio_text(bio.get());
}

std::string common_name_of(const X509_NAME* name) {
  if (name == nullptr) return {};
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) {
    clear_openssl_errors();
    return asn1_string_text(data);
  }
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

X509NamePtr name_with_common_name(std::string_view cn) {
  X509NamePtr name(X509_NAME_new());
  if (!name) throw_openssl_error("building a name");
  if (cn.empty()) return name;
  if (utf8_length(cn) > 64) {
    throw Error("common name \"" + std::string(cn) + "\" is longer than 64 characters");
  }
  if (X509_NAME_add_entry_by_NID(name.get(), NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.data()), static_cast<int>(cn.size()),
                                 -1, 0) != 1) {
    throw_openssl_error("common name \"" + std::string(cn) + "\"");
  }
  return name;
}

SubjectAltNames parse_general_names(const GENERAL_NAMES* names) {
  SubjectAltNames out;
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gen = sk_GENERAL_NAME_value(names, i);
    switch (gen->type) {
      case GEN_DNS: out.dns.push_back(asn1_string_text(gen->d.dNSName)); break;
      case GEN_URI: out.uri.push_back(asn1_string_text(gen->d.uniformResourceIdentifier)); break;
      case GEN_EMAIL: out.email.push_back(asn1_string_text(gen->d.rfc822Name)); break;
      case GEN_IPADD: {
        const std::string raw = asn1_string_text(gen->d.iPAddress);
        char text[INET6_ADDRSTRLEN] = {};
        if (raw.size() == 4 && inet_ntop(AF_INET, raw.data(), text, sizeof text) != nullptr) {
          out.ip.emplace_back(text);
        } else if (raw.size() == 16 && inet_ntop(AF_INET6, raw.data(), text, sizeof text) != nullptr) {
          out.ip.emplace_back(text);
        } else {
          out.other.emplace_back("IP address of " + std::to_string(raw.size()) + " bytes");
        }
        break;
      }
      case GEN_OTHERNAME: out.other.emplace_back("otherName"); break;
      case GEN_X400: out.other.emplace_back("x400Address"); break;
      case GEN_DIRNAME: out.other.emplace_back("directoryName:" + name_to_string(gen->d.directoryName)); break;
      case GEN_EDIPARTY: out.other.emplace_back("ediPartyName"); break;
      case GEN_RID: out.other.emplace_back("registeredID"); break;
      default: out.other.emplace_back("unknown name type " + std::to_string(gen->type)); break;
    }
  }
  return out;
}

GeneralNamesPtr make_general_names(std::string_view what, const std::vector<std::string>& dns,
                                   const std::vector<std::string>& ip, const std::vector<std::string>& uri) {
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (!names) throw_openssl_error("building subjectAltName");
  for (const auto& name : dns) {
    if (!valid_dns_name(name)) throw Error(std::string(what) + ": invalid DNS name \"" + name + "\"");
    push(names.get(), ia5_name(GEN_DNS, name));
  }
  for (const auto& address : ip) {
    ASN1_OCTET_STRING* octets = a2i_IPADDRESS(address.c_str());
    if (octets == nullptr) {
      clear_openssl_errors();
      throw Error(std::string(what) + ": invalid IP address \"" + address + "\"");
    }
    GeneralNamePtr gen(GENERAL_NAME_new());
    if (!gen) {
      ASN1_OCTET_STRING_free(octets);
      throw_openssl_error("building subjectAltName");
    }
    GENERAL_NAME_set0_value(gen.get(), GEN_IPADD, octets);
    push(names.get(), std::move(gen));
  }
  for (const auto& u : uri) {
    if (!valid_uri(u)) throw Error(std::string(what) + ": invalid URI \"" + u + "\"");
    push(names.get(), ia5_name(GEN_URI, u));
  }
  return names;
}

Time asn1_time_to_time(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) throw_openssl_error("reading a certificate time");
  using namespace std::chrono;
  const sys_days day = year{tm.tm_year + 1900} / month{static_cast<unsigned>(tm.tm_mon + 1)} /
                       std::chrono::day{static_cast<unsigned>(tm.tm_mday)};
  return Time(day + hours{tm.tm_hour} + minutes{tm.tm_min} + seconds{tm.tm_sec});
}

Asn1TimePtr time_to_asn1(Time t) {
  Asn1TimePtr out(ASN1_TIME_set(nullptr, static_cast<time_t>(to_unix_seconds(t))));
  if (!out) throw_openssl_error("certificate time " + format_rfc3339(t) + " cannot be encoded");
  return out;
}

const EVP_MD* signing_digest(const EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448")) return nullptr;
  return EVP_sha256();
}

BioPtr memory_bio() {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) throw_openssl_error("allocating a memory BIO");
  return bio;
}

BioPtr memory_bio(ByteView data) {
  if (data.size() > INT_MAX) throw Error("input of " + std::to_string(data.size()) + " bytes is too large");
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) throw_openssl_error("allocating a memory BIO");
  return bio;
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace meshctl::core::tls::detail

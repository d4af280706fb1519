#include "core/tls/csr.h"

#include <openssl/x509v3.h>

#include <algorithm>

#include "core/error.h"
#include "core/tls/openssl_error.h"
#include "core/tls/x509_util.h"

namespace meshctl::core::tls {

namespace {

struct ExtensionStackDeleter {
  void operator()(STACK_OF(X509_EXTENSION) * s) const noexcept { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); }
};
using ExtensionStackPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), ExtensionStackDeleter>;

X509ReqPtr duplicate(X509_REQ* req) {
  if (req == nullptr) return nullptr;
  X509ReqPtr copy(X509_REQ_dup(req));
  if (!copy) throw_openssl_error("copying a certificate request");
  return copy;
}

}  // namespace

CertificateRequest::CertificateRequest(X509ReqPtr req) : req_(std::move(req)) {
  if (!req_) throw Error("certificate request: no request");
}

CertificateRequest::CertificateRequest(const CertificateRequest& other) : req_(duplicate(other.req_.get())) {}

CertificateRequest& CertificateRequest::operator=(const CertificateRequest& other) {
  if (this != &other) req_ = duplicate(other.req_.get());
  return *this;
}

std::string CertificateRequest::subject() const {
  return detail::name_to_string(X509_REQ_get_subject_name(req_.get()));
}

std::string CertificateRequest::common_name() const {
  return detail::common_name_of(X509_REQ_get_subject_name(req_.get()));
}

SubjectAltNames CertificateRequest::subject_alt_names() const {
  ExtensionStackPtr exts(X509_REQ_get_extensions(req_.get()));
  if (!exts) {
    const bool has_request = X509_REQ_get_attr_by_NID(req_.get(), NID_ext_req, -1) >= 0 ||
                             X509_REQ_get_attr_by_NID(req_.get(), NID_ms_ext_req, -1) >= 0;
    if (has_request) throw_openssl_error("certificate request has a malformed extension request");
    clear_openssl_errors();
    return {};
  }
  int critical = -1;
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts.get(), NID_subject_alt_name, &critical, nullptr)));
  if (!names) {
    if (critical == -1) return {};
    throw_openssl_error(critical == -2 ? "certificate request has more than one subjectAltName extension"
                                       : "certificate request has a malformed subjectAltName extension");
  }
  return detail::parse_general_names(names.get());
}

PublicKey CertificateRequest::public_key() const {
  EvpPkeyPtr pkey(X509_REQ_get_pubkey(req_.get()));
  if (!pkey) throw_openssl_error("reading the certificate request's public key");
  return PublicKey(std::move(pkey));
}

bool CertificateRequest::verify_signature() const {
  EVP_PKEY* pkey = X509_REQ_get0_pubkey(req_.get());
  const bool ok = pkey != nullptr && X509_REQ_verify(req_.get(), pkey) == 1;
  clear_openssl_errors();
  return ok;
}

CertificateRequest create_csr(const PrivateKey& key, std::string_view dns_name, CsrSubject subject) {
  const std::string identity(dns_name);
  if (identity.empty()) throw Error("certificate request: a DNS name is required");
  const auto chars = std::count_if(identity.begin(), identity.end(),
                                   [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; });
  const bool with_cn = subject == CsrSubject::common_name && chars <= 64;
  const X509NamePtr name = detail::name_with_common_name(with_cn ? identity : std::string());
  const GeneralNamesPtr sans = detail::make_general_names("certificate request", {identity}, {}, {});

  X509ReqPtr req(X509_REQ_new());
  if (!req) throw_openssl_error("allocating a certificate request");
  if (X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_subject_name(req.get(), name.get()) != 1 || X509_REQ_set_pubkey(req.get(), key.native()) != 1) {
    throw_openssl_error("building a certificate request");
  }
  STACK_OF(X509_EXTENSION)* raw = nullptr;
  // An empty subject makes the SAN the only name, which RFC 5280 says must then be critical.
  const int added = X509V3_add1_i2d(&raw, NID_subject_alt_name, sans.get(), with_cn ? 0 : 1, X509V3_ADD_DEFAULT);
  ExtensionStackPtr exts(raw);
  if (added != 1 || X509_REQ_add_extensions(req.get(), exts.get()) != 1) {
    throw_openssl_error("adding subjectAltName to the certificate request");
  }
  if (X509_REQ_sign(req.get(), key.native(), detail::signing_digest(key.native())) <= 0) {
    throw_openssl_error("signing the certificate request with a " + key.type_name() + " key");
  }
  return CertificateRequest(std::move(req));
}

}  // namespace meshctl::core::tls

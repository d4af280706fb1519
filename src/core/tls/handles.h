#pragma once
// Owning pointers for the raw OpenSSL objects the TLS code touches. Each frees with the matching
// OpenSSL function, so a throw anywhere between allocation and hand-off leaks nothing.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace meshctl::core::tls {

template <auto Free>
struct OpensslDeleter {
  template <typename T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpensslDeleter<&EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpensslDeleter<&EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpensslDeleter<&EVP_MD_CTX_free>>;
using EvpKdfPtr = std::unique_ptr<EVP_KDF, OpensslDeleter<&EVP_KDF_free>>;
using EvpKdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, OpensslDeleter<&EVP_KDF_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, OpensslDeleter<&X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OpensslDeleter<&X509_REQ_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OpensslDeleter<&X509_NAME_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpensslDeleter<&X509_EXTENSION_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpensslDeleter<&X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpensslDeleter<&X509_STORE_CTX_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpensslDeleter<&GENERAL_NAMES_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, OpensslDeleter<&GENERAL_NAME_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OpensslDeleter<&ASN1_INTEGER_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, OpensslDeleter<&ASN1_TIME_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpensslDeleter<&BN_free>>;
using BioPtr = std::unique_ptr<BIO, OpensslDeleter<&BIO_free_all>>;

// A STACK_OF(X509) that owns its certificates (freed with X509_free).
struct X509StackDeleter {
  void operator()(STACK_OF(X509) * s) const noexcept;
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;

// A STACK_OF(X509) that only borrows its certificates: for handing intermediates to
// X509_STORE_CTX_init without taking new references.
struct X509BorrowedStackDeleter {
  void operator()(STACK_OF(X509) * s) const noexcept;
};
using X509BorrowedStackPtr = std::unique_ptr<STACK_OF(X509), X509BorrowedStackDeleter>;

}  // namespace meshctl::core::tls

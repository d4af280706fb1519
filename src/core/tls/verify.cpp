#include "core/tls/verify.h"

#include <openssl/x509_vfy.h>

#include <algorithm>

#include "core/error.h"
#include "core/tls/openssl_error.h"

namespace meshctl::core::tls {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    return lower(x) == lower(y);
  });
}

VerifyResult explain(int error, int depth, X509* cert, Time at) {
  VerifyResult r;
  r.depth = depth;
  std::optional<Certificate> current;
  if (cert != nullptr && X509_up_ref(cert) == 1) current.emplace(X509Ptr(cert));
  std::string who = "certificate \"(unknown)\"";
  if (current) {
    const std::string subject = current->subject();
    who = "certificate \"" + (subject.empty() ? std::string("(empty subject)") : subject) + "\"";
  }
  switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      r.status = VerifyStatus::expired;
      r.reason = who + " expired at " + (current ? format_rfc3339(current->not_after()) : "?") + " (checked at " +
                 format_rfc3339(at) + ")";
      break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      r.status = VerifyStatus::not_yet_valid;
      r.reason = who + " is not valid until " + (current ? format_rfc3339(current->not_before()) : "?") +
                 " (checked at " + format_rfc3339(at) + ")";
      break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      r.status = VerifyStatus::unknown_issuer;
      r.reason = "unknown issuer: neither the trust anchors nor the intermediates hold the issuer \"" +
                 (current ? current->issuer() : std::string("?")) + "\" of " + who;
      break;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      r.status = VerifyStatus::unknown_issuer;
      r.reason = "unknown issuer: " + who + " is self-signed and not one of the trust anchors";
      break;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      r.status = VerifyStatus::unknown_issuer;
      r.reason = "unknown issuer: the chain ends in self-signed " + who + ", which is not one of the trust anchors";
      break;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
      r.status = VerifyStatus::bad_signature;
      r.reason = "the signature of " + who + " does not verify with its issuer's key";
      break;
    case X509_V_ERR_INVALID_CA:
      r.status = VerifyStatus::invalid_ca;
      r.reason = who + " issues certificates but is not a CA";
      break;
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
      r.status = VerifyStatus::invalid_ca;
      r.reason = who + " issues certificates but its key usage does not allow keyCertSign";
      break;
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
      r.status = VerifyStatus::invalid_ca;
      r.reason = "the chain is longer than the path length constraint of " + who + " allows";
      break;
    default:
      r.status = VerifyStatus::other;
      r.reason = who + ": " + X509_verify_cert_error_string(error);
      break;
  }
  return r;
}

}  // namespace

VerifyResult verify_certificate(const Certificate& leaf, std::span<const Certificate> intermediates,
                                std::span<const Certificate> trust_anchors, const VerifyOptions& options) {
  if (trust_anchors.empty()) {
    return {VerifyStatus::unknown_issuer, "unknown issuer: there are no trust anchors", -1};
  }
  X509StorePtr store(X509_STORE_new());
  if (!store) throw_openssl_error("verifying a certificate: allocating a store");
  for (const auto& anchor : trust_anchors) {
    if (X509_STORE_add_cert(store.get(), anchor.native()) != 1) {
      throw_openssl_error("verifying a certificate: adding a trust anchor");
    }
  }
  X509BorrowedStackPtr chain(sk_X509_new_null());
  if (!chain) throw_openssl_error("verifying a certificate: allocating a stack");
  for (const auto& cert : intermediates) {
    if (sk_X509_push(chain.get(), cert.native()) == 0) throw_openssl_error("verifying a certificate");
  }
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf.native(), chain.get()) != 1) {
    throw_openssl_error("verifying a certificate: setting up");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(to_unix_seconds(options.at)));
  if (options.allow_partial_chain) X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);

  const int rc = X509_verify_cert(ctx.get());
  if (rc != 1) {
    const int error = X509_STORE_CTX_get_error(ctx.get());
    VerifyResult r = explain(error, X509_STORE_CTX_get_error_depth(ctx.get()),
                             X509_STORE_CTX_get_current_cert(ctx.get()), options.at);
    // A failure before any check ran (rc < 0) leaves no verify error, only the queue.
    const std::string queued = take_openssl_errors();
    if (error == X509_V_OK) r.reason = "certificate verification failed" + (queued.empty() ? "" : ": " + queued);
    return r;
  }
  clear_openssl_errors();

  if (options.dns_name) {
    const SubjectAltNames sans = leaf.subject_alt_names();
    const bool found = std::any_of(sans.dns.begin(), sans.dns.end(),
                                   [&](const std::string& n) { return iequals(n, *options.dns_name); });
    if (!found) {
      std::string has;
      for (const auto& n : sans.dns) has += (has.empty() ? "" : ", ") + n;
      return {VerifyStatus::name_mismatch,
              "certificate \"" + leaf.subject() + "\" is not valid for DNS name \"" + *options.dns_name + "\" (" +
                  (has.empty() ? std::string("it has no DNS names") : "its DNS names: " + has) + ")",
              0};
    }
  }
  return {VerifyStatus::ok, {}, -1};
}

void require_valid_certificate(std::string_view what, const Certificate& leaf,
                               std::span<const Certificate> intermediates, std::span<const Certificate> trust_anchors,
                               const VerifyOptions& options) {
  const VerifyResult r = verify_certificate(leaf, intermediates, trust_anchors, options);
  if (!r.ok()) throw Error(std::string(what) + ": " + r.reason);
}

std::string_view to_string(VerifyStatus status) {
  switch (status) {
    case VerifyStatus::ok: return "ok";
    case VerifyStatus::expired: return "expired";
    case VerifyStatus::not_yet_valid: return "not yet valid";
    case VerifyStatus::unknown_issuer: return "unknown issuer";
    case VerifyStatus::bad_signature: return "bad signature";
    case VerifyStatus::invalid_ca: return "invalid CA";
    case VerifyStatus::name_mismatch: return "name mismatch";
    case VerifyStatus::other: return "other";
  }
  return "other";
}

}  // namespace meshctl::core::tls

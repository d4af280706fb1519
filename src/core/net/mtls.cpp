#include "core/net/mtls.h"

#include <openssl/x509v3.h>

#include "core/tls/certificate.h"

namespace meshctl::core::net {
namespace {

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                void* arg) {
  const auto* supported = static_cast<const std::vector<std::string>*>(arg);
  for (const auto& want : *supported) {
    for (unsigned i = 0; i < inlen;) {
      const unsigned len = in[i];
      if (i + 1 + len > inlen) break;
      if (std::string_view(reinterpret_cast<const char*>(in + i + 1), len) == want) {
        *out = in + i + 1;
        *outlen = static_cast<unsigned char>(len);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + len;
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

bool configure_client(SSL* ssl, const std::string& identity, const std::vector<std::string>& alpn) {
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set1_host(ssl, identity.c_str()) != 1) return false;
  if (SSL_set_tlsext_host_name(ssl, identity.c_str()) != 1) return false;
  std::string wire;
  for (const auto& p : alpn) {
    wire += static_cast<char>(p.size());
    wire += p;
  }
  // SSL_set_alpn_protos returns 0 on success.
  if (!wire.empty() &&
      SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()), static_cast<unsigned>(wire.size())) != 0) {
    return false;
  }
  return true;
}

void enable_alpn(SSL_CTX* ctx, const std::vector<std::string>* supported) {
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, const_cast<std::vector<std::string>*>(supported));
}

std::string peer_identity(const SSL* ssl) {
  X509* peer = SSL_get0_peer_certificate(ssl);
  if (!peer) return {};
  X509_up_ref(peer);
  const tls::Certificate cert{tls::X509Ptr(peer)};
  const auto sans = cert.subject_alt_names();
  return sans.dns.empty() ? std::string() : sans.dns.front();
}

std::string selected_alpn(const SSL* ssl) {
  const unsigned char* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl, &p, &len);
  return p ? std::string(reinterpret_cast<const char*>(p), len) : std::string();
}

}  // namespace meshctl::core::net

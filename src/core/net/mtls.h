#pragma once
// The OpenSSL side of the mesh's mutual TLS, kept free of Asio so it compiles fast and can be
// tested alone: what a client demands of the server it dials, what a server learns of its client.

#include <openssl/ssl.h>

#include <string>
#include <string_view>
#include <vector>

namespace meshctl::core::net {

// Client side, before the handshake: the server must prove exactly `identity` (a DNS SAN),
// SNI names it so the peer's inbound listener knows the TLS is for its proxy, and ALPN offers
// `alpn`. Returns false when OpenSSL refuses a setting.
bool configure_client(SSL* ssl, const std::string& identity, const std::vector<std::string>& alpn);

// Server side: answer ALPN with the first of `supported` the client offers, and no ALPN when
// none matches. Idempotent per context; `supported` must outlive the context.
void enable_alpn(SSL_CTX* ctx, const std::vector<std::string>* supported);

// After the handshake: the peer certificate's first DNS SAN (the mesh identity), or empty.
std::string peer_identity(const SSL* ssl);
// The protocol ALPN settled on, or empty.
std::string selected_alpn(const SSL* ssl);

}  // namespace meshctl::core::net

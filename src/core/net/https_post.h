#pragma once
// One blocking HTTPS POST to a mesh control-plane service whose certificate names an identity
// rather than the address dialled (the identity service is reached at
// meshctl-identity-headless...svc but proves meshctl-identity...serviceaccount.identity...).
// Used off the hot path: certificate renewals and operator tools.

#include <chrono>
#include <string>

#include "core/tls/certificate.h"

namespace meshctl::core::net {

struct HttpsPostRequest {
  std::string address;      // "host:port"
  std::string server_name;  // the identity the server's certificate must carry as a DNS SAN
  core::tls::CertificateBundle trust_anchors;
  std::string path;
  std::string body;
  std::string content_type = "application/json";
  std::chrono::milliseconds timeout{10000};
  std::size_t max_response_bytes = 1024 * 1024;
};

struct HttpsPostResponse {
  int status = 0;
  std::string body;
};

// Throws core::Error naming the address on connection, TLS (including a server that does not
// prove `server_name` under the anchors) or protocol failure. Any HTTP status is a response.
HttpsPostResponse https_post(const HttpsPostRequest& request);

}  // namespace meshctl::core::net

#pragma once
// `meshctl identity`: the mesh's certificate authority as a service. HTTPS on the certify port
// with a certificate for its own identity, plain HTTP admin (/ready, /live, /metrics).

#include <chrono>
#include <memory>
#include <string>

#include "controlplane/identity/certifier.h"
#include "controlplane/identity/issuer_store.h"
#include "core/identity/token_validator.h"

namespace meshctl::controlplane::identity {

struct IdentityServerOptions {
  std::string listen_addr = "0.0.0.0:8080";
  std::string admin_addr = "0.0.0.0:9990";
  IssuerFiles issuer_files;
  CertifierOptions certifier;
  // Its own identity; empty means meshctl-identity.<mesh-ns>.serviceaccount.identity.<mesh-ns>.<td>.
  std::string self_identity;
  std::size_t max_body_bytes = 32 * 1024;
  // How often the issuer files are checked for a new issuer.
  std::chrono::milliseconds reload_interval{2000};
};

// Serves until SIGTERM or SIGINT, then returns 0. Throws core::Error when it cannot start
// (issuer files, addresses).
int run_identity_server(const IdentityServerOptions& options, std::unique_ptr<core::identity::TokenValidator> tokens);

}  // namespace meshctl::controlplane::identity

#pragma once
// Loading certificates and keys from files an operator names on the command line. Errors name
// the file as given and the problem: `issuer.key: not a PEM private key`,
// `ca.crt: cannot read file (No such file or directory)`.

#include <filesystem>
#include <string_view>

#include "core/tls/certificate.h"
#include "core/tls/csr.h"
#include "core/tls/key.h"

namespace meshctl::core::tls {

// Exactly one PEM certificate.
Certificate load_certificate_file(const std::filesystem::path& path);
// One or more PEM certificates.
CertificateBundle load_bundle_file(const std::filesystem::path& path);
// A PEM private key (PKCS#8 or traditional, unencrypted).
PrivateKey load_private_key_file(const std::filesystem::path& path);
// A PEM CSR.
CertificateRequest load_csr_file(const std::filesystem::path& path);

// Writes `contents` to `path`, replacing it. `secret` files (private keys) are created with
// mode 0600 before anything is written to them.
void write_pem_file(const std::filesystem::path& path, std::string_view contents, bool secret);

}  // namespace meshctl::core::tls

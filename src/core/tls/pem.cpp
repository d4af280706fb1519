#include "core/tls/pem.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <climits>

#include "core/error.h"
#include "core/tls/crypto_util.h"
#include "core/tls/openssl_error.h"
#include "core/tls/x509_util.h"

namespace meshctl::core::tls {

namespace {

struct OpensslFree {
  void operator()(void* p) const noexcept { OPENSSL_free(p); }
};

// One "-----BEGIN <label>-----" block, base64 decoded. The bytes may be a private key, so they
// are wiped when the block goes away.
struct PemBlock {
  std::string label;
  Bytes der;
  bool encrypted = false;  // traditional "Proc-Type: 4,ENCRYPTED" headers

  PemBlock() = default;
  PemBlock(PemBlock&&) noexcept = default;
  PemBlock& operator=(PemBlock&&) noexcept = default;
  ~PemBlock() {
    if (!der.empty()) OPENSSL_cleanse(der.data(), der.size());
  }
};

std::string src(std::string_view source) { return std::string(source); }

bool blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

// Every PEM block of `text` in order. Text outside blocks is skipped, as OpenSSL's tools do;
// a block that starts but is broken is an error naming its position.
std::vector<PemBlock> read_pem_blocks(std::string_view text, std::string_view source) {
  std::vector<PemBlock> blocks;
  const BioPtr bio = detail::memory_bio(as_bytes(text));
  clear_openssl_errors();
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    const int ok = PEM_read_bio(bio.get(), &name, &header, &data, &len);
    const std::unique_ptr<char, OpensslFree> name_owner(name);
    const std::unique_ptr<char, OpensslFree> header_owner(header);
    const auto wipe = [len](unsigned char* p) {
      OPENSSL_clear_free(p, static_cast<std::size_t>(len > 0 ? len : 0));
    };
    const std::unique_ptr<unsigned char, decltype(wipe)> data_owner(data, wipe);
    if (ok != 1) {
      const unsigned long e = ERR_peek_last_error();
      if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
        clear_openssl_errors();
        break;
      }
      throw_openssl_error(src(source) + ": malformed PEM block " + std::to_string(blocks.size() + 1));
    }
    PemBlock block;
    block.label = name;
    block.der.assign(data, data + len);
    block.encrypted = header != nullptr && std::string_view(header).find("ENCRYPTED") != std::string_view::npos;
    blocks.push_back(std::move(block));
  }
  return blocks;
}

std::string describe_labels(const std::vector<PemBlock>& blocks) {
  std::string out;
  for (const auto& b : blocks) out += (out.empty() ? "" : ", ") + b.label;
  return out;
}

X509Ptr parse_x509(ByteView der, std::string& problem) {
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) {
    problem = take_openssl_errors();
    return nullptr;
  }
  if (p != der.data() + der.size()) {
    problem = "trailing bytes after the certificate";
    return nullptr;
  }
  clear_openssl_errors();
  return cert;
}

X509ReqPtr parse_x509_req(ByteView der, std::string& problem) {
  const unsigned char* p = der.data();
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (!req) {
    problem = take_openssl_errors();
    return nullptr;
  }
  if (p != der.data() + der.size()) {
    problem = "trailing bytes after the certificate request";
    return nullptr;
  }
  clear_openssl_errors();
  return req;
}

EvpPkeyPtr parse_private_key(std::string_view label, ByteView der, std::string& problem) {
  const unsigned char* p = der.data();
  const auto len = static_cast<long>(der.size());
  EvpPkeyPtr key;
  if (label == "PRIVATE KEY") {
    std::unique_ptr<PKCS8_PRIV_KEY_INFO, OpensslDeleter<&PKCS8_PRIV_KEY_INFO_free>> info(
        d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, len));
    if (info) key.reset(EVP_PKCS82PKEY(info.get()));
  } else if (label == "EC PRIVATE KEY") {
    key.reset(d2i_PrivateKey(EVP_PKEY_EC, nullptr, &p, len));
  } else if (label == "RSA PRIVATE KEY") {
    key.reset(d2i_PrivateKey(EVP_PKEY_RSA, nullptr, &p, len));
  } else {
    // DER carries no label: PKCS#8 or any traditional form.
    key.reset(d2i_AutoPrivateKey(nullptr, &p, len));
  }
  if (!key) {
    problem = take_openssl_errors();
    if (problem.empty()) problem = "cannot decode the key";
    return nullptr;
  }
  if (p != der.data() + der.size()) {
    problem = "trailing bytes after the private key";
    return nullptr;
  }
  clear_openssl_errors();
  return key;
}

std::string with_problem(std::string message, const std::string& problem) {
  if (!problem.empty()) message += " (" + problem + ")";
  return message;
}

Bytes to_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

}  // namespace

std::string private_key_to_pem(const PrivateKey& key) {
  const BioPtr bio = detail::memory_bio();
  if (PEM_write_bio_PKCS8PrivateKey(bio.get(), key.native(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw_openssl_error("writing a private key as PEM");
  }
  return detail::bio_text(bio.get());
}

Bytes private_key_to_der(const PrivateKey& key) {
  const BioPtr bio = detail::memory_bio();
  if (i2d_PKCS8PrivateKey_bio(bio.get(), key.native(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw_openssl_error("writing a private key as DER");
  }
  return to_bytes(detail::bio_text(bio.get()));
}

PrivateKey private_key_from_pem(std::string_view pem, std::string_view source) {
  const std::vector<PemBlock> blocks = read_pem_blocks(pem, source);
  const PemBlock* found = nullptr;
  for (const auto& block : blocks) {
    if (block.label == "ENCRYPTED PRIVATE KEY" || (block.encrypted && block.label.ends_with("PRIVATE KEY"))) {
      throw Error(src(source) + ": the private key is encrypted; meshctl needs an unencrypted key");
    }
    // Other blocks are tolerated: `openssl ecparam -genkey` writes EC PARAMETERS before the key.
    if (block.label != "PRIVATE KEY" && block.label != "EC PRIVATE KEY" && block.label != "RSA PRIVATE KEY") continue;
    if (found != nullptr) throw Error(src(source) + ": more than one private key");
    found = &block;
  }
  if (found == nullptr) {
    throw Error(src(source) + ": not a PEM private key" +
                (blocks.empty() ? std::string() : " (found " + describe_labels(blocks) + ")"));
  }
  std::string problem;
  EvpPkeyPtr key = parse_private_key(found->label, found->der, problem);
  if (!key) throw Error(with_problem(src(source) + ": malformed " + found->label, problem));
  return PrivateKey(std::move(key));
}

PrivateKey private_key_from_der(ByteView der, std::string_view source) {
  std::string problem;
  EvpPkeyPtr key = parse_private_key({}, der, problem);
  if (!key) throw Error(with_problem(src(source) + ": not a DER private key", problem));
  return PrivateKey(std::move(key));
}

std::string public_key_to_pem(const PublicKey& key) {
  const BioPtr bio = detail::memory_bio();
  if (PEM_write_bio_PUBKEY(bio.get(), key.native()) != 1) throw_openssl_error("writing a public key as PEM");
  return detail::bio_text(bio.get());
}

Bytes public_key_to_der(const PublicKey& key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key.native(), &der);
  if (len <= 0) throw_openssl_error("writing a public key as DER");
  const std::unique_ptr<unsigned char, OpensslFree> owner(der);
  return Bytes(der, der + len);
}

PublicKey public_key_from_der(ByteView der, std::string_view source) {
  const unsigned char* p = der.data();
  EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!key) throw Error(with_problem(src(source) + ": not a DER public key", take_openssl_errors()));
  if (p != der.data() + der.size()) throw Error(src(source) + ": trailing bytes after the public key");
  clear_openssl_errors();
  return PublicKey(std::move(key));
}

PublicKey public_key_from_pem(std::string_view pem, std::string_view source) {
  const std::vector<PemBlock> blocks = read_pem_blocks(pem, source);
  if (blocks.size() != 1 || blocks.front().label != "PUBLIC KEY") {
    throw Error(src(source) + ": not a PEM public key" +
                (blocks.empty() ? std::string() : " (found " + describe_labels(blocks) + ")"));
  }
  return public_key_from_der(blocks.front().der, source);
}

std::string certificate_to_pem(const Certificate& cert) {
  const BioPtr bio = detail::memory_bio();
  if (PEM_write_bio_X509(bio.get(), cert.native()) != 1) throw_openssl_error("writing a certificate as PEM");
  return detail::bio_text(bio.get());
}

Bytes certificate_to_der(const Certificate& cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert.native(), &der);
  if (len <= 0) throw_openssl_error("writing a certificate as DER");
  const std::unique_ptr<unsigned char, OpensslFree> owner(der);
  return Bytes(der, der + len);
}

Certificate certificate_from_der(ByteView der, std::string_view source) {
  std::string problem;
  X509Ptr cert = parse_x509(der, problem);
  if (!cert) throw Error(with_problem(src(source) + ": not a DER certificate", problem));
  return Certificate(std::move(cert));
}

Certificate certificate_from_pem(std::string_view pem, std::string_view source) {
  const std::vector<PemBlock> blocks = read_pem_blocks(pem, source);
  if (blocks.empty()) throw Error(src(source) + ": not a PEM certificate");
  if (blocks.front().label != "CERTIFICATE") {
    throw Error(src(source) + ": not a PEM certificate (found " + describe_labels(blocks) + ")");
  }
  if (blocks.size() > 1) {
    throw Error(src(source) + ": expected one certificate, found " + std::to_string(blocks.size()) + " PEM blocks");
  }
  std::string problem;
  X509Ptr cert = parse_x509(blocks.front().der, problem);
  if (!cert) throw Error(with_problem(src(source) + ": malformed certificate", problem));
  return Certificate(std::move(cert));
}

std::string bundle_to_pem(std::span<const Certificate> certs) {
  std::string out;
  for (const auto& cert : certs) out += certificate_to_pem(cert);
  return out;
}

CertificateBundle bundle_from_pem(std::string_view pem, std::string_view source) {
  if (blank(pem)) throw Error(src(source) + ": empty certificate bundle");
  const std::vector<PemBlock> blocks = read_pem_blocks(pem, source);
  if (blocks.empty()) throw Error(src(source) + ": not a PEM certificate bundle (no PEM blocks found)");
  CertificateBundle bundle;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const std::string position = "block " + std::to_string(i + 1) + " of " + std::to_string(blocks.size());
    if (blocks[i].label != "CERTIFICATE") {
      throw Error(src(source) + ": " + position + " is a " + blocks[i].label + ", not a CERTIFICATE");
    }
    std::string problem;
    X509Ptr cert = parse_x509(blocks[i].der, problem);
    if (!cert) throw Error(with_problem(src(source) + ": " + position + " is a malformed certificate", problem));
    bundle.emplace_back(std::move(cert));
  }
  return bundle;
}

std::string csr_to_pem(const CertificateRequest& csr) {
  const BioPtr bio = detail::memory_bio();
  if (PEM_write_bio_X509_REQ(bio.get(), csr.native()) != 1) throw_openssl_error("writing a CSR as PEM");
  return detail::bio_text(bio.get());
}

Bytes csr_to_der(const CertificateRequest& csr) {
  unsigned char* der = nullptr;
  const int len = i2d_X509_REQ(csr.native(), &der);
  if (len <= 0) throw_openssl_error("writing a CSR as DER");
  const std::unique_ptr<unsigned char, OpensslFree> owner(der);
  return Bytes(der, der + len);
}

CertificateRequest csr_from_der(ByteView der, std::string_view source) {
  std::string problem;
  X509ReqPtr req = parse_x509_req(der, problem);
  if (!req) throw Error(with_problem(src(source) + ": not a DER certificate request", problem));
  return CertificateRequest(std::move(req));
}

CertificateRequest csr_from_pem(std::string_view pem, std::string_view source) {
  const std::vector<PemBlock> blocks = read_pem_blocks(pem, source);
  if (blocks.size() != 1 ||
      (blocks.front().label != "CERTIFICATE REQUEST" && blocks.front().label != "NEW CERTIFICATE REQUEST")) {
    throw Error(src(source) + ": not a PEM certificate request" +
                (blocks.empty() ? std::string() : " (found " + describe_labels(blocks) + ")"));
  }
  std::string problem;
  X509ReqPtr req = parse_x509_req(blocks.front().der, problem);
  if (!req) throw Error(with_problem(src(source) + ": malformed certificate request", problem));
  return CertificateRequest(std::move(req));
}

std::string pem_sha256(std::string_view pem) { return sha256_hex(pem); }

}  // namespace meshctl::core::tls

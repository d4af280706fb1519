#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/tls/files.h"
#include "core/tls/pem.h"
#include "support/tls_fixtures.h"

namespace tls = meshctl::core::tls;
namespace fs = std::filesystem;

namespace {

// A fresh directory under the system temp dir, removed at the end of the test; paths are
// relative to it so error messages read as an operator would see them.
struct TempDir {
  fs::path path;
  fs::path previous;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "meshctl-tls-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
    previous = fs::current_path();
    fs::current_path(path);
  }
  ~TempDir() {
    fs::current_path(previous);
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::string error_of(auto&& fn) {
  try {
    fn();
  } catch (const meshctl::core::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("certificates, bundles, keys and CSRs load from files", "[tls]") {
  TempDir dir;
  const auto pki = meshctl::test::make_pki();
  write("ca.crt", tls::bundle_to_pem(std::vector{pki.root}));
  write("bundle.crt", tls::bundle_to_pem(std::vector{pki.issuer, pki.root}));
  tls::write_pem_file("issuer.key", tls::private_key_to_pem(pki.issuer_key), true);
  write("web.csr", tls::csr_to_pem(tls::create_csr(pki.leaf_key, meshctl::test::kIdentity)));

  CHECK(tls::load_certificate_file("ca.crt") == pki.root);
  CHECK(tls::load_bundle_file("bundle.crt").size() == 2);
  CHECK(tls::key_matches_certificate(tls::load_private_key_file("issuer.key"), pki.issuer));
  CHECK(tls::load_csr_file("web.csr").verify_signature());

  struct stat st {};
  REQUIRE(::stat("issuer.key", &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  tls::write_pem_file("issuer.crt", tls::certificate_to_pem(pki.issuer), false);
  REQUIRE(::stat("issuer.crt", &st) == 0);
  CHECK((st.st_mode & 0077) != 0077);
  CHECK(tls::load_certificate_file("issuer.crt") == pki.issuer);
}

TEST_CASE("file errors name the file and the problem", "[tls]") {
  TempDir dir;
  const auto pki = meshctl::test::make_pki();
  CHECK(error_of([] { tls::load_certificate_file("ca.crt"); }) == "ca.crt: cannot read file (No such file or directory)");
  fs::create_directory("certs");
  CHECK(error_of([] { tls::load_bundle_file("certs"); }) == "certs: cannot read file (it is a directory)");
  write("issuer.key", tls::certificate_to_pem(pki.issuer));
  CHECK(error_of([] { tls::load_private_key_file("issuer.key"); }) ==
        "issuer.key: not a PEM private key (found CERTIFICATE)");
  write("garbage.key", "not a key at all\n");
  CHECK(error_of([] { tls::load_private_key_file("garbage.key"); }) == "garbage.key: not a PEM private key");
  write("empty.crt", "");
  CHECK(error_of([] { tls::load_bundle_file("empty.crt"); }) == "empty.crt: empty certificate bundle");
  write("ca.crt", "junk");
  CHECK(error_of([] { tls::load_certificate_file("ca.crt"); }) == "ca.crt: not a PEM certificate");
  CHECK(error_of([] { tls::write_pem_file("missing/dir/x.key", "x", true); }) ==
        "missing/dir/x.key: cannot write file (No such file or directory)");
  CHECK(meshctl::test::openssl_queue_empty());
}

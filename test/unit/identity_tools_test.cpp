// The operator certificate tools work on files alone and name the file and the problem when
// something is wrong, with exit code 1 and nothing half-written.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "support/process.h"
#include "support/run_cli.h"

using meshctl::test::run_cli;
using meshctl::test::TempDir;
namespace fs = std::filesystem;

namespace {
bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}
}  // namespace

TEST_CASE("identity tools make a working anchor, issuer and token, with private files", "[identity][tools]") {
  TempDir d;
  REQUIRE(run_cli({"identity", "create-anchor", "--cert", d.file("ca.crt"), "--key", d.file("ca.key")}).code == 0);
  REQUIRE(run_cli({"identity", "create-issuer", "--anchor-cert", d.file("ca.crt"), "--anchor-key", d.file("ca.key"),
                   "--cert", d.file("issuer.crt"), "--key", d.file("issuer.key")})
              .code == 0);
  struct stat st {};
  REQUIRE(stat(d.file("issuer.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const auto ok = run_cli({"identity", "inspect", d.file("issuer.crt"), "--trust-anchors", d.file("ca.crt")});
  CHECK(ok.code == 0);
  CHECK(contains(ok.out, "Chains to " + d.file("ca.crt") + ": yes"));
  CHECK(contains(ok.out, "CA:"));

  REQUIRE(run_cli({"identity", "create-token-key", "--private-key", d.file("t.key"), "--public-key", d.file("t.pub")})
              .code == 0);
  const auto token = run_cli({"identity", "create-token", "--key", d.file("t.key"), "--namespace", "default",
                              "--service-account", "web"});
  CHECK(token.code == 0);
  CHECK(std::count(token.out.begin(), token.out.end(), '.') == 2);

  // Existing files are kept unless --force.
  const auto again = run_cli({"identity", "create-anchor", "--cert", d.file("ca.crt"), "--key", d.file("ca.key")});
  CHECK(again.code == 1);
  CHECK(contains(again.err, d.file("ca.crt") + ": already exists"));
}

TEST_CASE("identity tools name the file and the problem", "[identity][tools]") {
  TempDir d;
  meshctl::test::write_file(d.file("garbage.pem"), "not a certificate\n");
  REQUIRE(run_cli({"identity", "create-anchor", "--cert", d.file("ca.crt"), "--key", d.file("ca.key")}).code == 0);
  REQUIRE(run_cli({"identity", "create-anchor", "--cert", d.file("other.crt"), "--key", d.file("other.key")}).code == 0);

  struct Case {
    std::vector<std::string> args;
    std::string expect;  // in the error line
  };
  const std::vector<Case> cases = {
      {{"identity", "create-issuer", "--anchor-cert", d.file("missing.crt"), "--anchor-key", d.file("ca.key")},
       d.file("missing.crt") + ": cannot read file"},
      {{"identity", "create-issuer", "--anchor-cert", d.file("garbage.pem"), "--anchor-key", d.file("ca.key")},
       d.file("garbage.pem")},
      {{"identity", "create-issuer", "--anchor-cert", d.file("ca.crt"), "--anchor-key", d.file("other.key"), "--cert",
        d.file("i.crt"), "--key", d.file("i.key")},
       d.file("other.key") + ": does not match"},
      {{"identity", "create-issuer", "--anchor-cert", d.file("ca.crt"), "--anchor-key", d.file("ca.key"), "--cert",
        d.file("i.crt"), "--key", d.file("i.key"), "--lifetime", "forever"},
       "--lifetime: \"forever\" is not a duration"},
      {{"identity", "create-token", "--key", d.file("missing.key"), "--namespace", "default", "--service-account", "web"},
       d.file("missing.key")},
      {{"identity", "create-token", "--key", d.file("ca.key"), "--namespace", "Bad_NS", "--service-account", "web"},
       "--namespace: \"Bad_NS\" is not a DNS-1123 label"},
      {{"identity", "inspect", d.file("garbage.pem")}, d.file("garbage.pem")},
      {{"identity", "certify", "--identity", "x", "--token-file", d.file("t"), "--trust-anchors", d.file("garbage.pem")},
       d.file("garbage.pem")},
      {{"identity", "--token-validator", "magic", "--trust-anchors-file", d.file("ca.crt"), "--issuer-certificate-file",
        d.file("ca.crt"), "--issuer-key-file", d.file("ca.key")},
       "--token-validator: \"magic\" is not kubernetes or jwt"},
      {{"identity", "--trust-anchors-file", d.file("ca.crt")}, "--issuer-certificate-file is required"},
      {{"identity", "--addr", "nowhere", "--trust-anchors-file", d.file("ca.crt"), "--issuer-certificate-file",
        d.file("ca.crt"), "--issuer-key-file", d.file("ca.key"), "--token-validator", "jwt", "--token-public-key-file",
        d.file("ca.crt")},
       "nowhere"},
      {{"identity", "create-anchor", "--no-such-flag"}, "--no-such-flag"},
  };
  for (const auto& c : cases) {
    const auto r = run_cli(c.args);
    INFO(r.err);
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK(contains(r.err, c.expect));
    CHECK(r.err.rfind("Error: ", 0) == 0);
  }
  // A chain that does not verify is reported, with exit 1.
  const auto wrong = run_cli({"identity", "inspect", d.file("ca.crt"), "--trust-anchors", d.file("other.crt")});
  CHECK(wrong.code == 1);
  CHECK(contains(wrong.out, "Chains to " + d.file("other.crt") + ": no"));
  CHECK_FALSE(fs::exists(d.file("i.crt")));
}

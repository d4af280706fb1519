#include <catch2/catch.hpp>

#include "controlplane/identity/certifier.h"
#include "core/error.h"
#include "core/identity/identity_name.h"
#include "core/identity/jwt.h"
#include "core/identity/jwt_token_validator.h"
#include "core/metrics/registry.h"
#include "core/tls/crypto_util.h"
#include "core/tls/key.h"
#include "core/util/duration.h"

using namespace meshctl::core;
using namespace meshctl::core::identity;

TEST_CASE("identity names follow the mesh's format and parse back", "[identity]") {
  const ServiceAccountRef web{"default", "web"};
  CHECK(identity_name(web, "meshctl", "cluster.local") == "web.default.serviceaccount.identity.meshctl.cluster.local");
  CHECK(spiffe_id(web, "cluster.local") == "spiffe://cluster.local/ns/default/sa/web");
  CHECK(parse_identity_name("web.default.serviceaccount.identity.meshctl.cluster.local", "meshctl", "cluster.local") == web);
  CHECK_FALSE(parse_identity_name("web.default.serviceaccount.identity.other.cluster.local", "meshctl", "cluster.local"));
  CHECK_FALSE(parse_identity_name("a.b.web.default.serviceaccount.identity.meshctl.cluster.local", "meshctl", "cluster.local"));
  CHECK_FALSE(parse_identity_name("Web.default.serviceaccount.identity.meshctl.cluster.local", "meshctl", "cluster.local"));
  CHECK(parse_service_account_username("system:serviceaccount:default:web") == web);
  CHECK_FALSE(parse_service_account_username("system:serviceaccount:default"));
  CHECK_FALSE(parse_service_account_username("system:node:x:y"));
  CHECK_FALSE(parse_service_account_username("system:serviceaccount:-bad:web"));
}

TEST_CASE("ES256 tokens sign, verify and refuse tampering", "[identity]") {
  const auto key = tls::generate_ecdsa_p256();
  TokenClaims c;
  c.issuer = "meshctl";
  c.subject = "system:serviceaccount:default:web";
  c.audience = {"identity.meshctl.io"};
  c.issued_at = 1000;
  c.expires_at = 2000;
  const std::string token = sign_jwt_es256(c, key);
  JwtCheck check{1500, 0, "identity.meshctl.io", "meshctl"};
  const auto ok = verify_jwt_es256(token, key.public_key(), check);
  REQUIRE(ok.ok());
  CHECK(ok.claims.subject == c.subject);

  CHECK(verify_jwt_es256(token, tls::generate_ecdsa_p256().public_key(), check).error == JwtError::bad_signature);
  check.now = 2000;
  CHECK(verify_jwt_es256(token, key.public_key(), check).error == JwtError::expired);
  check.now = 999;
  CHECK(verify_jwt_es256(token, key.public_key(), check).error == JwtError::not_yet_valid);
  check.now = 1500;
  check.audience = "other";
  CHECK(verify_jwt_es256(token, key.public_key(), check).error == JwtError::wrong_audience);
  check.audience = "identity.meshctl.io";
  check.issuer = "kubernetes";
  CHECK(verify_jwt_es256(token, key.public_key(), check).error == JwtError::wrong_issuer);
  check.issuer = "";

  // Changing one claim breaks the signature.
  const size_t d1 = token.find('.'), d2 = token.rfind('.');
  std::string body = tls::base64url_encode(tls::as_bytes(
      R"({"sub":"system:serviceaccount:kube-system:admin","aud":["identity.meshctl.io"],"iat":1000,"exp":2000})"));
  CHECK(verify_jwt_es256(token.substr(0, d1 + 1) + body + token.substr(d2), key.public_key(), check).error ==
        JwtError::bad_signature);
  // alg none is refused whatever the signature.
  const std::string none = tls::base64url_encode(tls::as_bytes(R"({"alg":"none"})"));
  CHECK(verify_jwt_es256(none + token.substr(d1), key.public_key(), check).error == JwtError::unsupported_alg);
  for (const char* bad : {"", "a.b", "a.b.c.d", "!!!.@@@.###", "e30.e30.", "e30.e30.AAAA"}) {
    CHECK_FALSE(verify_jwt_es256(bad, key.public_key(), check).ok());
  }
}

TEST_CASE("the jwt validator maps tokens to service accounts", "[identity]") {
  const auto key = tls::generate_ecdsa_p256();
  JwtTokenValidator v(key.public_key(), {"identity.meshctl.io", "", 0}, [] { return std::int64_t{1500}; });
  TokenClaims c;
  c.subject = "system:serviceaccount:shop:cart";
  c.audience = {"identity.meshctl.io"};
  c.expires_at = 2000;
  const auto verdict = v.validate(sign_jwt_es256(c, key));
  REQUIRE(verdict.valid);
  CHECK(verdict.service_account == ServiceAccountRef{"shop", "cart"});
  c.subject = "alice";
  const auto user = v.validate(sign_jwt_es256(c, key));
  CHECK_FALSE(user.valid);
  CHECK(user.reason_code == "not_a_service_account");
}

TEST_CASE("durations parse as operators write them", "[util]") {
  using namespace std::chrono_literals;
  CHECK(util::parse_duration("24h", "f") == 24h);
  CHECK(util::parse_duration("1h30m", "f") == 90min);
  CHECK(util::parse_duration("500ms", "f") == 500ms);
  CHECK(util::parse_duration("1.5s", "f") == 1500ms);
  CHECK(util::format_duration(24h) == "24h0m0s");
  for (const char* bad : {"", "10", "h", "-1s", "1d", "1s5", "s1"}) {
    CHECK_THROWS_AS(util::parse_duration(bad, "--lifetime"), Error);
  }
  try {
    util::parse_duration("soon", "--lifetime");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "--lifetime: \"soon\" is not a duration");
  }
}

TEST_CASE("metrics render in Prometheus text format", "[metrics]") {
  metrics::Registry r;
  r.counter("b_total", "B things", {{"k", "v\"q"}}).inc(2);
  r.counter("b_total", "B things", {{"k", "v\"q"}}).inc();
  r.gauge("a_seconds", "A time").set(1700000000);
  const std::string text = r.render();
  CHECK(text ==
        "# HELP a_seconds A time\n# TYPE a_seconds gauge\na_seconds 1700000000\n"
        "# HELP b_total B things\n# TYPE b_total counter\nb_total{k=\"v\\\"q\"} 3\n");
  CHECK_THROWS_AS(r.gauge("b_total", "x"), Error);
}

// `meshctl identity`: the certificate authority service, and the certificate tools operators
// would otherwise reach for `step` or `openssl` to do.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <ostream>

#include "cli/command.h"
#include "controlplane/identity/identity_server.h"
#include "core/error.h"
#include "core/identity/identity_client.h"
#include "core/identity/identity_name.h"
#include "core/identity/jwt.h"
#include "core/identity/jwt_token_validator.h"
#include "core/identity/kubernetes_token_validator.h"
#include "core/log/log.h"
#include "core/net/host_port.h"
#include "core/tls/describe.h"
#include "core/tls/files.h"
#include "core/tls/issue.h"
#include "core/tls/pem.h"
#include "core/tls/verify.h"
#include "core/util/duration.h"

namespace meshctl::cli {
namespace {

namespace tls = core::tls;
namespace fs = std::filesystem;
using std::chrono::duration_cast;
using std::chrono::seconds;

struct ServeOptions {
  controlplane::identity::IdentityServerOptions server;
  std::string lifetime = "24h";
  std::string skew = "20s";
  std::string validator = "kubernetes";
  std::string token_public_key;
  std::string token_audience = "identity.meshctl.io";
  std::string token_issuer;
  std::string kube_api_server, kube_token_file, kube_ca_file;
  std::string log_level = "info";
};

int run_serve(ServeOptions o) {
  core::log::set_level(core::log::parse_level(o.log_level, "--log-level"));
  // Cheap checks first, so a typo is reported before any file is read.
  core::net::parse_host_port(o.server.listen_addr, "--addr");
  core::net::parse_host_port(o.server.admin_addr, "--admin-addr");
  o.server.certifier.lifetime = duration_cast<seconds>(core::util::parse_duration(o.lifetime, "--issuance-lifetime"));
  o.server.certifier.clock_skew =
      duration_cast<seconds>(core::util::parse_duration(o.skew, "--clock-skew-allowance"));
  if (o.server.certifier.lifetime.count() < 1) throw core::Error("--issuance-lifetime must be at least 1s");
  for (auto [flag, value] : {std::pair{"--trust-anchors-file", &o.server.issuer_files.trust_anchors},
                             std::pair{"--issuer-certificate-file", &o.server.issuer_files.certificate},
                             std::pair{"--issuer-key-file", &o.server.issuer_files.key}}) {
    if (value->empty()) throw core::Error(std::string(flag) + " is required");
  }
  std::unique_ptr<core::identity::TokenValidator> validator;
  if (o.validator == "jwt") {
    if (o.token_public_key.empty()) throw core::Error("--token-validator jwt needs --token-public-key-file");
    const auto text = [&] {
      std::ifstream in(o.token_public_key);
      if (!in) throw core::Error(o.token_public_key + ": cannot read file");
      return std::string(std::istreambuf_iterator<char>(in), {});
    }();
    auto key = tls::public_key_from_pem(text, o.token_public_key);
    validator = std::make_unique<core::identity::JwtTokenValidator>(
        key, core::identity::JwtValidatorOptions{o.token_audience, o.token_issuer,
                                                 static_cast<std::int64_t>(o.server.certifier.clock_skew.count())});
  } else if (o.validator == "kubernetes") {
    core::kube::ApiEndpoint endpoint;
    if (o.kube_api_server.empty()) {
      endpoint = core::kube::in_cluster_endpoint();
    } else {
      endpoint = {o.kube_api_server, o.kube_token_file, o.kube_ca_file};
      if (o.kube_token_file.empty() || o.kube_ca_file.empty()) {
        throw core::Error("--kube-api-server needs --kube-token-file and --kube-ca-file");
      }
    }
    validator = std::make_unique<core::identity::KubernetesTokenValidator>(endpoint, o.token_audience);
  } else {
    throw core::Error("--token-validator: \"" + o.validator + "\" is not kubernetes or jwt");
  }
  return controlplane::identity::run_identity_server(o.server, std::move(validator));
}

tls::Time now() { return std::chrono::system_clock::now(); }

tls::Validity validity_for(const std::string& lifetime, const char* flag) {
  const auto life = core::util::parse_duration(lifetime, flag);
  if (life < std::chrono::seconds(1)) throw core::Error(std::string(flag) + " must be at least 1s");
  const auto start = now();
  return {start, start + life};
}

void refuse_overwrite(const std::string& path, bool force) {
  if (!force && fs::exists(path)) {
    throw core::Error(path + ": already exists", "pass --force to replace it");
  }
}

struct AnchorOptions {
  std::string cert = "ca.crt", key = "ca.key", common_name, trust_domain = "cluster.local", lifetime = "8760h";
  bool force = false;
};

int run_create_anchor(const AnchorOptions& o, const Io& io) {
  refuse_overwrite(o.cert, o.force);
  refuse_overwrite(o.key, o.force);
  const auto key = tls::generate_ecdsa_p256();
  const auto cert = tls::make_root_ca(
      key, {o.common_name.empty() ? "root." + o.trust_domain : o.common_name, validity_for(o.lifetime, "--lifetime"),
            tls::SerialNumber::random()});
  tls::write_pem_file(o.key, tls::private_key_to_pem(key), true);
  tls::write_pem_file(o.cert, tls::certificate_to_pem(cert), false);
  io.out << "trust anchor written to " << o.cert << " (key " << o.key << ")\n" << tls::render(tls::describe(cert));
  return 0;
}

struct IssuerOptions {
  std::string anchor_cert = "ca.crt", anchor_key = "ca.key", cert = "issuer.crt", key = "issuer.key";
  std::string common_name, mesh_namespace = "meshctl", trust_domain = "cluster.local", lifetime = "8760h";
  bool force = false;
};

int run_create_issuer(const IssuerOptions& o, const Io& io) {
  const auto anchor = tls::load_certificate_file(o.anchor_cert);
  const auto anchor_key = tls::load_private_key_file(o.anchor_key);
  if (!anchor.is_ca()) throw core::Error(o.anchor_cert + ": not a CA certificate");
  if (!tls::key_matches_certificate(anchor_key, anchor)) {
    throw core::Error(o.anchor_key + ": does not match the certificate in " + o.anchor_cert);
  }
  refuse_overwrite(o.cert, o.force);
  refuse_overwrite(o.key, o.force);
  auto validity = validity_for(o.lifetime, "--lifetime");
  if (validity.not_after > anchor.not_after()) validity.not_after = anchor.not_after();
  const auto key = tls::generate_ecdsa_p256();
  const std::string cn =
      o.common_name.empty() ? "identity." + o.mesh_namespace + "." + o.trust_domain : o.common_name;
  const auto cert = tls::make_intermediate_ca(key.public_key(), {cn, validity, tls::SerialNumber::random()}, anchor,
                                              anchor_key);
  const tls::Certificate anchors[] = {anchor};
  tls::require_valid_certificate("new issuer", cert, {}, anchors, {now(), std::nullopt, false});
  tls::write_pem_file(o.key, tls::private_key_to_pem(key), true);
  tls::write_pem_file(o.cert, tls::certificate_to_pem(cert), false);
  io.out << "issuer written to " << o.cert << " (key " << o.key << "), signed by " << o.anchor_cert << "\n"
         << tls::render(tls::describe(cert));
  return 0;
}

struct TokenKeyOptions {
  std::string private_key = "token.key", public_key = "token.pub";
  bool force = false;
};

int run_create_token_key(const TokenKeyOptions& o, const Io& io) {
  refuse_overwrite(o.private_key, o.force);
  refuse_overwrite(o.public_key, o.force);
  const auto key = tls::generate_ecdsa_p256();
  tls::write_pem_file(o.private_key, tls::private_key_to_pem(key), true);
  tls::write_pem_file(o.public_key, tls::public_key_to_pem(key.public_key()), false);
  io.out << "token signing key written to " << o.private_key << "; give " << o.public_key
         << " to `meshctl identity --token-validator jwt --token-public-key-file`\n";
  return 0;
}

struct TokenOptions {
  std::string key = "token.key", namespace_name, service_account, audience = "identity.meshctl.io",
              issuer = "meshctl", lifetime = "24h", out;
};

int run_create_token(const TokenOptions& o, const Io& io) {
  for (auto [flag, v] : {std::pair{"--namespace", &o.namespace_name}, std::pair{"--service-account", &o.service_account}}) {
    if (!core::identity::is_dns1123_label(*v)) {
      throw core::Error(std::string(flag) + ": \"" + *v + "\" is not a DNS-1123 label");
    }
  }
  const auto key = tls::load_private_key_file(o.key);
  const auto v = validity_for(o.lifetime, "--lifetime");
  core::identity::TokenClaims claims;
  claims.issuer = o.issuer;
  claims.subject = "system:serviceaccount:" + o.namespace_name + ":" + o.service_account;
  claims.audience = {o.audience};
  claims.issued_at = tls::to_unix_seconds(v.not_before);
  claims.expires_at = tls::to_unix_seconds(v.not_after);
  const std::string token = core::identity::sign_jwt_es256(claims, key);
  if (o.out.empty()) {
    io.out << token << "\n";
  } else {
    tls::write_pem_file(o.out, token + "\n", true);
    io.err << "token for " << claims.subject << " written to " << o.out << "\n";
  }
  return 0;
}

struct CertifyOptions {
  std::string addr = "127.0.0.1:8080", identity, server_name, token_file, trust_anchors, out_dir = ".";
  std::string mesh_namespace = "meshctl", trust_domain = "cluster.local";
};

int run_certify(const CertifyOptions& o, const Io& io) {
  if (o.identity.empty()) throw core::Error("--identity is required");
  if (o.token_file.empty()) throw core::Error("--token-file is required");
  if (o.trust_anchors.empty()) throw core::Error("--trust-anchors is required");
  core::identity::IdentityClientOptions c;
  c.identity_addr = o.addr;
  c.identity_server_name =
      o.server_name.empty() ? core::identity::identity_name({o.mesh_namespace, "meshctl-identity"}, o.mesh_namespace,
                                                            o.trust_domain)
                            : o.server_name;
  c.local_identity = o.identity;
  c.token_file = o.token_file;
  c.trust_anchors = tls::load_bundle_file(o.trust_anchors);
  core::identity::IdentityClient client(c);
  const auto id = client.certify_once();
  fs::create_directories(o.out_dir);
  const auto key_path = (fs::path(o.out_dir) / "key.pem").string();
  const auto cert_path = (fs::path(o.out_dir) / "cert.pem").string();
  tls::write_pem_file(key_path, tls::private_key_to_pem(id->key), true);
  std::vector<tls::Certificate> full{id->leaf};
  full.insert(full.end(), id->chain.begin(), id->chain.end());
  tls::write_pem_file(cert_path, tls::bundle_to_pem(full), false);
  io.out << "certified " << o.identity << " until " << tls::format_rfc3339(id->valid_until)
         << "; chain verified against " << o.trust_anchors << "\nkey: " << key_path << "\ncertificate: " << cert_path
         << "\n";
  return 0;
}

struct InspectOptions {
  std::vector<std::string> files;
  std::string trust_anchors, name;
};

int run_inspect(const InspectOptions& o, const Io& io) {
  int rc = 0;
  std::optional<tls::CertificateBundle> anchors;
  if (!o.trust_anchors.empty()) anchors = tls::load_bundle_file(o.trust_anchors);
  for (const auto& file : o.files) {
    const auto bundle = tls::load_bundle_file(file);
    for (size_t i = 0; i < bundle.size(); ++i) {
      io.out << file << (bundle.size() > 1 ? " [" + std::to_string(i) + "]" : "") << "\n"
             << tls::render(tls::describe(bundle[i]));
    }
    if (anchors) {
      const std::span<const tls::Certificate> rest(bundle.data() + 1, bundle.size() - 1);
      std::optional<std::string> name;
      if (!o.name.empty()) name = o.name;
      const auto r = tls::verify_certificate(bundle[0], rest, *anchors, {now(), name, false});
      io.out << "Chains to " << o.trust_anchors << ": " << (r.ok() ? "yes" : "no (" + r.reason + ")") << "\n";
      if (!r.ok()) rc = 1;
    }
  }
  return rc;
}

}  // namespace

void add_identity_command(CLI::App& app, const Io& io, Runner& run) {
  auto* cmd = app.add_subcommand(
      "identity", "Run the mesh's certificate authority, or manage certificates and tokens with its subcommands");
  cmd->require_subcommand(0, 1);
  auto serve = std::make_shared<ServeOptions>();
  auto& s = *serve;
  cmd->add_option("--addr", s.server.listen_addr, "Address to serve certify on (HTTPS)")->capture_default_str();
  cmd->add_option("--admin-addr", s.server.admin_addr, "Address for /ready, /live and /metrics")->capture_default_str();
  cmd->add_option("--trust-anchors-file", s.server.issuer_files.trust_anchors, "PEM bundle of trust anchors");
  cmd->add_option("--issuer-certificate-file", s.server.issuer_files.certificate, "PEM issuer certificate (and chain)");
  cmd->add_option("--issuer-key-file", s.server.issuer_files.key, "PEM issuer private key");
  cmd->add_option("--trust-domain", s.server.certifier.trust_domain, "Trust domain of identities")->capture_default_str();
  cmd->add_option("--mesh-namespace", s.server.certifier.mesh_namespace, "Namespace of the control plane")
      ->capture_default_str();
  cmd->add_option("--identity-name", s.server.self_identity,
                  "The service's own identity (default meshctl-identity.<ns>.serviceaccount.identity.<ns>.<td>)");
  cmd->add_option("--issuance-lifetime", s.lifetime, "Lifetime of workload certificates")->capture_default_str();
  cmd->add_option("--clock-skew-allowance", s.skew, "How far back certificates start")->capture_default_str();
  cmd->add_option("--token-validator", s.validator, "kubernetes (TokenReview) or jwt (ES256 with --token-public-key-file)")
      ->capture_default_str();
  cmd->add_option("--token-public-key-file", s.token_public_key, "PEM public key that verifies jwt tokens");
  cmd->add_option("--token-audience", s.token_audience, "Audience tokens must carry")->capture_default_str();
  cmd->add_option("--token-issuer", s.token_issuer, "iss that jwt tokens must carry (empty: any)");
  cmd->add_option("--kube-api-server", s.kube_api_server, "API server URL (default: in-cluster)");
  cmd->add_option("--kube-token-file", s.kube_token_file, "Bearer token file for --kube-api-server");
  cmd->add_option("--kube-ca-file", s.kube_ca_file, "CA bundle of --kube-api-server");
  cmd->add_option("--log-level", s.log_level, "debug, info, warn or error")->capture_default_str();
  cmd->callback([cmd, serve, &run] {
    if (!cmd->get_subcommands().empty()) return;
    run = [serve] { return run_serve(*serve); };
  });

  auto anchor = std::make_shared<AnchorOptions>();
  auto* a = cmd->add_subcommand("create-anchor", "Create a self-signed ECDSA P-256 trust anchor");
  a->add_option("--cert", anchor->cert, "Certificate output")->capture_default_str();
  a->add_option("--key", anchor->key, "Private key output (mode 0600)")->capture_default_str();
  a->add_option("--common-name", anchor->common_name, "Subject CN (default root.<trust-domain>)");
  a->add_option("--trust-domain", anchor->trust_domain)->capture_default_str();
  a->add_option("--lifetime", anchor->lifetime)->capture_default_str();
  a->add_flag("--force", anchor->force, "Replace existing files");
  a->callback([anchor, &io, &run] { run = [anchor, &io] { return run_create_anchor(*anchor, io); }; });

  auto issuer = std::make_shared<IssuerOptions>();
  auto* i = cmd->add_subcommand("create-issuer", "Create an issuer certificate signed by a trust anchor");
  i->add_option("--anchor-cert", issuer->anchor_cert)->capture_default_str();
  i->add_option("--anchor-key", issuer->anchor_key)->capture_default_str();
  i->add_option("--cert", issuer->cert, "Certificate output")->capture_default_str();
  i->add_option("--key", issuer->key, "Private key output (mode 0600)")->capture_default_str();
  i->add_option("--common-name", issuer->common_name, "Subject CN (default identity.<ns>.<trust-domain>)");
  i->add_option("--mesh-namespace", issuer->mesh_namespace)->capture_default_str();
  i->add_option("--trust-domain", issuer->trust_domain)->capture_default_str();
  i->add_option("--lifetime", issuer->lifetime, "Capped at the anchor's expiry")->capture_default_str();
  i->add_flag("--force", issuer->force, "Replace existing files");
  i->callback([issuer, &io, &run] { run = [issuer, &io] { return run_create_issuer(*issuer, io); }; });

  auto tkey = std::make_shared<TokenKeyOptions>();
  auto* k = cmd->add_subcommand("create-token-key", "Create the ECDSA key pair that signs jwt service-account tokens");
  k->add_option("--private-key", tkey->private_key)->capture_default_str();
  k->add_option("--public-key", tkey->public_key)->capture_default_str();
  k->add_flag("--force", tkey->force, "Replace existing files");
  k->callback([tkey, &io, &run] { run = [tkey, &io] { return run_create_token_key(*tkey, io); }; });

  auto token = std::make_shared<TokenOptions>();
  auto* t = cmd->add_subcommand("create-token", "Sign a service-account token for the jwt validator");
  t->add_option("--key", token->key, "Signing key from create-token-key")->capture_default_str();
  t->add_option("--namespace", token->namespace_name, "Namespace of the service account")->required();
  t->add_option("--service-account", token->service_account, "Service account name")->required();
  t->add_option("--audience", token->audience)->capture_default_str();
  t->add_option("--issuer", token->issuer)->capture_default_str();
  t->add_option("--lifetime", token->lifetime)->capture_default_str();
  t->add_option("--out", token->out, "Write to this file (mode 0600) instead of stdout");
  t->callback([token, &io, &run] { run = [token, &io] { return run_create_token(*token, io); }; });

  auto certify = std::make_shared<CertifyOptions>();
  auto* c = cmd->add_subcommand("certify", "Obtain a workload certificate from a running identity service");
  c->add_option("--addr", certify->addr, "Identity service address")->capture_default_str();
  c->add_option("--identity", certify->identity, "Identity to ask for");
  c->add_option("--token-file", certify->token_file, "Service-account token");
  c->add_option("--trust-anchors", certify->trust_anchors, "PEM bundle of trust anchors");
  c->add_option("--server-name", certify->server_name, "Identity the service must prove");
  c->add_option("--mesh-namespace", certify->mesh_namespace)->capture_default_str();
  c->add_option("--trust-domain", certify->trust_domain)->capture_default_str();
  c->add_option("--out-dir", certify->out_dir, "Where key.pem and cert.pem go")->capture_default_str();
  c->callback([certify, &io, &run] { run = [certify, &io] { return run_certify(*certify, io); }; });

  auto inspect = std::make_shared<InspectOptions>();
  auto* n = cmd->add_subcommand("inspect", "Describe certificates and check them against trust anchors");
  n->add_option("files", inspect->files, "PEM files")->required();
  n->add_option("--trust-anchors", inspect->trust_anchors, "Check the first certificate chains to these");
  n->add_option("--name", inspect->name, "With --trust-anchors: the DNS SAN the certificate must carry");
  n->callback([inspect, &io, &run] { run = [inspect, &io] { return run_inspect(*inspect, io); }; });
}

}  // namespace meshctl::cli

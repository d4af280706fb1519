// `meshctl destination`: the discovery service proxies ask about targets.
#include "cli/command.h"
#include "controlplane/destination/destination_server.h"
#include "core/error.h"
#include "core/log/log.h"
#include "core/util/duration.h"

namespace meshctl::cli {
namespace {

struct DestinationCommandOptions {
  controlplane::destination::DestinationServerOptions server;
  std::string log_level = "info";
  std::string registry_poll = "250ms";
};

}  // namespace

void add_destination_command(CLI::App& app, const Io&, Runner& run) {
  auto options = std::make_shared<DestinationCommandOptions>();
  auto& s = options->server;
  auto* cmd = app.add_subcommand("destination", "Run the discovery service that tells proxies where targets are");
  cmd->add_option("--addr", s.listen_addr, "Address to serve proxies on (mutual TLS)")->capture_default_str();
  cmd->add_option("--admin-addr", s.admin_addr, "Address for /ready, /live and /metrics")->capture_default_str();
  cmd->add_option("--registry", s.registry_dir, "Directory of Kubernetes YAML to serve from, watched for changes")
      ->required();
  cmd->add_option("--mesh-namespace", s.discovery.mesh_namespace, "Namespace of the control plane")
      ->capture_default_str();
  cmd->add_option("--cluster-domain", s.discovery.cluster_domain, "Cluster DNS domain of Service names")
      ->capture_default_str();
  cmd->add_option("--trust-domain", s.discovery.trust_domain, "Trust domain of identities")->capture_default_str();
  cmd->add_option("--identity-addr", s.identity_addr, "Identity service address")->capture_default_str();
  cmd->add_option("--identity-server-name", s.identity_server_name,
                  "Identity the identity service must prove (default meshctl-identity.<ns>.serviceaccount.identity.<ns>.<td>)");
  cmd->add_option("--identity-name", s.self_identity,
                  "The service's own identity (default meshctl-destination.<ns>.serviceaccount.identity.<ns>.<td>)");
  cmd->add_option("--token-file", s.token_file, "Service-account token for the identity service")->required();
  cmd->add_option("--trust-anchors-file", s.trust_anchors_file, "PEM bundle of trust anchors")->required();
  cmd->add_option("--registry-poll-interval", options->registry_poll, "How often the registry is checked for changes")
      ->capture_default_str();
  cmd->add_option("--threads", s.threads, "Threads serving proxies (0: one per core)")->capture_default_str();
  cmd->add_option("--log-level", options->log_level, "debug, info, warn or error")->capture_default_str();
  cmd->callback([options, &run] {
    run = [options] {
      core::log::set_level(core::log::parse_level(options->log_level, "--log-level"));
      options->server.registry_poll = core::util::parse_duration(options->registry_poll, "--registry-poll-interval");
      if (options->server.registry_poll < std::chrono::milliseconds(1)) {
        throw core::Error("--registry-poll-interval must be at least 1ms");
      }
      if (options->server.threads < 0) throw core::Error("--threads must not be negative");
      return controlplane::destination::run_destination_server(options->server);
    };
  });
}

}  // namespace meshctl::cli

#include "cli/install_command.h"

#include <chrono>
#include <fstream>
#include <ostream>
#include <sstream>

#include "cli/command.h"
#include "core/error.h"
#include "core/render/control_plane.h"
#include "core/render/identity_material.h"
#include "core/render/manifests.h"
#include "core/util/duration.h"

namespace meshctl::cli {
namespace {

using core::Error;
using core::render::Json;

std::string read_pem_file(const std::string& path, const std::string& flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read file (" + flag + ")");
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(path + ": cannot read file (" + flag + ")");
  return ss.str();
}

void check_output_format(const std::string& output) {
  if (output != "yaml" && output != "json") {
    throw Error("-o/--output: \"" + output + "\" is not an output format", "use -o yaml or -o json");
  }
}

std::string format(const std::vector<Json>& objects, const std::string& output) {
  return output == "json" ? core::render::to_json_list(objects) : core::render::to_yaml_stream(objects);
}

// Values from every source, then the dedicated flags, which win over -f and --set.
Json effective_values(const core::render::ValueSources& sources, bool ha, const InstallOptions* flags,
                      const std::optional<std::string>& mesh_namespace) {
  core::render::ValueSources all = sources;
  if (ha) all.presets.insert(all.presets.begin(), "values-ha.yaml");
  Json values = core::render::load_values(all);
  if (mesh_namespace) values["meshNamespace"] = *mesh_namespace;
  if (flags) {
    if (flags->trust_domain) values["identityTrustDomain"] = *flags->trust_domain;
    if (flags->issuance_lifetime) {
      if (core::util::parse_duration(*flags->issuance_lifetime, "--identity-issuance-lifetime") <
          std::chrono::seconds(1)) {
        throw Error("--identity-issuance-lifetime: must be at least 1s");
      }
      values["identity"]["issuer"]["issuanceLifetime"] = *flags->issuance_lifetime;
    }
    if (flags->controller_replicas) {
      const std::string& text = *flags->controller_replicas;
      if (text.empty() || text.size() > 3 || text.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(text) < 1) {
        throw Error("--controller-replicas: \"" + text + "\" is not a number of replicas from 1 to 100");
      }
      values["controllerReplicas"] = std::stoi(text);
    }
    if (flags->external_issuer) values["identity"]["externalIssuer"] = true;
  }
  try {
    core::render::validate_values(values);
  } catch (const Error& e) {
    // The flags write these values; name the flag the user actually typed.
    const std::string msg = e.what();
    if (mesh_namespace && msg.rfind("value meshNamespace:", 0) == 0) {
      throw Error("--mesh-namespace" + msg.substr(std::string("value meshNamespace").size()), e.hint());
    }
    if (flags && flags->trust_domain && msg.rfind("value identityTrustDomain:", 0) == 0) {
      throw Error("--identity-trust-domain" + msg.substr(std::string("value identityTrustDomain").size()), e.hint());
    }
    if (flags && flags->controller_replicas && msg.rfind("value controllerReplicas:", 0) == 0) {
      throw Error("--controller-replicas" + msg.substr(std::string("value controllerReplicas").size()), e.hint());
    }
    throw;
  }
  return values;
}

void check_flag_conflicts(const InstallOptions& o) {
  const bool any_issuer_file = !o.issuer_certificate_file.empty() || !o.issuer_key_file.empty();
  if (o.external_issuer && any_issuer_file) {
    throw Error(std::string("--identity-external-issuer conflicts with ") +
                    (!o.issuer_certificate_file.empty() ? "--identity-issuer-certificate-file"
                                                        : "--identity-issuer-key-file"),
                "with an external issuer, cert-manager writes the issuer into the Secret meshctl-identity-issuer");
  }
  if (!o.issuer_certificate_file.empty() && o.issuer_key_file.empty()) {
    throw Error("--identity-issuer-certificate-file needs --identity-issuer-key-file");
  }
  if (o.issuer_certificate_file.empty() && !o.issuer_key_file.empty()) {
    throw Error("--identity-issuer-key-file needs --identity-issuer-certificate-file");
  }
  if (o.crds) {
    const char* ignored = !o.trust_anchors_file.empty() ? "--identity-trust-anchors-file"
                          : any_issuer_file             ? "--identity-issuer-certificate-file/--identity-issuer-key-file"
                          : o.external_issuer           ? "--identity-external-issuer"
                                                        : nullptr;
    if (ignored) throw Error(std::string("--crds renders only the CRDs; ") + ignored + " does not apply to them");
  }
}

// A PEM from a flag's file or from the values, never both.
std::optional<core::render::PemInput> pem_input(const std::string& file, const char* flag, const Json& values,
                                                 const std::string& key) {
  const Json* node = &values;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    node = &(*node)[key.substr(start, dot == std::string::npos ? std::string::npos : dot - start)];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  const std::string from_values = node->is_string() ? node->get<std::string>() : "";
  if (!file.empty() && !from_values.empty()) {
    throw Error(std::string(flag) + " and the value " + key + " both give the same PEM; use one");
  }
  if (!file.empty()) return core::render::PemInput{read_pem_file(file, flag), file};
  if (!from_values.empty()) return core::render::PemInput{from_values, "value " + key};
  return std::nullopt;
}

std::string render_install(const InstallOptions& o, std::ostream& err) {
  check_output_format(o.output);
  check_flag_conflicts(o);
  const Json values = effective_values(o.values, o.ha, &o, o.mesh_namespace);
  if (o.print_values) return o.output == "json" ? values.dump(2) + "\n" : core::yaml::to_yaml(values);

  if (o.crds) {
    err << "Rendering the meshctl CRDs...\n";
    return format(core::render::render_crds(values), o.output);
  }
  err << "Rendering the meshctl control plane in namespace " << values["meshNamespace"].get<std::string>()
      << "...\n";
  core::render::IdentityRequest req;
  req.trust_domain = core::render::trust_domain(values);
  req.mesh_namespace = values["meshNamespace"];
  req.external_issuer = values["identity"]["externalIssuer"].get<bool>();
  req.now = o.now.value_or(std::chrono::system_clock::now());
  req.trust_anchors = pem_input(o.trust_anchors_file, "--identity-trust-anchors-file", values, "identityTrustAnchorsPEM");
  req.issuer_certificate =
      pem_input(o.issuer_certificate_file, "--identity-issuer-certificate-file", values, "identity.issuer.tls.crtPEM");
  req.issuer_key = pem_input(o.issuer_key_file, "--identity-issuer-key-file", values, "identity.issuer.tls.keyPEM");
  const core::render::IdentityMaterial identity = core::render::prepare_identity(req);
  if (!req.trust_anchors) err << "Generated a new trust anchor and issuer, valid for 365 days\n";
  return format(core::render::render_control_plane(values, identity), o.output);
}

int report(const Error& e, std::ostream& err) {
  err << "Error: " << e.what() << "\n";
  if (!e.hint().empty()) err << "Hint: " << e.hint() << "\n";
  return 1;
}

// Just enough of an object for `kubectl delete -f -` to find it.
Json stub(const Json& object) {
  Json meta = Json::object();
  meta["name"] = object["metadata"]["name"];
  if (object["metadata"].contains("namespace")) meta["namespace"] = object["metadata"]["namespace"];
  meta["labels"] = object["metadata"]["labels"];
  return Json{{"apiVersion", object["apiVersion"]}, {"kind", object["kind"]}, {"metadata", meta}};
}

}  // namespace

int run_install(const InstallOptions& options, std::ostream& out, std::ostream& err) {
  std::string rendered;
  try {
    rendered = render_install(options, err);
  } catch (const Error& e) {
    return report(e, err);
  } catch (const std::exception& e) {
    return report(Error(e.what()), err);
  }
  out << rendered;
  out.flush();
  return 0;
}

int run_uninstall(const UninstallOptions& o, std::ostream& out, std::ostream& err) {
  std::string rendered;
  try {
    check_output_format(o.output);
    const Json values = effective_values(o.values, o.ha, nullptr, o.mesh_namespace);
    // Names do not depend on the certificates, so any will do; a fresh set costs milliseconds.
    core::render::IdentityRequest req;
    req.trust_domain = core::render::trust_domain(values);
    req.mesh_namespace = values["meshNamespace"];
    req.now = std::chrono::system_clock::now();
    const auto control_plane = core::render::render_control_plane(values, core::render::prepare_identity(req));
    const auto crds = core::render::render_crds(values);
    // Reverse creation order: the webhook goes first, so no pod creation waits on an injector
    // that is being deleted; the CRDs (and every resource of their kinds) go last.
    std::vector<Json> objects;
    for (auto it = control_plane.rbegin(); it != control_plane.rend(); ++it) objects.push_back(stub(*it));
    for (auto it = crds.rbegin(); it != crds.rend(); ++it) objects.push_back(stub(*it));
    rendered = format(objects, o.output);
  } catch (const Error& e) {
    return report(e, err);
  } catch (const std::exception& e) {
    return report(Error(e.what()), err);
  }
  out << rendered;
  out.flush();
  return 0;
}

void add_install_command(CLI::App& app, const Io& io, Runner& run) {
  auto options = std::make_shared<InstallOptions>();
  auto* cmd = app.add_subcommand("install", "Render the meshctl control plane (or its CRDs) for kubectl apply -f -");
  cmd->footer(
      "Examples:\n"
      "  meshctl install --crds | kubectl apply -f -\n"
      "  meshctl install | kubectl apply -f -\n"
      "  meshctl install --ha --set proxy.logLevel=debug -f my-values.yaml\n"
      "  meshctl install --identity-trust-anchors-file ca.crt \\\n"
      "      --identity-issuer-certificate-file issuer.crt --identity-issuer-key-file issuer.key");
  cmd->add_flag("--crds", options->crds, "Render only the CustomResourceDefinitions (apply them first)");
  cmd->add_option("-f,--values", options->values.files, "A YAML values file (repeatable; later files win)")->allow_extra_args(false)->take_all();
  cmd->add_option("--set", options->values.sets, "Set a value: a.b=v, list[0]=v, list={a,b} (repeatable)")->allow_extra_args(false)->take_all();
  cmd->add_option("--set-string", options->values.string_sets, "Set a value, always as a string (repeatable)")->allow_extra_args(false)->take_all();
  cmd->add_flag("--ha", options->ha, "High availability: 3 replicas, anti-affinity, disruption budgets, webhook "
                                     "failurePolicy Fail");
  cmd->add_flag("--print-values", options->print_values, "Print the effective values as YAML and stop");
  cmd->add_option("--identity-trust-anchors-file", options->trust_anchors_file, "PEM bundle of trust anchors");
  cmd->add_option("--identity-issuer-certificate-file", options->issuer_certificate_file,
                  "PEM issuer certificate, signed by a trust anchor");
  cmd->add_option("--identity-issuer-key-file", options->issuer_key_file, "PEM ECDSA P-256 key of the issuer");
  cmd->add_flag("--identity-external-issuer", options->external_issuer,
                "Use the kubernetes.io/tls Secret meshctl-identity-issuer that cert-manager maintains");
  cmd->add_option("--identity-trust-domain", options->trust_domain, "Trust domain of identities (default: clusterDomain)");
  cmd->add_option("--identity-issuance-lifetime", options->issuance_lifetime,
                  "Lifetime of workload certificates, e.g. 24h0m0s");
  cmd->add_option("--mesh-namespace", options->mesh_namespace, "Namespace of the control plane (default meshctl)");
  cmd->add_option("--controller-replicas", options->controller_replicas, "Replicas of each control-plane Deployment");
  cmd->add_option("-o,--output", options->output, "Output format: yaml or json");
  cmd->callback([options, &io, &run] {
    run = [options, &io] { return run_install(*options, io.out, io.err); };
  });
}

void add_uninstall_command(CLI::App& app, const Io& io, Runner& run) {
  auto options = std::make_shared<UninstallOptions>();
  auto* cmd = app.add_subcommand("uninstall", "Print every object install creates, for kubectl delete -f -");
  cmd->footer(
      "Pass the value flags you installed with, so the same objects are named:\n"
      "  meshctl uninstall | kubectl delete --ignore-not-found -f -");
  cmd->add_option("-f,--values", options->values.files, "A YAML values file (repeatable)")->allow_extra_args(false)->take_all();
  cmd->add_option("--set", options->values.sets, "Set a value (repeatable)")->allow_extra_args(false)->take_all();
  cmd->add_option("--set-string", options->values.string_sets, "Set a value as a string (repeatable)")->allow_extra_args(false)->take_all();
  cmd->add_flag("--ha", options->ha, "The control plane was installed with --ha");
  cmd->add_option("--mesh-namespace", options->mesh_namespace, "Namespace of the control plane (default meshctl)");
  cmd->add_option("-o,--output", options->output, "Output format: yaml or json");
  cmd->callback([options, &io, &run] {
    run = [options, &io] { return run_uninstall(*options, io.out, io.err); };
  });
}

}  // namespace meshctl::cli

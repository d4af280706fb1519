#pragma once
// `meshctl install [--crds]` and `meshctl uninstall`: render the mesh's Kubernetes objects to a
// stream for `kubectl apply -f -` / `kubectl delete -f -`. Nothing is sent to a cluster.

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "core/render/values.h"
#include "core/tls/validity.h"

namespace meshctl::cli {

struct InstallOptions {
  bool crds = false;          // --crds: only the CustomResourceDefinitions
  core::render::ValueSources values;  // -f/--values, --set, --set-string (presets: see ha)
  bool ha = false;            // --ha: merge the embedded values-ha.yaml first
  bool print_values = false;  // --print-values: print the effective values and stop
  std::string trust_anchors_file;       // --identity-trust-anchors-file
  std::string issuer_certificate_file;  // --identity-issuer-certificate-file
  std::string issuer_key_file;          // --identity-issuer-key-file
  bool external_issuer = false;         // --identity-external-issuer
  std::optional<std::string> trust_domain;        // --identity-trust-domain
  std::optional<std::string> issuance_lifetime;   // --identity-issuance-lifetime
  std::optional<std::string> mesh_namespace;      // --mesh-namespace
  std::optional<std::string> controller_replicas;  // --controller-replicas (checked here, not by CLI11)
  std::string output = "yaml";                     // -o yaml|json
  // The clock certificates are checked against; unset means now. Tests move it.
  std::optional<core::tls::Time> now;
};

struct UninstallOptions {
  core::render::ValueSources values;
  bool ha = false;
  std::optional<std::string> mesh_namespace;
  std::string output = "yaml";
};

// Writes the objects to `out` only when everything rendered; progress and the error (one
// "Error: ..." line, perhaps followed by a "Hint: ..." line) go to `err`. Returns the exit code.
int run_install(const InstallOptions& options, std::ostream& out, std::ostream& err);
int run_uninstall(const UninstallOptions& options, std::ostream& out, std::ostream& err);

}  // namespace meshctl::cli

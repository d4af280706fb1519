#pragma once
// The pod mutation shared by `meshctl inject` and the proxy-injector webhook: a pure function
// from a pod (or pod template), its owner, its namespace's annotations and the mesh config to the
// mutated pod and a report entry. It knows nothing of YAML or JSON text; the webhook turns the
// difference between input and output into a JSON Patch.
//
// Injecting first removes what an earlier injection added, so injecting twice gives the same
// result as injecting once, and a pod that already has meshctl-proxy is simply injected again.

#include <string>

#include "core/inject/config.h"

namespace meshctl::core::inject {

// The object that owns the pod spec: a Deployment's template is reported as the Deployment.
struct WorkloadRef {
  std::string kind;  // as in the object: "Deployment", "Pod"
  std::string name;
  std::string ns;  // empty when the object does not say
};

enum class Outcome { Injected, Annotated, Uninjected, Skipped };

struct ReportEntry {
  std::string kind;
  std::string name;
  Outcome outcome = Outcome::Skipped;
  std::string reason;  // why it was skipped
};

// One line of the report: `deployment "web" injected`,
// `daemonset "agent" skipped: hostNetwork is enabled`.
std::string report_line(const ReportEntry& entry);

struct InjectResult {
  Json pod;  // unchanged when skipped
  ReportEntry report;
};

// `pod` is a Pod or a pod template: an object with `metadata` and `spec`.
// `namespace_annotations` are the annotations of the pod's namespace (an object, or null when
// unknown); the pod's own meshctl.io/inject and config.meshctl.io/* annotations win over them.
InjectResult inject_pod_spec(Json pod, const WorkloadRef& workload, const Json& namespace_annotations,
                             const InjectConfig& config);

// Removes exactly what inject_pod_spec adds: the proxy and init containers, their volumes and
// the meshctl.io/* annotations and labels, keeping meshctl.io/inject: disabled and every
// config.meshctl.io/* annotation. Reported uninjected, or skipped when there was nothing to remove.
InjectResult uninject_pod_spec(Json pod, const WorkloadRef& workload);

// Hex SHA-256 of the trust anchors as written into meshctl.io/trust-root-sha256.
std::string trust_root_sha256(std::string_view pem);

}  // namespace meshctl::core::inject

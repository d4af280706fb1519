#pragma once
// Inject and uninject whole Kubernetes objects: finds the pod template of each workload kind,
// annotates Namespaces, walks Lists, and passes every other kind through unchanged.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/inject/inject.h"

namespace meshctl::core::inject {

// Annotations of the namespaces known to the caller, by namespace name. The CLI fills it from
// the Namespace objects in its input; a pod's own annotations win over its namespace's.
using NamespaceAnnotations = std::map<std::string, Json, std::less<>>;

struct ObjectResult {
  Json object;
  std::vector<ReportEntry> reports;  // one per object; a List reports each item
};

// Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob and Pod.
bool is_workload_kind(std::string_view kind);

// Throws core::Error when the object (or an item of a List) has no kind.
ObjectResult inject_object(Json object, const NamespaceAnnotations& namespaces, const InjectConfig& config);
ObjectResult uninject_object(Json object);

// The annotations of every Namespace in `object` (itself or the items of a List), added to `out`.
void collect_namespaces(const Json& object, NamespaceAnnotations& out);

}  // namespace meshctl::core::inject

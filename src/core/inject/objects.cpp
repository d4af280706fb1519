#include "core/inject/objects.h"

#include <array>

#include "core/error.h"
#include "core/inject/names.h"

namespace meshctl::core::inject {
namespace {

// A value as JSON text, for messages; bad UTF-8 is replaced rather than thrown on.
std::string shown(const Json& v) { return v.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string text_at(const Json& obj, const char* a, const char* b = nullptr) {
  if (!obj.is_object()) return "";
  auto x = obj.find(a);
  if (x == obj.end()) return "";
  if (b) {
    if (!x->is_object()) return "";
    auto y = x->find(b);
    if (y == x->end()) return "";
    x = y;
  }
  return x->is_string() ? x->get<std::string>() : "";
}

std::string name_of(const Json& obj) {
  std::string name = text_at(obj, "metadata", "name");
  return name.empty() ? text_at(obj, "metadata", "generateName") : name;
}

Json* child(Json* obj, const char* key) {
  if (!obj || !obj->is_object()) return nullptr;
  auto it = obj->find(key);
  return it == obj->end() ? nullptr : &*it;
}

// Where each workload kind keeps the pod it makes.
Json* pod_of(Json& object, std::string_view kind) {
  if (kind == "Pod") return &object;
  Json* spec = child(&object, "spec");
  if (kind == "CronJob") spec = child(child(spec, "jobTemplate"), "spec");
  Json* pod = child(spec, "template");
  return pod && pod->is_object() ? pod : nullptr;
}

bool is_list(std::string_view kind, const Json& object) {
  if (kind == "List") return true;
  return kind.size() > 4 && kind.substr(kind.size() - 4) == "List" && object.contains("items");
}

using One = std::function<void(Json&, const std::string& kind, std::vector<ReportEntry>&)>;

// Calls `one` for the object, or for each item of a List. Items of a typed list (PodList) may
// leave out their kind, as the API server sends them.
ObjectResult each_object(Json object, const One& one) {
  ObjectResult r;
  const std::string kind = text_at(object, "kind");
  if (kind.empty()) throw Error("the document has no kind");
  if (!is_list(kind, object)) {
    one(object, kind, r.reports);
    r.object = std::move(object);
    return r;
  }
  const std::string item_kind = kind == "List" ? "" : kind.substr(0, kind.size() - 4);
  if (auto items = object.find("items"); items != object.end() && items->is_array()) {
    for (size_t i = 0; i < items->size(); ++i) {
      Json& item = (*items)[i];
      std::string k = text_at(item, "kind");
      if (k.empty()) k = item_kind;
      if (k.empty()) throw Error("item " + std::to_string(i + 1) + " of the List has no kind");
      if (is_list(k, item)) {
        auto nested = each_object(std::move(item), one);
        item = std::move(nested.object);
        for (auto& e : nested.reports) r.reports.push_back(std::move(e));
      } else {
        one(item, k, r.reports);
      }
    }
  }
  r.object = std::move(object);
  return r;
}

ReportEntry annotate_namespace(Json& ns, const InjectConfig& config) {
  ReportEntry e{"Namespace", name_of(ns), Outcome::Skipped, ""};
  const Json* existing = nullptr;
  if (auto md = ns.find("metadata"); md != ns.end() && md->is_object()) {
    if (auto a = md->find("annotations"); a != md->end() && a->is_object()) {
      if (auto v = a->find(std::string(kInjectAnnotation)); v != a->end()) existing = &*v;
    }
  }
  if (existing && *existing == kInjectDisabled) {
    e.reason = "annotation meshctl.io/inject is disabled";
    return e;
  }
  if (existing && *existing != kInjectEnabled && *existing != kInjectIngress) {
    e.reason = "meshctl.io/inject is " + shown(*existing) + ", not enabled, ingress or disabled";
    return e;
  }
  const bool ingress = config.ingress || (existing && *existing == kInjectIngress);
  Json& md = ns["metadata"];
  if (!md.is_object()) md = Json::object();
  Json& annotations = md["annotations"];
  if (!annotations.is_object()) annotations = Json::object();
  // Assigning keeps a key where it was, so annotating twice changes nothing.
  annotations[std::string(kInjectAnnotation)] = std::string(ingress ? kInjectIngress : kInjectEnabled);
  for (auto it = config.override_annotations.begin(); it != config.override_annotations.end(); ++it) {
    annotations[it.key()] = it.value();
  }
  e.outcome = Outcome::Annotated;
  return e;
}

ReportEntry unannotate_namespace(Json& ns) {
  ReportEntry e{"Namespace", name_of(ns), Outcome::Skipped, "not injected"};
  auto md = ns.find("metadata");
  if (md == ns.end() || !md->is_object()) return e;
  auto a = md->find("annotations");
  if (a == md->end() || !a->is_object()) return e;
  auto v = a->find(std::string(kInjectAnnotation));
  if (v == a->end() || *v == kInjectDisabled) return e;
  a->erase(v);
  if (a->empty()) md->erase(a);
  e.outcome = Outcome::Uninjected;
  e.reason.clear();
  return e;
}

}  // namespace

bool is_workload_kind(std::string_view kind) {
  static constexpr std::array<std::string_view, 8> kinds{
      "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob", "Pod"};
  for (auto k : kinds) {
    if (kind == k) return true;
  }
  return false;
}

ObjectResult inject_object(Json object, const NamespaceAnnotations& namespaces, const InjectConfig& config) {
  return each_object(std::move(object), [&](Json& obj, const std::string& kind, std::vector<ReportEntry>& reports) {
    if (kind == "Namespace") {
      reports.push_back(annotate_namespace(obj, config));
      return;
    }
    const WorkloadRef ref{kind, name_of(obj), text_at(obj, "metadata", "namespace")};
    if (!is_workload_kind(kind)) {
      reports.push_back({kind, ref.name, Outcome::Skipped, "kind not injectable"});
      return;
    }
    Json* pod = pod_of(obj, kind);
    if (!pod) {
      reports.push_back({kind, ref.name, Outcome::Skipped, "has no pod template"});
      return;
    }
    static const Json unknown = nullptr;
    auto ns = ref.ns.empty() ? namespaces.end() : namespaces.find(ref.ns);
    auto result = inject_pod_spec(std::move(*pod), ref, ns == namespaces.end() ? unknown : ns->second, config);
    *pod = std::move(result.pod);
    reports.push_back(std::move(result.report));
  });
}

ObjectResult uninject_object(Json object) {
  return each_object(std::move(object), [](Json& obj, const std::string& kind, std::vector<ReportEntry>& reports) {
    if (kind == "Namespace") {
      reports.push_back(unannotate_namespace(obj));
      return;
    }
    const WorkloadRef ref{kind, name_of(obj), text_at(obj, "metadata", "namespace")};
    if (!is_workload_kind(kind)) {
      reports.push_back({kind, ref.name, Outcome::Skipped, "kind not injectable"});
      return;
    }
    Json* pod = pod_of(obj, kind);
    if (!pod) {
      reports.push_back({kind, ref.name, Outcome::Skipped, "has no pod template"});
      return;
    }
    auto result = uninject_pod_spec(std::move(*pod), ref);
    *pod = std::move(result.pod);
    reports.push_back(std::move(result.report));
  });
}

void collect_namespaces(const Json& object, NamespaceAnnotations& out) {
  const std::string kind = text_at(object, "kind");
  if (kind == "Namespace") {
    const std::string name = name_of(object);
    if (name.empty()) return;
    Json annotations = Json::object();
    if (auto md = object.find("metadata"); md != object.end() && md->is_object()) {
      if (auto a = md->find("annotations"); a != md->end() && a->is_object()) annotations = *a;
    }
    out[name] = std::move(annotations);
  } else if (is_list(kind, object)) {
    if (auto items = object.find("items"); items != object.end() && items->is_array()) {
      for (const auto& item : *items) collect_namespaces(item, out);
    }
  }
}

}  // namespace meshctl::core::inject

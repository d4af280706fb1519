#include "core/render/manifests.h"

#include <algorithm>
#include <array>

#include "core/error.h"
#include "core/render/embedded.h"

namespace meshctl::core::render {
namespace {

// Creation order: what others refer to comes first, and the webhook last so that it never
// points at an injector that does not exist yet.
constexpr std::array<std::string_view, 17> kKindOrder = {
    "Namespace",          "CustomResourceDefinition", "ServiceAccount",      "Secret",
    "ConfigMap",          "ClusterRole",              "ClusterRoleBinding",  "Role",
    "RoleBinding",        "Service",                  "DaemonSet",           "Deployment",
    "StatefulSet",        "Job",                      "CronJob",             "PodDisruptionBudget",
    "MutatingWebhookConfiguration"};

size_t kind_rank(const Json& object) {
  // Ranks are doubled so an unknown kind can sit between the workloads and the webhooks.
  const std::string kind = object.value("kind", "");
  if (kind == "ValidatingWebhookConfiguration") return 2 * kKindOrder.size();
  auto it = std::find(kKindOrder.begin(), kKindOrder.end(), kind);
  if (it == kKindOrder.end()) return 2 * (kKindOrder.size() - 1) - 1;
  return 2 * static_cast<size_t>(it - kKindOrder.begin());
}

bool is_separator(std::string_view line) {
  if (line.substr(0, 3) != "---") return false;
  return line.size() == 3 || line[3] == ' ' || line[3] == '\t';
}

// The message of a YAML error about `source`, with its line moved from the output to the
// template. The YAML reader reports "<source>:<line>: <problem>" (yaml_json.h).
[[noreturn]] void rethrow_at_template_line(const Error& e, std::string_view marker, int first_output_line,
                                          std::string_view source, const RenderedText& rendered) {
  std::string msg = e.what();
  int output_line = first_output_line;
  if (msg.rfind(marker, 0) == 0 && msg.size() > marker.size() && msg[marker.size()] == ':') {
    size_t end = msg.find(':', marker.size() + 1);
    try {
      output_line = first_output_line + std::stoi(msg.substr(marker.size() + 1, end - marker.size() - 1)) - 1;
    } catch (const std::exception&) {
    }
    if (end != std::string::npos) msg = msg.substr(end + 1);
    if (!msg.empty() && msg.front() == ' ') msg.erase(0, 1);
  }
  throw Error(std::string(source) + ":" + std::to_string(rendered.source_line(output_line)) +
              ": the template renders invalid YAML (output line " + std::to_string(output_line) + "): " + msg);
}

void check_object(const Json& object, std::string_view source, int line) {
  auto fail = [&](const std::string& why) {
    throw Error(std::string(source) + ":" + std::to_string(line) + ": " + why);
  };
  if (!object.is_object()) fail("a rendered document must be a Kubernetes object, not a scalar or a list");
  for (const char* key : {"apiVersion", "kind"}) {
    if (!object.contains(key) || !object[key].is_string() || object[key].get_ref<const std::string&>().empty()) {
      fail(std::string("a rendered object has no ") + key);
    }
  }
  const Json* meta = object.contains("metadata") ? &object["metadata"] : nullptr;
  if (!meta || !meta->is_object() || !meta->contains("name") || !(*meta)["name"].is_string()) {
    fail("a rendered " + object["kind"].get<std::string>() + " has no metadata.name");
  }
  const std::string what = object["kind"].get<std::string>() + " " + (*meta)["name"].get<std::string>();
  const Json labels = meta->value("labels", Json::object());
  for (std::string_view label : {kControlPlaneNsLabel, kPartOfLabel}) {
    if (!labels.is_object() || !labels.contains(std::string(label))) {
      fail(what + " lacks the label " + std::string(label) + ", which uninstall relies on");
    }
  }
}

}  // namespace

std::vector<Json> parse_rendered(std::string_view source, const RenderedText& rendered) {
  // Split on "---" lines ourselves so each document's first output line is known.
  std::vector<Json> objects;
  const std::string& text = rendered.text;
  std::string doc;
  int doc_first_line = 1;
  int line_no = 0;
  // A marker no real template name contains, so the YAML reader's location can be recognised.
  constexpr std::string_view marker = "\x1f" "rendered";
  auto flush = [&] {
    if (doc.find_first_not_of(" \t\r\n") == std::string::npos) return;
    Json value;
    try {
      value = yaml::parse_document(doc, marker);
    } catch (const Error& e) {
      rethrow_at_template_line(e, marker, doc_first_line, source, rendered);
    }
    if (value.is_null()) return;  // only comments
    // The first line that holds content is the best line to blame for a bad object.
    int content_line = doc_first_line;
    for (size_t pos = 0; pos < doc.size();) {
      const size_t nl = doc.find('\n', pos);
      const std::string_view l(doc.data() + pos, (nl == std::string::npos ? doc.size() : nl) - pos);
      const size_t first = l.find_first_not_of(" \t\r");
      if (first != std::string_view::npos && l[first] != '#') break;
      ++content_line;
      pos = nl == std::string::npos ? doc.size() : nl + 1;
    }
    check_object(value, source, rendered.source_line(content_line));
    objects.push_back(std::move(value));
  };
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    const std::string_view line(text.data() + pos, (nl == std::string::npos ? text.size() : nl) - pos);
    ++line_no;
    if (is_separator(line)) {
      flush();
      doc.clear();
      doc_first_line = line_no + 1;
    } else {
      doc.append(line);
      doc += '\n';
    }
    pos = nl == std::string::npos ? text.size() : nl + 1;
  }
  flush();
  return objects;
}

std::vector<Json> render_manifests(std::string_view dir, const Json& context) {
  std::string prefix(dir);
  if (!prefix.empty() && prefix.back() != '/') prefix += '/';
  TemplateSet set;
  std::vector<std::string> outputs;
  for (const auto& file : embedded_files()) {
    if (file.path.substr(0, prefix.size()) != prefix) continue;
    const std::string name = "manifests/" + std::string(file.path);
    set.add(name, file.content);
    const std::string_view base = file.path.substr(file.path.rfind('/') + 1);
    if (!base.empty() && base.front() != '_' && (base.ends_with(".yaml") || base.ends_with(".yml"))) {
      outputs.push_back(name);
    }
  }
  if (outputs.empty()) throw Error("no templates under manifests/" + prefix + " in this build");

  struct Entry {
    Json object;
    size_t rank;
    size_t order;
  };
  std::vector<Entry> entries;
  for (const auto& name : outputs) {  // embedded_files() is sorted by path
    for (auto& object : parse_rendered(name, set.render(name, context))) {
      const size_t rank = kind_rank(object);
      entries.push_back({std::move(object), rank, entries.size()});
    }
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.rank < b.rank; });
  std::vector<Json> objects;
  objects.reserve(entries.size());
  for (auto& e : entries) objects.push_back(std::move(e.object));
  return objects;
}

std::string to_yaml_stream(const std::vector<Json>& objects) {
  std::string out;
  for (const auto& object : objects) {
    out += "---\n";
    out += yaml::to_yaml(object);
  }
  return out;
}

std::string to_json_list(const std::vector<Json>& objects) {
  Json list = Json::object();
  list["apiVersion"] = "v1";
  list["kind"] = "List";
  list["items"] = objects;
  return list.dump(2) + "\n";
}

}  // namespace meshctl::core::render

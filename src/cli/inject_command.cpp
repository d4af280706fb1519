#include "cli/inject_command.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <istream>
#include <memory>
#include <ostream>
#include <sstream>

#include "cli/command.h"
#include "core/error.h"
#include "core/inject/names.h"
#include "core/inject/objects.h"
#include "core/version.h"
#include "core/yaml/manifest_stream.h"

namespace meshctl::cli {
namespace {

namespace fs = std::filesystem;
namespace inj = core::inject;
using core::Error;
using core::yaml::Json;
using core::yaml::ManifestStream;
using core::yaml::StreamFormat;

struct Source {
  std::string name;
  std::string text;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(path + ": cannot read: " + std::strerror(errno));
  return text.str();
}

// Files in the order given; a directory's manifests (.yaml, .yml, .json) in path order, so the
// output does not depend on the filesystem.
std::vector<Source> read_inputs(const std::vector<std::string>& inputs, std::istream& in) {
  std::vector<Source> sources;
  for (const auto& input : inputs) {
    if (input == "-") {
      std::ostringstream text;
      text << in.rdbuf();
      sources.push_back({"<stdin>", text.str()});
      continue;
    }
    std::error_code ec;
    const auto status = fs::status(input, ec);
    if (ec || !fs::exists(status)) {
      throw Error(input + ": cannot read: " + (ec ? ec.message() : std::string(std::strerror(ENOENT))));
    }
    if (!fs::is_directory(status)) {
      sources.push_back({input, read_file(input)});
      continue;
    }
    std::vector<std::string> files;
    fs::recursive_directory_iterator it(input, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const auto ext = it->path().extension();
      if (it->is_regular_file(ec) && (ext == ".yaml" || ext == ".yml" || ext == ".json")) {
        files.push_back(it->path().string());
      }
    }
    if (ec) throw Error(input + ": cannot read: " + ec.message());
    std::sort(files.begin(), files.end());
    for (auto& f : files) {
      std::string text = read_file(f);
      sources.push_back({std::move(f), std::move(text)});
    }
  }
  return sources;
}

bool starts_with_marker(const std::string& text) {
  return text.rfind("---", 0) == 0 &&
         (text.size() == 3 || text[3] == ' ' || text[3] == '\t' || text[3] == '\r' || text[3] == '\n');
}

using Transform = std::function<inj::ObjectResult(Json, const inj::NamespaceAnnotations&)>;
using Summary = std::function<std::string(const std::vector<inj::ReportEntry>&)>;

// Reads every input, transforms every document, then writes: the manifests to `out`, one report
// line per object and a summary to `err`. Any error stops the run before anything is written.
int transform_inputs(const std::vector<std::string>& inputs, std::istream& in, std::ostream& out, std::ostream& err,
                     const std::function<Transform()>& prepare, const Summary& summary) {
  std::string output;
  std::vector<inj::ReportEntry> reports;
  try {
    if (inputs.empty()) {
      throw Error("no input: give files, directories or - for stdin",
                  "kubectl get deploy -o yaml | meshctl inject - | kubectl apply -f -");
    }
    const Transform transform = prepare();
    std::vector<ManifestStream> streams;
    for (auto& source : read_inputs(inputs, in)) streams.emplace_back(std::move(source.text), std::move(source.name));

    // Namespaces first, wherever they are in the input: their annotations apply to the pods in them.
    inj::NamespaceAnnotations namespaces;
    for (const auto& stream : streams) {
      for (size_t i = 0; i < stream.size(); ++i) inj::collect_namespaces(stream.document(i), namespaces);
    }

    StreamFormat previous = StreamFormat::Json;
    for (const auto& stream : streams) {
      std::vector<Json> values;
      values.reserve(stream.size());
      for (size_t i = 0; i < stream.size(); ++i) {
        const Json& doc = stream.document(i);
        if (!doc.is_object() || !doc.contains("kind")) throw stream.error(i, "the document has no kind");
        inj::ObjectResult result;
        try {
          result = transform(doc, namespaces);
        } catch (const Error& e) {
          throw stream.error(i, e.what());
        }
        values.push_back(std::move(result.object));
        for (auto& r : result.reports) reports.push_back(std::move(r));
      }
      const std::string text = stream.render(values);
      if (text.empty()) continue;
      if (!output.empty()) {
        if (output.back() != '\n') output += '\n';
        // JSON documents follow each other as they are; anything with YAML needs a marker.
        const bool all_json = previous == StreamFormat::Json && stream.format() == StreamFormat::Json;
        if (!all_json && !starts_with_marker(text)) output += "---\n";
      }
      output += text;
      previous = stream.format();
    }
  } catch (const Error& e) {
    err << "Error: " << e.what() << "\n";
    if (!e.hint().empty()) err << "Hint: " << e.hint() << "\n";
    return 1;
  }
  out << output;
  out.flush();
  for (const auto& r : reports) err << inj::report_line(r) << "\n";
  err << summary(reports);
  return 0;
}

size_t count(const std::vector<inj::ReportEntry>& reports, inj::Outcome outcome) {
  return static_cast<size_t>(std::count_if(reports.begin(), reports.end(),
                                           [&](const inj::ReportEntry& r) { return r.outcome == outcome; }));
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

// Checks every flag value and turns the proxy settings into config.meshctl.io annotations.
Json override_annotations(const InjectOptions& o) {
  Json a = Json::object();
  auto bad = [](const char* flag, const std::string& problem) { return Error(std::string(flag) + ": " + problem); };
  auto ports = [&](const char* flag, const std::vector<std::string>& values, std::string_view key) {
    if (values.empty()) return;
    const std::string text = join(values);
    if (auto problem = inj::check_ports(text)) throw bad(flag, *problem);
    a[std::string(key)] = inj::normalize_ports(text);
  };
  auto checked = [&](const char* flag, const std::optional<std::string>& value, std::string_view key,
                     std::optional<std::string> (*check)(std::string_view)) {
    if (!value) return;
    if (auto problem = check(*value)) throw bad(flag, *problem);
    a[std::string(key)] = *value;
  };
  checked("--proxy-log-level", o.proxy_log_level, inj::kProxyLogLevelAnnotation, inj::check_log_level);
  ports("--skip-inbound-ports", o.skip_inbound_ports, inj::kSkipInboundPortsAnnotation);
  ports("--skip-outbound-ports", o.skip_outbound_ports, inj::kSkipOutboundPortsAnnotation);
  ports("--opaque-ports", o.opaque_ports, inj::kOpaquePortsAnnotation);
  checked("--default-inbound-policy", o.default_inbound_policy, inj::kDefaultInboundPolicyAnnotation,
          inj::check_inbound_policy);
  checked("--proxy-image", o.proxy_image, inj::kProxyImageAnnotation, inj::check_image);
  checked("--proxy-cpu-request", o.proxy_cpu_request, inj::kProxyCpuRequestAnnotation, inj::check_quantity);
  checked("--proxy-cpu-limit", o.proxy_cpu_limit, inj::kProxyCpuLimitAnnotation, inj::check_quantity);
  checked("--proxy-memory-request", o.proxy_memory_request, inj::kProxyMemoryRequestAnnotation, inj::check_quantity);
  checked("--proxy-memory-limit", o.proxy_memory_limit, inj::kProxyMemoryLimitAnnotation, inj::check_quantity);
  if (o.native_sidecar) a[std::string(inj::kNativeSidecarAnnotation)] = "true";
  return a;
}

inj::InjectConfig inject_config(const InjectOptions& o) {
  const Json overrides = override_annotations(o);
  core::render::ValueSources sources = o.values;
  if (o.mesh_namespace) {
    const std::string& ns = *o.mesh_namespace;
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    const bool label = !ns.empty() && ns.size() <= 63 && alnum(ns.front()) && alnum(ns.back()) &&
                       std::all_of(ns.begin(), ns.end(), [&](char c) { return alnum(c) || c == '-'; });
    if (!label) {
      throw Error("--mesh-namespace: \"" + *o.mesh_namespace + "\" is not a namespace name (a DNS label)");
    }
    sources.string_sets.push_back("meshNamespace=" + *o.mesh_namespace);
  }
  Json values = core::render::load_values(sources);
  if (o.trust_anchors_file) {
    try {
      values["identityTrustAnchorsPEM"] = read_file(*o.trust_anchors_file);
    } catch (const Error& e) {
      throw Error(std::string("--identity-trust-anchors-file ") + e.what());
    }
  }
  inj::InjectConfig c = inj::config_from_values(values);
  c.mode = o.manual ? inj::Mode::Manual : inj::Mode::Annotate;
  c.ingress = o.ingress;
  c.created_by = "meshctl/cli " + std::string(core::version());
  c.override_annotations = overrides;
  if (o.manual) {
    if (c.trust_anchors_pem.empty()) {
      throw Error("--manual needs the mesh's trust anchors to write into the proxy's environment",
                  "pass --identity-trust-anchors-file with the anchors the control plane was installed with, "
                  "or set identityTrustAnchorsPEM in a values file");
    }
    if (c.trust_anchors_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      throw Error(std::string(o.trust_anchors_file ? "--identity-trust-anchors-file " + *o.trust_anchors_file
                                                   : "identityTrustAnchorsPEM") +
                  ": no PEM certificate in it");
    }
  }
  return c;
}

}  // namespace

int run_inject(const InjectOptions& options, std::istream& in, std::ostream& out, std::ostream& err) {
  auto prepare = [&options]() -> Transform {
    auto config = std::make_shared<const inj::InjectConfig>(inject_config(options));
    return [config](Json object, const inj::NamespaceAnnotations& namespaces) {
      return inj::inject_object(std::move(object), namespaces, *config);
    };
  };
  auto summary = [](const std::vector<inj::ReportEntry>& reports) {
    return "inject: " + std::to_string(count(reports, inj::Outcome::Injected)) + " injected, " +
           std::to_string(count(reports, inj::Outcome::Skipped)) + " skipped, " +
           std::to_string(count(reports, inj::Outcome::Annotated)) + " annotated\n";
  };
  return transform_inputs(options.inputs, in, out, err, prepare, summary);
}

int run_uninject(const UninjectOptions& options, std::istream& in, std::ostream& out, std::ostream& err) {
  auto prepare = []() -> Transform {
    return [](Json object, const inj::NamespaceAnnotations&) { return inj::uninject_object(std::move(object)); };
  };
  auto summary = [](const std::vector<inj::ReportEntry>& reports) {
    return "uninject: " + std::to_string(count(reports, inj::Outcome::Uninjected)) + " uninjected, " +
           std::to_string(count(reports, inj::Outcome::Skipped)) + " skipped\n";
  };
  return transform_inputs(options.inputs, in, out, err, prepare, summary);
}

void add_inject_command(CLI::App& app, const Io& io, Runner& run) {
  auto o = std::make_shared<InjectOptions>();
  auto* cmd = app.add_subcommand("inject", "Add the meshctl proxy to Kubernetes workloads");
  cmd->footer(
      "Reads Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers, Jobs, CronJobs,\n"
      "Pods, Namespaces and Lists of them as YAML or JSON, and writes them back in the same format with\n"
      "everything else untouched. By default it only annotates the pod templates with meshctl.io/inject\n"
      "so that the proxy injector adds the proxy; --manual writes the proxy into the spec.\n"
      "A report goes to stderr.\n\n"
      "  kubectl get deploy -o yaml | meshctl inject - | kubectl apply -f -\n"
      "  meshctl inject --manual --identity-trust-anchors-file ca.crt k8s/ > injected.yaml");
  cmd->add_option("inputs", o->inputs, "Files, directories (read recursively) or - for stdin");
  cmd->add_flag("--manual", o->manual, "Write the proxy and its init container into the spec");
  cmd->add_flag("--native-sidecar", o->native_sidecar,
                "Run the proxy as a native sidecar (an init container with restartPolicy Always)");
  cmd->add_flag("--ingress", o->ingress, "Inject in ingress mode (meshctl.io/inject: ingress)");
  auto single = [&](const char* name, std::optional<std::string>& field, const char* help) {
    cmd->add_option_function<std::string>(name, [&field](const std::string& v) { field = v; }, help)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  };
  auto repeated = [&](const char* name, std::vector<std::string>& field, const char* help) {
    cmd->add_option(name, field, help)->allow_extra_args(false);
  };
  single("--proxy-log-level", o->proxy_log_level, "Proxy log filter, such as warn,meshctl=debug");
  repeated("--skip-inbound-ports", o->skip_inbound_ports, "Inbound ports and ranges that bypass the proxy");
  repeated("--skip-outbound-ports", o->skip_outbound_ports, "Outbound ports and ranges that bypass the proxy");
  repeated("--opaque-ports", o->opaque_ports, "Ports and ranges carried as opaque TCP, without protocol detection");
  single("--default-inbound-policy", o->default_inbound_policy,
         "all-unauthenticated, all-authenticated, cluster-unauthenticated, cluster-authenticated, deny or audit");
  single("--proxy-image", o->proxy_image, "Proxy image, with or without a tag");
  single("--proxy-cpu-request", o->proxy_cpu_request, "Proxy CPU request, such as 100m");
  single("--proxy-cpu-limit", o->proxy_cpu_limit, "Proxy CPU limit, such as 1");
  single("--proxy-memory-request", o->proxy_memory_request, "Proxy memory request, such as 20Mi");
  single("--proxy-memory-limit", o->proxy_memory_limit, "Proxy memory limit, such as 250Mi");
  repeated("-f,--values", o->values.files, "Mesh values file (YAML), as given to install; repeatable");
  repeated("--set", o->values.sets, "Mesh value, key=value (typed); repeatable");
  repeated("--set-string", o->values.string_sets, "Mesh value, key=value (always a string); repeatable");
  single("--mesh-namespace", o->mesh_namespace, "Namespace of the control plane (default meshctl)");
  single("--identity-trust-anchors-file", o->trust_anchors_file,
         "PEM trust anchors of the mesh (needed by --manual unless the values hold them)");
  cmd->callback([&io, &run, o] { run = [&io, o] { return run_inject(*o, io.in, io.out, io.err); }; });
}

void add_uninject_command(CLI::App& app, const Io& io, Runner& run) {
  auto o = std::make_shared<UninjectOptions>();
  auto* cmd = app.add_subcommand("uninject", "Remove the meshctl proxy from Kubernetes workloads");
  cmd->footer(
      "Removes what meshctl inject added: the meshctl-proxy and meshctl-init containers, their volumes\n"
      "and the meshctl.io annotations and labels (meshctl.io/inject: disabled and config.meshctl.io/*\n"
      "annotations stay). A report goes to stderr.\n\n"
      "  kubectl get deploy web -o yaml | meshctl uninject - | kubectl apply -f -");
  cmd->add_option("inputs", o->inputs, "Files, directories (read recursively) or - for stdin");
  cmd->callback([&io, &run, o] { run = [&io, o] { return run_uninject(*o, io.in, io.out, io.err); }; });
}

}  // namespace meshctl::cli

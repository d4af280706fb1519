#pragma once
// `meshctl inject` and `meshctl uninject`: read manifests from files, directories and stdin,
// add (or remove) the proxy, write the manifests to `out` in their own format and style and a
// report to `err`. Output is buffered: on any error `out` gets nothing and `err` one line.

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "core/render/values.h"

namespace meshctl::cli {

struct InjectOptions {
  std::vector<std::string> inputs;  // files, directories (walked recursively), "-" for stdin
  bool manual = false;              // write the proxy into the spec instead of annotating
  bool native_sidecar = false;
  bool ingress = false;
  // Proxy settings; each given one becomes a config.meshctl.io/* annotation on the template.
  std::optional<std::string> proxy_log_level;
  std::vector<std::string> skip_inbound_ports;
  std::vector<std::string> skip_outbound_ports;
  std::vector<std::string> opaque_ports;
  std::optional<std::string> default_inbound_policy;
  std::optional<std::string> proxy_image;
  std::optional<std::string> proxy_cpu_request;
  std::optional<std::string> proxy_cpu_limit;
  std::optional<std::string> proxy_memory_request;
  std::optional<std::string> proxy_memory_limit;
  // The mesh: values as for install, the control plane's namespace and its trust anchors.
  core::render::ValueSources values;
  std::optional<std::string> mesh_namespace;
  std::optional<std::string> trust_anchors_file;
};

struct UninjectOptions {
  std::vector<std::string> inputs;
};

int run_inject(const InjectOptions& options, std::istream& in, std::ostream& out, std::ostream& err);
int run_uninject(const UninjectOptions& options, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace meshctl::cli

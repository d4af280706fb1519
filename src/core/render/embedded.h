#pragma once
// Files under manifests/ compiled into the binary, so a single executable can render the
// whole control plane without reading anything from disk.

#include <optional>
#include <string_view>
#include <vector>

namespace meshctl::core::render {

struct EmbeddedFile {
  std::string_view path;  // relative to manifests/, e.g. "crds/server.yaml"
  std::string_view content;
};

// Every embedded file, sorted by path.
const std::vector<EmbeddedFile>& embedded_files();

// The content of one embedded file, or nothing when no file has that path.
std::optional<std::string_view> embedded_file(std::string_view path);

}  // namespace meshctl::core::render

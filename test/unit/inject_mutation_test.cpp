// Replays deterministic mutations of the golden inputs through the whole inject path: whatever
// still parses must come out as text that reads back as exactly the injected values, unchanged
// documents byte for byte. This is the styled emitter's contract under odd input.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/error.h"
#include "core/inject/objects.h"
#include "core/render/values.h"
#include "core/yaml/manifest_stream.h"

using namespace meshctl::core;
using yaml::Json;

namespace {

std::vector<std::string> golden_inputs() {
  std::vector<std::string> texts;
  const auto dir = std::filesystem::path(MESHCTL_SOURCE_DIR) / "test/golden/testdata/inject";
  std::vector<std::filesystem::path> paths;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().string().find(".input.") != std::string::npos) paths.push_back(e.path());
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& p : paths) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    texts.push_back(s.str());
  }
  return texts;
}

std::string mutate(std::string text, std::mt19937& rng) {
  static const std::vector<std::string> pieces{
      ":", " ", "-", "- ", "\n", "  ", "'", "\"", "|", "|-", ">+", "#", "{", "}", "[", "]", ",", "~",
      "&a ", "*a", "!!str ", "\t", "---\n", "...\n", "null", "yes", "0x1F", "\r\n", "\\", "é", "? "};
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits && !text.empty(); ++e) {
    const size_t at = rng() % text.size();
    switch (rng() % 3) {
      case 0:
        text.erase(at, 1 + rng() % 4);
        break;
      case 1:
        text.insert(at, pieces[rng() % pieces.size()]);
        break;
      default:
        text[at] = pieces[rng() % pieces.size()][0];
        break;
    }
  }
  return text;
}

}  // namespace

TEST_CASE("mutated manifests still come out as what inject meant", "[inject][yaml]") {
  inject::InjectConfig config = inject::config_from_values(render::default_values());
  config.mode = inject::Mode::Manual;
  config.trust_anchors_pem = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n";
  const auto inputs = golden_inputs();
  REQUIRE(inputs.size() >= 10);
  std::mt19937 rng(20240611);
  size_t parsed = 0, changed = 0;
  for (int round = 0; round < 1500; ++round) {
    const std::string text = mutate(inputs[static_cast<size_t>(round) % inputs.size()], rng);
    std::optional<yaml::ManifestStream> stream;
    try {
      stream.emplace(text, "mutated");
    } catch (const Error&) {
      continue;  // rejected cleanly
    }
    ++parsed;
    std::vector<Json> values;
    for (size_t i = 0; i < stream->size(); ++i) {
      Json v = stream->document(i);
      try {
        v = inject::inject_object(v, {}, config).object;
      } catch (const Error&) {
        // no kind: left as it is
      }
      if (v != stream->document(i)) ++changed;
      values.push_back(std::move(v));
    }
    const std::string out = stream->render(values);
    INFO("input:\n" << text << "\noutput:\n" << out);
    std::optional<yaml::ManifestStream> again;
    REQUIRE_NOTHROW(again.emplace(out, "output"));
    REQUIRE(again->size() == values.size());
    for (size_t i = 0; i < values.size(); ++i) CHECK(again->document(i) == values[i]);
  }
  CHECK(parsed > 300);
  CHECK(changed > 100);
}

#pragma once
// Golden files: expected output checked into test/golden/testdata/, compared as YAML (so key
// order, quoting and block style do not matter, but every value does) and rewritten when the
// environment has MESHCTL_UPDATE_GOLDEN=1. A mismatch prints the paths that differ.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/yaml/yaml_json.h"

namespace meshctl::test {

using Json = core::yaml::Json;

inline std::string testdata(const std::string& relative) {
  return std::string(MESHCTL_SOURCE_DIR) + "/test/golden/testdata/" + relative;
}

inline bool updating_golden() {
  const char* v = std::getenv("MESHCTL_UPDATE_GOLDEN");
  return v && std::string(v) == "1";
}

inline std::string short_dump(const Json& v) {
  std::string s = v.dump();
  return s.size() > 120 ? s.substr(0, 117) + "..." : s;
}

// Lists where `got` differs from `want`, at most `limit` lines.
inline void json_diff(const Json& want, const Json& got, const std::string& path, std::vector<std::string>& out,
                      size_t limit = 40) {
  if (out.size() >= limit) return;
  if (want.is_object() && got.is_object()) {
    for (auto it = want.begin(); it != want.end(); ++it) {
      if (!got.contains(it.key())) {
        out.push_back(path + "." + it.key() + ": missing (golden has " + short_dump(it.value()) + ")");
      } else {
        json_diff(it.value(), got[it.key()], path + "." + it.key(), out, limit);
      }
      if (out.size() >= limit) return;
    }
    for (auto it = got.begin(); it != got.end(); ++it) {
      if (!want.contains(it.key())) out.push_back(path + "." + it.key() + ": unexpected " + short_dump(it.value()));
      if (out.size() >= limit) return;
    }
    return;
  }
  if (want.is_array() && got.is_array()) {
    if (want.size() != got.size()) {
      out.push_back(path + ": golden has " + std::to_string(want.size()) + " items, got " + std::to_string(got.size()));
    }
    for (size_t i = 0; i < std::min(want.size(), got.size()); ++i) {
      json_diff(want[i], got[i], path + "[" + std::to_string(i) + "]", out, limit);
    }
    return;
  }
  if (want != got) out.push_back(path + ": golden " + short_dump(want) + ", got " + short_dump(got));
}

inline std::string document_name(const Json& doc, size_t i) {
  std::string name = "doc[" + std::to_string(i) + "]";
  if (doc.is_object() && doc.contains("kind") && doc.contains("metadata") && doc["metadata"].is_object()) {
    name += " " + doc["kind"].get<std::string>() + "/" + doc["metadata"].value("name", "?");
  }
  return name;
}

// Compares `actual` (a YAML stream, or one JSON document) with the golden file.
inline void check_golden(const std::string& relative, const std::string& actual) {
  const std::string path = testdata(relative);
  if (updating_golden()) {
    std::ofstream(path, std::ios::binary) << actual;
    WARN("rewrote " << relative);
    return;
  }
  std::ifstream in(path, std::ios::binary);
  INFO("golden file " << relative << " (run with MESHCTL_UPDATE_GOLDEN=1 to create or rewrite it)");
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  const auto want = core::yaml::parse_stream(ss.str(), relative);
  const auto got = core::yaml::parse_stream(actual, "output");
  std::vector<std::string> diffs;
  if (want.size() != got.size()) {
    diffs.push_back("golden has " + std::to_string(want.size()) + " documents, output has " +
                    std::to_string(got.size()));
  }
  for (size_t i = 0; i < std::min(want.size(), got.size()); ++i) {
    json_diff(want[i], got[i], document_name(want[i], i), diffs);
  }
  std::string report;
  for (const auto& d : diffs) report += "  " + d + "\n";
  INFO("differences:\n" << report);
  CHECK(diffs.empty());
}

}  // namespace meshctl::test

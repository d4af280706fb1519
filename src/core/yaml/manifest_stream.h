#pragma once
// A file of Kubernetes manifests, read so that it can be written back with some documents
// changed and everything else exactly as it was: a YAML stream is split into documents on its
// marker lines, a JSON file into its top-level values. A document whose value is unchanged is
// written back byte for byte; a changed one is re-emitted in its own style (styled_yaml.h) or,
// for JSON, indented by two spaces. Splitting on marker lines (which YAML forbids inside
// content) also keeps large streams linear and tells every document's first line for errors.

#include <string>
#include <vector>

#include "core/error.h"
#include "core/yaml/yaml_json.h"

namespace meshctl::core::yaml {

enum class StreamFormat { Yaml, Json };

// A problem with one document: "<source>: document <n>, line <l>: <problem>".
class ManifestError : public Error {
 public:
  ManifestError(const std::string& source, int document, int line, const std::string& problem)
      : Error(source + ": document " + std::to_string(document) + ", line " + std::to_string(line) + ": " +
              problem),
        document_(document),
        line_(line) {}
  int document() const { return document_; }
  int line() const { return line_; }

 private:
  int document_;
  int line_;
};

class ManifestStream {
 public:
  // JSON when the first character that is not white space is '{' or '['; YAML otherwise.
  // Throws ManifestError for malformed YAML or JSON.
  ManifestStream(std::string text, std::string source);

  StreamFormat format() const { return format_; }
  const std::string& source() const { return source_; }

  // Documents with content, in order; a YAML document of comments alone is not one.
  size_t size() const { return docs_.size(); }
  const Json& document(size_t i) const { return docs_[i].value; }
  // 1-based line where document i's content starts.
  int line(size_t i) const { return docs_[i].line; }
  // An error about document i (numbered from 1 in the message).
  ManifestError error(size_t i, const std::string& problem) const;

  // The stream with document i's value replaced by values[i] (values.size() == size()).
  std::string render(const std::vector<Json>& values) const;

 private:
  struct Doc {
    Json value;
    int line = 0;        // where its content starts
    int first_line = 0;  // where its text starts
    size_t begin = 0;    // its text: [begin, end) of text_
    size_t end = 0;
    size_t body = 0;          // where the content starts: text before it is kept (marker, comments)
    size_t suffix = 0;        // where trailing comments start: text from here is kept
    bool inline_marker = false;  // content starts on the "---" line itself
  };

  void split_yaml();
  void split_json();

  std::string text_;
  std::string source_;
  StreamFormat format_ = StreamFormat::Yaml;
  std::vector<Doc> docs_;
};

}  // namespace meshctl::core::yaml

#pragma once
// A YAML document read into a JSON value together with how it was written, so that a program
// can change the value and write it back looking like the original: untouched scalars keep their
// quoting, block scalars (| and >, with their chomping) and raw plain text (0x1F, yes), maps keep
// their key order, flow collections stay flow, and the document keeps its indentation width and
// its choice of indenting sequences under their key or not. Comments are not kept: callers that
// must keep a document's comments write it back unchanged when its value did not change.

#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/yaml/yaml_json.h"

namespace meshctl::core::yaml {

// Malformed YAML, with the 1-based line of the whole source where the parser stopped.
class SyntaxError : public Error {
 public:
  SyntaxError(int line, std::string problem)
      : Error("line " + std::to_string(line) + ": " + problem), line_(line), problem_(std::move(problem)) {}
  int line() const { return line_; }
  const std::string& problem() const { return problem_; }

 private:
  int line_;
  std::string problem_;
};

// How a document lays out its block collections; new content follows it.
struct Layout {
  int map_indent = 2;   // a nested map's keys, relative to its parent's keys
  int seq_indent = 2;   // a sequence's dashes relative to its key (0: "indentless" sequences)
  int item_indent = 2;  // a map's keys relative to the dash of the sequence that holds it
  bool crlf = false;    // lines end in "\r\n"
};

struct StyleNode;  // the style tree, private to styled_yaml.cpp

class StyledDocument {
 public:
  StyledDocument();
  StyledDocument(StyledDocument&&) noexcept;
  StyledDocument& operator=(StyledDocument&&) noexcept;
  ~StyledDocument();

  // Null for a document with no content (only comments or markers).
  const Json& value() const { return *value_; }
  const Layout& layout() const { return layout_; }

  // Moves the value out and forgets the style, for callers that only want the value.
  Json take_value();

  // Block YAML for `updated`, styled like this document wherever the two agree: maps are matched
  // by key, sequence items by their `name` field, else by equal value, else by position. Ends in
  // a newline; has no document markers.
  std::string emit(const Json& updated) const;

 private:
  friend StyledDocument parse_styled(std::string_view text, int first_line);
  std::unique_ptr<Json> value_;  // a stable address: the style tree points into it
  std::unique_ptr<StyleNode> root_;
  Layout layout_;
};

// Parses one YAML document (at most one: split streams first). `first_line` is the 1-based line
// of the text's first line in its source. Scalars are typed exactly as parse_document types
// them. Throws SyntaxError for malformed YAML, duplicate keys and non-scalar keys.
StyledDocument parse_styled(std::string_view text, int first_line = 1);

// Text of `s` as a double-quoted YAML scalar.
std::string double_quoted(std::string_view s);

}  // namespace meshctl::core::yaml

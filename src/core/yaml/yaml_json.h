#pragma once
// Kubernetes objects are JSON values whatever their text: these convert YAML text to an ordered
// JSON value (key order kept, plain scalars typed as YAML 1.2's core schema types them, quoted
// scalars always strings) and an ordered JSON value back to block-style YAML.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace meshctl::core::yaml {

using Json = nlohmann::ordered_json;

// Parses one YAML document. `source` names the text in errors ("values.yaml"), `first_line`
// is the 1-based line of the text's first line within that source. Throws core::Error
// "<source>:<line>: <problem>" on malformed YAML.
Json parse_document(std::string_view text, std::string_view source, int first_line = 1);

// Parses every document of a multi-document stream; empty documents are skipped.
std::vector<Json> parse_stream(std::string_view text, std::string_view source);

// Block-style YAML for a value, two-space indentation, sequences indented under their key,
// strings quoted only where a plain scalar would read back as something else. Ends in "\n".
std::string to_yaml(const Json& value);

// True when `s` written as a plain scalar would read back as the same string.
bool plain_scalar_safe(std::string_view s);

// The value an untagged plain scalar stands for under the typing parse_document uses
// ("8080" is a number, "true" a boolean, "~" null, anything else a string).
Json plain_scalar_value(std::string_view text);

}  // namespace meshctl::core::yaml

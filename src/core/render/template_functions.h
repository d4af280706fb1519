#pragma once
// The functions templates may call, with Helm's names and argument order (the piped value is
// the last argument), and the conversions the engine shares with them.
//
//   strings:  quote squote lower upper trim trimSuffix trimPrefix replace contains hasPrefix
//             hasSuffix printf print toString indent nindent b64enc b64dec sha256sum
//             splitList join repeat
//   values:   default empty coalesce required fail ternary toYaml toJson list dict hasKey keys
//             index len until int float64 kindIs
//   logic:    eq ne lt le gt ge not and or (and / or evaluate their arguments lazily)
//   numbers:  add sub mul div mod max min
//   engine:   include "name" data, template "name" data (an action)

#include <map>
#include <stdexcept>
#include <string>

#include "core/render/template.h"

namespace meshctl::core::render {

// Thrown by a function, or by the engine, for a problem the engine then locates: it becomes a
// core::Error prefixed with the template and line.
class TemplateFault : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::map<std::string, TemplateFunction> builtin_template_functions();

// Go's notion of truth: false, 0, null and empty strings, lists and maps are false.
bool template_truth(const Json& v);

// How a value prints in template output: strings as they are, numbers as Go prints them, null
// as nothing. Maps and lists have no text form: write toYaml or toJson.
std::string template_text(const Json& v);

// "a string", "a map", ... for error messages.
std::string template_kind(const Json& v);

}  // namespace meshctl::core::render

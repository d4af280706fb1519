#include "core/yaml/manifest_stream.h"

#include <algorithm>
#include <string_view>

#include "core/yaml/styled_yaml.h"

namespace meshctl::core::yaml {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

std::string_view trim_cr(std::string_view l) {
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  return l;
}

// "---" or "..." at column 0 followed by white space or the end of the line.
bool is_marker(std::string_view line, std::string_view marker) {
  line = trim_cr(line);
  return line.substr(0, 3) == marker && (line.size() == 3 || line[3] == ' ' || line[3] == '\t');
}

std::string_view ltrim(std::string_view s) {
  const size_t i = s.find_first_not_of(" \t");
  return i == std::string_view::npos ? std::string_view{} : s.substr(i);
}

// A line that carries nothing of a document's value.
bool is_filler(std::string_view line) {
  line = trim_cr(line);
  const auto t = ltrim(line);
  return t.empty() || t[0] == '#' || (!line.empty() && line[0] == '%') || is_marker(line, "...");
}

// nlohmann's message without its "[json.exception...] parse error at line L, column C: " prefix:
// the caller names the place itself.
std::string json_problem(const std::string& what) {
  const size_t col = what.find("column ");
  if (col != std::string::npos) {
    const size_t colon = what.find(": ", col);
    if (colon != std::string::npos) return what.substr(colon + 2);
  }
  const size_t bracket = what.find("] ");
  return bracket == std::string::npos ? what : what.substr(bracket + 2);
}

}  // namespace

ManifestStream::ManifestStream(std::string text, std::string source)
    : text_(std::move(text)), source_(std::move(source)) {
  const size_t start = text_.substr(0, kBom.size()) == kBom ? kBom.size() : 0;
  const size_t first = text_.find_first_not_of(" \t\r\n", start);
  format_ = first != std::string::npos && (text_[first] == '{' || text_[first] == '[') ? StreamFormat::Json
                                                                                        : StreamFormat::Yaml;
  if (format_ == StreamFormat::Json) {
    split_json();
  } else {
    split_yaml();
  }
}

ManifestError ManifestStream::error(size_t i, const std::string& problem) const {
  return ManifestError(source_, static_cast<int>(i + 1), docs_[i].line, problem);
}

void ManifestStream::split_yaml() {
  struct Chunk {
    size_t begin;
    size_t end;
    int first_line;
  };
  std::vector<Chunk> chunks;
  const size_t size = text_.size();
  size_t pos = text_.substr(0, kBom.size()) == kBom ? kBom.size() : 0;
  size_t chunk_begin = pos;
  int chunk_line = 1;
  int line = 1;
  while (pos < size) {
    const size_t eol = text_.find('\n', pos);
    const size_t next = eol == std::string::npos ? size : eol + 1;
    const std::string_view l(text_.data() + pos, (eol == std::string::npos ? size : eol) - pos);
    if (is_marker(l, "---")) {
      if (pos > chunk_begin) chunks.push_back({chunk_begin, pos, chunk_line});
      chunk_begin = pos;
      chunk_line = line;
    } else if (is_marker(l, "...")) {
      chunks.push_back({chunk_begin, next, chunk_line});
      chunk_begin = next;
      chunk_line = line + 1;
    }
    pos = next;
    ++line;
  }
  if (chunk_begin < size) chunks.push_back({chunk_begin, size, chunk_line});

  for (const auto& c : chunks) {
    Doc d;
    d.begin = c.begin;
    d.end = c.end;
    d.first_line = c.first_line;
    d.suffix = c.end;
    struct Line {
      size_t offset;
      std::string_view text;
    };
    std::vector<Line> lines;
    for (size_t p = c.begin; p < c.end;) {
      size_t eol = text_.find('\n', p);
      if (eol == std::string::npos || eol > c.end) eol = c.end;
      lines.push_back({p, std::string_view(text_.data() + p, eol - p)});
      p = eol + 1;
    }
    bool content = false;
    size_t body_line = 0;
    for (size_t i = 0; i < lines.size() && !content; ++i) {
      const auto l = lines[i].text;
      if (is_marker(l, "---")) {
        const auto rest = ltrim(trim_cr(l).substr(3));
        if (rest.empty() || rest[0] == '#') continue;
        d.inline_marker = true;  // "--- {a: 1}" or "--- !tag": the content shares the marker's line
      } else if (is_filler(l)) {
        continue;
      }
      content = true;
      body_line = i;
      d.body = lines[i].offset;
      d.line = c.first_line + static_cast<int>(i);
    }
    if (!content) continue;

    // Comments at column 0 (and what follows them) after the last content stay with the
    // document. Blank lines before them go: they may belong to a block scalar kept with "+".
    for (size_t i = lines.size(); i-- > body_line + 1;) {
      const auto l = trim_cr(lines[i].text);
      if (!ltrim(l).empty() && l[0] != '#' && !is_marker(l, "...")) break;
      if (!ltrim(l).empty()) d.suffix = lines[i].offset;
    }

    const int number = static_cast<int>(docs_.size()) + 1;
    try {
      d.value = parse_styled(std::string_view(text_).substr(c.begin, c.end - c.begin), c.first_line).take_value();
    } catch (const SyntaxError& e) {
      // An unclosed bracket is found at the end of the input, one line past the document.
      const int last_line = c.first_line + static_cast<int>(lines.size()) - 1;
      throw ManifestError(source_, number, std::min(e.line(), last_line), e.problem());
    }
    docs_.push_back(std::move(d));
  }
}

void ManifestStream::split_json() {
  const size_t size = text_.size();
  size_t pos = text_.substr(0, kBom.size()) == kBom ? kBom.size() : 0;
  // Lines are counted as the scan moves forward, so that many documents stay linear.
  size_t counted = 0;
  int line = 1;
  auto line_at = [&](size_t p) {
    for (; counted < p && counted < size; ++counted) {
      if (text_[counted] == '\n') ++line;
    }
    return line;
  };
  auto skip_space = [&](size_t p) {
    while (p < size && (text_[p] == ' ' || text_[p] == '\t' || text_[p] == '\r' || text_[p] == '\n')) ++p;
    return p;
  };

  pos = skip_space(pos);
  while (pos < size) {
    const int number = static_cast<int>(docs_.size()) + 1;
    const int start_line = line_at(pos);
    if (text_[pos] != '{' && text_[pos] != '[') {
      throw ManifestError(source_, number, start_line, "expected a JSON object");
    }
    // The value's end: the bracket that closes the first one, outside strings.
    size_t end = std::string::npos;
    int depth = 0;
    bool in_string = false;
    for (size_t p = pos; p < size; ++p) {
      const char c = text_[p];
      if (in_string) {
        if (c == '\\') {
          ++p;
        } else if (c == '"') {
          in_string = false;
        }
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) {
          end = p + 1;
          break;
        }
      }
    }
    const size_t stop = end == std::string::npos ? size : end;
    Doc d;
    try {
      d.value = Json::parse(std::string_view(text_).substr(pos, stop - pos));
    } catch (const Json::parse_error& e) {
      const size_t at = pos + (e.byte > 0 ? e.byte - 1 : 0);
      throw ManifestError(source_, number, line_at(at < size ? at : size), json_problem(e.what()));
    }
    if (end == std::string::npos) throw ManifestError(source_, number, line_at(size), "unterminated JSON value");
    d.begin = pos;
    d.end = end;
    d.line = start_line;
    d.first_line = start_line;
    docs_.push_back(std::move(d));
    pos = skip_space(end);
  }
}

std::string ManifestStream::render(const std::vector<Json>& values) const {
  std::string out;
  out.reserve(text_.size() + text_.size() / 4);
  size_t prev = 0;
  for (size_t i = 0; i < docs_.size(); ++i) {
    const Doc& d = docs_[i];
    out.append(text_, prev, d.begin - prev);
    prev = d.end;
    if (values[i] == d.value) {
      out.append(text_, d.begin, d.end - d.begin);
      continue;
    }
    if (format_ == StreamFormat::Json) {
      out += values[i].dump(2, ' ', false, Json::error_handler_t::replace);
      continue;
    }
    // Parsed again rather than kept from the first read: only changed documents pay for the
    // style tree, and a large stream never holds one per document.
    const auto styled = parse_styled(std::string_view(text_).substr(d.begin, d.end - d.begin), d.first_line);
    out.append(text_, d.begin, d.body - d.begin);
    if (d.inline_marker) out += styled.layout().crlf ? "---\r\n" : "---\n";
    out += styled.emit(values[i]);
    out.append(text_, d.suffix, d.end - d.suffix);
  }
  out.append(text_, prev, std::string::npos);
  return out;
}

}  // namespace meshctl::core::yaml

#include "core/yaml/styled_yaml.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <vector>

namespace meshctl::core::yaml {

enum class NodeKind : std::uint8_t { Scalar, Null, Map, Seq, Alias };
enum class ScalarStyle : std::uint8_t { Plain, Single, Double, Literal, Folded };

struct StyleNode {
  struct Entry {
    std::string key;
    std::string key_raw;  // the key as written; empty when it cannot be reused
    std::unique_ptr<StyleNode> value;
  };

  NodeKind kind = NodeKind::Null;
  ScalarStyle scalar = ScalarStyle::Plain;
  bool flow = false;
  // A block collection's column relative to its parent's, or a block scalar's content column
  // relative to its collection's (-1 when unknown), so that a document mixing indentations
  // keeps each part's own.
  int indent = -1;
  // A single-line scalar exactly as written (an empty string for a null written as nothing),
  // reused while the value is unchanged.
  std::optional<std::string> raw;
  // A block scalar: its header without comment ("|2-") and its content lines relative to their
  // indentation, reused while the value is unchanged. Only kept when they read back as the value.
  std::string block_header;
  std::optional<std::vector<std::string>> block_lines;
  // The node's value in the parsed document, to tell whether an updated value is the same.
  const Json* original = nullptr;

  std::vector<Entry> entries;
  std::unordered_map<std::string, size_t> by_key;
  std::vector<std::unique_ptr<StyleNode>> items;

  const Entry* find(const std::string& key) const {
    auto it = by_key.find(key);
    return it == by_key.end() ? nullptr : &entries[it->second];
  }
};

namespace {

using ObjectContainer = Json::object_t::Container;

bool is_blank_char(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

int leading_spaces(std::string_view line) {
  int n = 0;
  while (n < static_cast<int>(line.size()) && line[n] == ' ') ++n;
  return n;
}

bool only_spaces(std::string_view line) { return line.find_first_not_of(' ') == std::string_view::npos; }

std::vector<std::string_view> split_lines(std::string_view s) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (true) {
    const size_t nl = s.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.push_back(s.substr(start));
      return lines;
    }
    lines.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
}

struct BlockHeader {
  char indicator = '|';
  int indent = 0;  // explicit indentation indicator, 0 when absent
  char chomp = 0;  // '-', '+' or 0 (clip)
};

std::optional<BlockHeader> parse_header(std::string_view h) {
  if (h.empty() || (h[0] != '|' && h[0] != '>')) return std::nullopt;
  BlockHeader b;
  b.indicator = h[0];
  for (size_t i = 1; i < h.size(); ++i) {
    const char c = h[i];
    if (c >= '1' && c <= '9' && b.indent == 0) {
      b.indent = c - '0';
    } else if ((c == '-' || c == '+') && b.chomp == 0) {
      b.chomp = c;
    } else {
      return std::nullopt;
    }
  }
  return b;
}

// True when a block scalar with this header and these content lines (relative to the content
// indentation) reads back as `expected`. Guards every block scalar we write, since YAML readers
// are strict about indentation and trailing lines.
bool block_reads_back(const std::string& header, const std::vector<std::string>& lines, const std::string& expected) {
  const auto parsed = parse_header(header);
  if (!parsed) return false;
  const std::string pad(parsed->indent ? parsed->indent : 2, ' ');
  std::string doc = "k: " + header + "\n";
  for (const auto& line : lines) doc += (line.empty() ? "" : pad + line) + "\n";
  // Not at the end of the input: yaml-cpp drops the kept line breaks of a folded scalar there.
  doc += "z: 0\n";
  try {
    const YAML::Node node = YAML::Load(doc);
    return node.IsMap() && node["k"].IsScalar() && node["k"].Scalar() == expected;
  } catch (const YAML::Exception&) {
    return false;
  }
}

// plain_scalar_safe, plus words that start with "-" followed by something other than a space
// ("--port", "-c"): YAML readers take those as plain text too, and command lines are full of them.
bool plain_ok(std::string_view s) {
  if (plain_scalar_safe(s)) return true;
  if (s.size() < 2 || s[0] != '-' || s[1] == ' ' || s[1] == '\t') return false;
  if (s == "---" || !plain_scalar_value(s).is_string()) return false;
  return plain_scalar_safe("x" + std::string(s.substr(1)));
}

bool plain_flow_safe(std::string_view s) {
  return plain_ok(s) && s.find_first_of(",[]{}") == std::string_view::npos;
}

bool single_quote_ok(std::string_view s) {
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

std::string single_quoted(std::string_view s) {
  std::string q = "'";
  for (char c : s) {
    q += c;
    if (c == '\'') q += '\'';
  }
  return q + "'";
}

// Text a block scalar can hold: printable lines with something on them.
bool block_ok(std::string_view s) {
  if (s.find_first_not_of(" \t\n") == std::string_view::npos) return false;
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

std::string non_string_text(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
    if (std::isnan(d)) return ".nan";
  }
  return v.dump();
}

bool same_kind(const StyleNode& s, const Json& v) {
  switch (s.kind) {
    case NodeKind::Map:
      return v.is_object();
    case NodeKind::Seq:
      return v.is_array();
    case NodeKind::Scalar:
    case NodeKind::Null:
      return !v.is_object() && !v.is_array();
    case NodeKind::Alias:
      return false;
  }
  return false;
}

const StyleNode* usable(const StyleNode* s, const Json& v) { return s && same_kind(*s, v) ? s : nullptr; }

bool unchanged(const StyleNode* s, const Json& v) { return s && s->original && *s->original == v; }

// Flow collections stay flow, except "{}" and "[]" that gained content: they were written that
// way for being empty, and a filled one (a new annotations map, new volumes) reads better as a block.
bool keeps_flow(const StyleNode* s) { return s && s->flow && !(s->entries.empty() && s->items.empty()); }

// --- parsing -------------------------------------------------------------------------------

class Builder final : public YAML::EventHandler {
 public:
  Builder(std::string_view text, int first_line) : text_(text), first_line_(first_line) {}

  Json take_value() { return std::move(root_); }
  std::unique_ptr<StyleNode> take_style() { return std::move(root_style_); }
  const Layout& layout() const { return layout_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto s = std::make_unique<StyleNode>();
    s->kind = NodeKind::Null;
    s->raw = null_text(static_cast<size_t>(mark.pos));
    add(nullptr, std::move(s), line_of(mark), mark.column, anchor, std::nullopt, 1);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) throw SyntaxError(line_of(mark), "alias to an unfinished or unknown anchor");
    // Aliases are copied into the value: bound the copies, or a few nested aliases could ask
    // for more memory than there is ("billion laughs").
    alias_nodes_ += it->second.nodes;
    if (alias_nodes_ > kMaxAliasNodes) throw SyntaxError(line_of(mark), "aliases expand to too many nodes");
    auto s = std::make_unique<StyleNode>();
    s->kind = NodeKind::Alias;
    add(it->second.value, std::move(s), line_of(mark), mark.column, 0, it->second.key_text, it->second.nodes);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    add(typed(tag, value), scalar_style(mark, tag, value), line_of(mark), mark.column, anchor, value, 1);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value style) override {
    push(false, style == YAML::EmitterStyle::Flow, mark, anchor);
  }
  void OnSequenceEnd() override { pop(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value style) override {
    push(true, style == YAML::EmitterStyle::Flow, mark, anchor);
  }
  void OnMapEnd() override { pop(); }

 private:
  struct Frame {
    Json value;
    std::unique_ptr<StyleNode> style;
    bool is_map = false;
    bool flow = false;
    int col = -1;  // column of a block map's keys or a block sequence's dashes, once known
    int line = 0;
    bool have_key = false;
    std::string key;
    std::string key_raw;
    YAML::anchor_t anchor = 0;
    size_t nodes = 1;  // in the value so far, itself included
  };
  struct Anchored {
    Json value;
    std::optional<std::string> key_text;
    size_t nodes = 1;
  };
  static constexpr size_t kMaxAliasNodes = 1'000'000;

  int line_of(const YAML::Mark& mark) const { return first_line_ + (mark.line < 0 ? 0 : mark.line); }
  char at(size_t pos) const { return pos < text_.size() ? text_[pos] : '\n'; }

  static Json typed(const std::string& tag, const std::string& value) {
    // The same typing as parse_document: plain scalars by YAML 1.2's core schema, !!int
    // scalars as integers, every other scalar a string.
    if (tag == "?") return plain_scalar_value(value);
    if (tag == "tag:yaml.org,2002:int" || tag == "!!int") {
      Json n = plain_scalar_value(value);
      if (n.is_number_integer()) return n;
    }
    return value;
  }

  std::string null_text(size_t pos) const {
    for (std::string_view word : {"~", "null", "Null", "NULL"}) {
      if (text_.substr(pos, word.size()) != word) continue;
      const char after = at(pos + word.size());
      if (is_blank_char(after) || after == ',' || after == ']' || after == '}') return std::string(word);
    }
    return "";  // written as nothing at all ("key:")
  }

  size_t skip_properties(size_t pos) const {
    while (at(pos) == '!' || at(pos) == '&') {
      while (pos < text_.size() && !is_blank_char(text_[pos])) ++pos;
      while (pos < text_.size() && is_blank_char(text_[pos])) ++pos;
    }
    return pos;
  }

  std::optional<std::string> quoted_raw(size_t pos, char quote) const {
    for (size_t i = pos + 1; i < text_.size(); ++i) {
      const char c = text_[i];
      if (c == '\n' || c == '\r') return std::nullopt;  // multi-line: rewritten on one line
      if (quote == '"' && c == '\\') {
        if (at(i + 1) == '\n' || at(i + 1) == '\r') return std::nullopt;
        ++i;
        continue;
      }
      if (c == quote) {
        if (quote == '\'' && at(i + 1) == '\'') {
          ++i;
          continue;
        }
        return std::string(text_.substr(pos, i + 1 - pos));
      }
    }
    return std::nullopt;
  }

  // Column of the innermost open block collection: a block scalar's indentation is relative to it.
  int enclosing_column() const {
    for (auto it = stack_.rbegin(); it != stack_.rend(); ++it) {
      if (!it->flow) return it->col;
    }
    return -1;
  }

  void capture_block(StyleNode& s, size_t pos, const std::string& value) const {
    size_t eol = text_.find('\n', pos);
    if (eol == std::string_view::npos) eol = text_.size();
    std::string_view header = text_.substr(pos, eol - pos);
    for (size_t i = 1; i < header.size(); ++i) {
      if (header[i] == '#' && (header[i - 1] == ' ' || header[i - 1] == '\t')) {
        header = header.substr(0, i);
        break;
      }
    }
    while (!header.empty() && is_blank_char(header.back())) header.remove_suffix(1);
    s.block_header = std::string(header);
    const auto parsed = parse_header(header);
    if (!parsed || eol >= text_.size()) return;

    const int top = enclosing_column();
    int content_indent = -1;
    std::vector<std::string_view> raw_lines;
    for (auto l : split_lines(text_.substr(eol + 1))) {
      if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      raw_lines.push_back(l);
    }
    if (parsed->indent) {
      content_indent = (top < 0 ? 0 : top) + parsed->indent;
    } else {
      for (auto l : raw_lines) {
        if (only_spaces(l)) continue;
        content_indent = leading_spaces(l);
        break;
      }
      if (content_indent <= top) content_indent = -1;  // an empty block scalar
    }
    std::vector<std::string> lines;
    if (content_indent >= 0) {
      for (auto l : raw_lines) {
        if (only_spaces(l)) {
          lines.emplace_back(static_cast<int>(l.size()) > content_indent ? l.substr(content_indent) : "");
          continue;
        }
        if (leading_spaces(l) < content_indent) break;
        lines.emplace_back(l.substr(content_indent));
      }
    }
    if (parsed->chomp != '+') {
      while (!lines.empty() && only_spaces(lines.back())) lines.pop_back();
    } else {
      // Keeping chomping: blank lines up to the next content belong to the value, but the
      // stream's own trailing lines do not reach here (the caller splits documents first).
    }
    if (content_indent > top && top >= 0) s.indent = content_indent - top;
    if (block_reads_back(s.block_header, lines, value)) s.block_lines = std::move(lines);
  }

  std::unique_ptr<StyleNode> scalar_style(const YAML::Mark& mark, const std::string& tag,
                                          const std::string& value) const {
    auto s = std::make_unique<StyleNode>();
    s->kind = NodeKind::Scalar;
    const size_t start = static_cast<size_t>(mark.pos);
    const size_t pos = skip_properties(start);
    switch (at(pos)) {
      case '\'':
        s->scalar = ScalarStyle::Single;
        s->raw = quoted_raw(pos, '\'');
        break;
      case '"':
        s->scalar = ScalarStyle::Double;
        s->raw = quoted_raw(pos, '"');
        break;
      case '|':
      case '>':
        s->scalar = at(pos) == '|' ? ScalarStyle::Literal : ScalarStyle::Folded;
        capture_block(*s, pos, value);
        break;
      default:
        s->scalar = ScalarStyle::Plain;
        // An empty plain scalar is a null; an empty string is only ever quoted or tagged.
        if (!value.empty() && text_.substr(pos, value.size()) == value) s->raw = value;
        break;
    }
    if (s->raw && s->raw->find('\r') != std::string::npos) {
      s->raw.reset();  // a stray carriage return would turn into, or be taken for, a line break
    }
    if (pos != start || (tag != "?" && tag != "!")) {
      // A tag gave the text its type (or an anchor came with it); the text alone would read
      // back differently, or name an anchor twice.
      s->raw.reset();
      s->block_lines.reset();
    }
    return s;
  }

  void note_block_column(Frame& f) {
    if (stack_.size() < 2) return;
    const Frame& parent = stack_[stack_.size() - 2];
    if (parent.flow || parent.col < 0) return;
    const int delta = f.col - parent.col;
    // The document's layout is what it does first; each collection also keeps its own.
    if (parent.is_map && f.is_map && delta > 0) {
      f.style->indent = delta;
      if (!have_map_indent_) layout_.map_indent = delta;
      have_map_indent_ = true;
    } else if (parent.is_map && !f.is_map && delta >= 0) {
      f.style->indent = delta;
      if (!have_seq_indent_) layout_.seq_indent = delta;
      have_seq_indent_ = true;
    } else if (!parent.is_map && f.is_map && delta >= 2) {
      f.style->indent = delta;
      if (!have_item_indent_) layout_.item_indent = delta;
      have_item_indent_ = true;
    }
  }

  void push(bool is_map, bool flow, const YAML::Mark& mark, YAML::anchor_t anchor) {
    Frame f;
    f.value = is_map ? Json::object() : Json::array();
    f.style = std::make_unique<StyleNode>();
    f.style->kind = is_map ? NodeKind::Map : NodeKind::Seq;
    f.style->flow = flow;
    f.is_map = is_map;
    f.flow = flow;
    f.line = line_of(mark);
    f.anchor = anchor;
    stack_.push_back(std::move(f));
    // A block sequence's mark is its first dash; a block map's column is its first key's.
    if (!is_map && !flow && at(static_cast<size_t>(mark.pos)) == '-') {
      stack_.back().col = mark.column;
      note_block_column(stack_.back());
    }
  }

  void pop() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    add(std::move(f.value), std::move(f.style), f.line, f.col, f.anchor, std::nullopt, f.nodes);
  }

  void add(Json v, std::unique_ptr<StyleNode> s, int line, int column, YAML::anchor_t anchor,
           std::optional<std::string> key_text, size_t nodes) {
    if (anchor) anchors_[anchor] = Anchored{v, key_text, nodes};
    if (!stack_.empty()) stack_.back().nodes += nodes;
    if (stack_.empty()) {
      root_ = std::move(v);
      root_style_ = std::move(s);
      return;
    }
    Frame& f = stack_.back();
    if (!f.is_map) {
      f.style->items.push_back(std::move(s));
      f.value.push_back(std::move(v));
      return;
    }
    if (!f.have_key) {
      if (!key_text) throw SyntaxError(line, "mapping keys must be scalars");
      if (f.style->by_key.count(*key_text)) throw SyntaxError(line, "duplicate key \"" + *key_text + "\"");
      f.have_key = true;
      f.key = std::move(*key_text);
      f.key_raw = s->kind == NodeKind::Scalar && s->raw ? *s->raw : "";
      if (!f.flow && f.col < 0 && s->kind == NodeKind::Scalar) {
        f.col = column;  // a block map's keys all sit at its first key's column
        note_block_column(f);
      }
      return;
    }
    f.have_key = false;
    f.style->by_key.emplace(f.key, f.style->entries.size());
    f.style->entries.push_back({f.key, std::move(f.key_raw), std::move(s)});
    // Appended directly: ordered_json's own insert searches the keys, quadratic for big maps,
    // and by_key has already ruled out duplicates.
    static_cast<ObjectContainer&>(f.value.get_ref<Json::object_t&>()).emplace_back(std::move(f.key), std::move(v));
  }

  std::string_view text_;
  int first_line_;
  std::vector<Frame> stack_;
  std::unordered_map<YAML::anchor_t, Anchored> anchors_;
  Json root_;
  std::unique_ptr<StyleNode> root_style_;
  Layout layout_;
  bool have_map_indent_ = false;
  bool have_seq_indent_ = false;
  bool have_item_indent_ = false;
  size_t alias_nodes_ = 0;
};

// Sets every style node's `original` to its value in the parsed document. The style tree and
// the value have the same shape and order, so this walks both in step.
void attach(StyleNode& s, const Json& v) {
  s.original = &v;
  if (s.kind == NodeKind::Map && v.is_object() && v.size() == s.entries.size()) {
    auto it = v.begin();
    for (auto& e : s.entries) {
      attach(*e.value, it.value());
      ++it;
    }
  } else if (s.kind == NodeKind::Seq && v.is_array() && v.size() == s.items.size()) {
    for (size_t i = 0; i < s.items.size(); ++i) attach(*s.items[i], v[i]);
  }
}

// --- emitting ------------------------------------------------------------------------------

class Emitter {
 public:
  static constexpr size_t kMaxFlowLine = 80;
  static constexpr size_t kMaxImplicitKey = 1000;

  explicit Emitter(const Layout& layout) : layout_(layout) {}

  std::string run(const Json& v, const StyleNode* s) {
    s = usable(s, v);
    if ((v.is_object() || v.is_array()) && !v.empty() && !keeps_flow(s)) {
      if (v.is_object()) {
        block_map(v, s, 0, true);
      } else {
        block_seq(v, s, 0, true);
      }
    } else if (v.is_object() || v.is_array()) {
      flow(v, s);
      out_ += "\n";
    } else {
      scalar_value(v, s, 0, 2);
      if (!out_.empty() && out_[0] == ' ') out_.erase(0, 1);
      if (out_ == "\n") out_ = "null\n";
    }
    return std::move(out_);
  }

 private:
  static std::string spaces(int n) { return std::string(static_cast<size_t>(n < 0 ? 0 : n), ' '); }

  std::string key_text(const std::string& key, const StyleNode::Entry* e, bool in_flow) const {
    if (e && !e->key_raw.empty()) return e->key_raw;
    return (in_flow ? plain_flow_safe(key) : plain_ok(key)) ? key : double_quoted(key);
  }

  void block_map(const Json& v, const StyleNode* s, int col, bool indent_first) {
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!first || indent_first) out_ += spaces(col);
      first = false;
      const StyleNode::Entry* e = s ? s->find(it.key()) : nullptr;
      const std::string key = key_text(it.key(), e, false);
      if (key.size() > kMaxImplicitKey) {
        // YAML limits implicit keys to 1024 characters: say "?" for longer ones.
        out_ += "? " + key + "\n" + spaces(col) + ":";
      } else {
        out_ += key + ":";
      }
      value(it.value(), e ? e->value.get() : nullptr, col, false);
    }
  }

  void block_seq(const Json& v, const StyleNode* s, int col, bool indent_first) {
    const auto styles = match_items(v, s);
    for (size_t i = 0; i < v.size(); ++i) {
      if (i > 0 || indent_first) out_ += spaces(col);
      out_ += "-";
      value(v[i], styles[i], col, true);
    }
  }

  // Writes what follows "key:" in a map whose keys are at `col`, or "-" in a sequence whose
  // dashes are at `col`.
  void value(const Json& v, const StyleNode* s, int col, bool in_seq) {
    s = usable(s, v);
    if (v.is_object() || v.is_array()) {
      if (v.empty()) {
        out_ += v.is_object() ? " {}\n" : " []\n";
        return;
      }
      if (keeps_flow(s)) {
        Emitter inline_text(layout_);
        inline_text.flow(v, s);
        // A flow collection that grew past a reasonable line is easier to read as a block.
        const size_t line = out_.size() - (out_.rfind('\n') + 1);
        if (unchanged(s, v) || line + 1 + inline_text.out_.size() <= kMaxFlowLine) {
          out_ += " " + inline_text.out_ + "\n";
          return;
        }
      }
      if (in_seq) {
        // The first key or item shares the dash's line.
        const int step = v.is_object() && s && s->indent >= 2 ? s->indent : layout_.item_indent;
        out_ += spaces(step - 1);
        if (v.is_object()) {
          block_map(v, s, col + step, false);
        } else {
          block_seq(v, s, col + step, false);
        }
      } else {
        out_ += "\n";
        if (v.is_object()) {
          block_map(v, s, col + (s && s->indent > 0 ? s->indent : layout_.map_indent), true);
        } else {
          block_seq(v, s, col + (s && s->indent >= 0 ? s->indent : layout_.seq_indent), true);
        }
      }
      return;
    }
    scalar_value(v, s, col, in_seq ? layout_.item_indent : layout_.map_indent);
  }

  void write_block(const std::string& header, const std::vector<std::string>& lines, int col, int offset) {
    const auto parsed = parse_header(header);
    const std::string pad = spaces(col + (parsed && parsed->indent ? parsed->indent : offset));
    out_ += " " + header + "\n";
    for (const auto& line : lines) {
      if (!line.empty()) out_ += pad + line;
      out_ += "\n";
    }
  }

  // Writes `str` as a block scalar whose indentation is relative to `col`, if it reads back.
  bool try_block(const std::string& str, bool folded, char original_chomp, int col, int offset) {
    if (!block_ok(str)) return false;
    size_t trailing = 0;
    while (trailing < str.size() && str[str.size() - 1 - trailing] == '\n') ++trailing;
    const std::string_view content = std::string_view(str).substr(0, str.size() - trailing);
    const auto content_lines = split_lines(content);

    std::string header(1, folded ? '>' : '|');
    for (auto l : content_lines) {
      if (l.empty()) continue;
      // Indentation is detected from the first line with anything on it: a leading space would
      // be taken for indentation, so say how much there is.
      if (l[0] == ' ') header += std::to_string(std::clamp(offset, 1, 9));
      break;
    }
    if (trailing == 0) {
      header += '-';
    } else if (trailing > 1 || original_chomp == '+') {
      header += '+';
    }

    std::vector<std::string> lines;
    if (!folded) {
      for (auto l : content_lines) lines.emplace_back(l);
    } else {
      // A single line break between two lines that do not start with white space folds into
      // a space, so such a break is written as an empty line; breaks next to more-indented
      // lines are kept as they are.
      auto normal = [](std::string_view l) { return !l.empty() && l[0] != ' ' && l[0] != '\t'; };
      size_t i = 0;
      while (i < content_lines.size() && content_lines[i].empty()) {
        lines.emplace_back();
        ++i;
      }
      std::string_view prev;
      size_t empties = 0;
      bool first = true;
      for (; i < content_lines.size(); ++i) {
        const auto l = content_lines[i];
        if (l.empty()) {
          ++empties;
          continue;
        }
        if (!first) {
          const size_t blank = empties + (normal(prev) && normal(l) ? 1 : 0);
          for (size_t b = 0; b < blank; ++b) lines.emplace_back();
        }
        lines.emplace_back(l);
        prev = l;
        empties = 0;
        first = false;
      }
    }
    for (size_t t = 1; t < trailing; ++t) lines.emplace_back();

    if (!block_reads_back(header, lines, str)) return false;
    write_block(header, lines, col, offset);
    return true;
  }

  // Writes a scalar that follows "key:" or "-": " text\n", a block scalar, or "\n" alone for
  // a null that was written as nothing.
  void scalar_value(const Json& v, const StyleNode* s, int col, int offset) {
    if (s && s->indent > 0 && s->indent <= 9) offset = s->indent;  // a block scalar's own indentation
    if (unchanged(s, v)) {
      if (s->raw) {
        out_ += s->raw->empty() ? "\n" : " " + *s->raw + "\n";
        return;
      }
      if (s->block_lines) {
        write_block(s->block_header, *s->block_lines, col, offset);
        return;
      }
    }
    if (!v.is_string()) {
      out_ += " " + non_string_text(v) + "\n";
      return;
    }
    const auto& str = v.get_ref<const std::string&>();
    const ScalarStyle wanted = s ? s->scalar : ScalarStyle::Plain;
    switch (wanted) {
      case ScalarStyle::Literal:
      case ScalarStyle::Folded: {
        const auto header = parse_header(s->block_header);
        if (try_block(str, wanted == ScalarStyle::Folded, header ? header->chomp : 0, col, offset)) return;
        break;
      }
      case ScalarStyle::Single:
        if (single_quote_ok(str)) {
          out_ += " " + single_quoted(str) + "\n";
          return;
        }
        break;
      case ScalarStyle::Double:
        out_ += " " + double_quoted(str) + "\n";
        return;
      case ScalarStyle::Plain:
        break;
    }
    // New text, or text the old style cannot hold: multi-line text as a literal block, the rest
    // plain where that reads back as the same string.
    if (str.find('\n') != std::string::npos && try_block(str, false, 0, col, offset)) return;
    out_ += " " + (plain_ok(str) ? str : double_quoted(str)) + "\n";
  }

  void flow(const Json& v, const StyleNode* s) {
    s = usable(s, v);
    if (v.is_object()) {
      out_ += "{";
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out_ += ", ";
        first = false;
        const StyleNode::Entry* e = s ? s->find(it.key()) : nullptr;
        const std::string key = key_text(it.key(), e, true);
        out_ += key.size() > kMaxImplicitKey ? "? " + key + " : " : key + ": ";
        flow(it.value(), e ? e->value.get() : nullptr);
      }
      out_ += "}";
      return;
    }
    if (v.is_array()) {
      const auto styles = match_items(v, s);
      out_ += "[";
      for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) out_ += ", ";
        flow(v[i], styles[i]);
      }
      out_ += "]";
      return;
    }
    if (unchanged(s, v) && s->raw && !s->raw->empty()) {
      out_ += *s->raw;
    } else if (!v.is_string()) {
      out_ += non_string_text(v);
    } else {
      const auto& str = v.get_ref<const std::string&>();
      if (s && s->scalar == ScalarStyle::Single && single_quote_ok(str)) {
        out_ += single_quoted(str);
      } else if ((!s || s->scalar == ScalarStyle::Plain) && plain_flow_safe(str)) {
        out_ += str;
      } else {
        out_ += double_quoted(str);
      }
    }
  }

  // Pairs each item of `arr` with the style of the old item it most likely is: the one with
  // the same `name` (containers, env, volumes, ports), else an equal one, else the one at the
  // same position.
  static std::vector<const StyleNode*> match_items(const Json& arr, const StyleNode* s) {
    std::vector<const StyleNode*> out(arr.size(), nullptr);
    if (!s || s->kind != NodeKind::Seq) return out;
    const auto& old = s->items;
    std::vector<bool> used(old.size(), false);
    size_t matched = 0;
    auto take = [&](size_t i, size_t j) {
      out[i] = old[j].get();
      used[j] = true;
      ++matched;
    };

    auto name_of = [](const Json& v) -> const std::string* {
      if (!v.is_object()) return nullptr;
      auto n = v.find("name");
      return n != v.end() && n->is_string() ? &n->get_ref<const std::string&>() : nullptr;
    };
    std::unordered_map<std::string, std::vector<size_t>> by_name;
    for (size_t j = 0; j < old.size(); ++j) {
      if (const auto* n = old[j]->original ? name_of(*old[j]->original) : nullptr) by_name[*n].push_back(j);
    }
    if (!by_name.empty()) {
      for (size_t i = 0; i < arr.size(); ++i) {
        const auto* n = name_of(arr[i]);
        if (!n) continue;
        auto it = by_name.find(*n);
        if (it == by_name.end()) continue;
        for (size_t j : it->second) {
          if (!used[j]) {
            take(i, j);
            break;
          }
        }
      }
    }

    if (matched < arr.size()) {
      std::unordered_map<size_t, std::vector<size_t>> by_hash;
      for (size_t j = 0; j < old.size(); ++j) {
        if (!used[j] && old[j]->original) by_hash[std::hash<Json>{}(*old[j]->original)].push_back(j);
      }
      for (size_t i = 0; i < arr.size() && !by_hash.empty(); ++i) {
        if (out[i]) continue;
        auto it = by_hash.find(std::hash<Json>{}(arr[i]));
        if (it == by_hash.end()) continue;
        for (size_t j : it->second) {
          if (!used[j] && *old[j]->original == arr[i]) {
            take(i, j);
            break;
          }
        }
      }
    }

    // By position only between unnamed items: a named item with no namesake is new, and
    // borrowing a stranger's style would give it quoting nobody wrote.
    for (size_t i = 0; i < arr.size() && i < old.size(); ++i) {
      if (out[i] || used[i] || name_of(arr[i])) continue;
      if (old[i]->original && name_of(*old[i]->original)) continue;
      take(i, i);
    }
    return out;
  }

  const Layout& layout_;
  std::string out_;
};

}  // namespace

std::string double_quoted(std::string_view s) {
  std::string q = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': q += "\\\""; break;
      case '\\': q += "\\\\"; break;
      case '\n': q += "\\n"; break;
      case '\t': q += "\\t"; break;
      case '\r': q += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static const char* hex = "0123456789abcdef";
          q += "\\x";
          q += hex[c >> 4];
          q += hex[c & 0xf];
        } else {
          q += static_cast<char>(c);
        }
    }
  }
  return q + "\"";
}

StyledDocument::StyledDocument() : value_(std::make_unique<Json>()) {}
StyledDocument::StyledDocument(StyledDocument&&) noexcept = default;
StyledDocument& StyledDocument::operator=(StyledDocument&&) noexcept = default;
StyledDocument::~StyledDocument() = default;

Json StyledDocument::take_value() {
  root_.reset();  // it points into the value
  Json v = std::move(*value_);
  *value_ = nullptr;
  return v;
}

std::string StyledDocument::emit(const Json& updated) const {
  std::string text = Emitter(layout_).run(updated, root_.get());
  if (!layout_.crlf) return text;
  std::string crlf;
  crlf.reserve(text.size() + text.size() / 16);
  for (char c : text) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  return crlf;
}

StyledDocument parse_styled(std::string_view text, int first_line) {
  const std::string owned(text);
  std::istringstream in(owned);
  Builder builder(owned, first_line);
  try {
    YAML::Parser parser(in);
    parser.HandleNextDocument(builder);
    if (parser.HandleNextDocument(builder)) {
      throw SyntaxError(first_line, "more than one document in one part of the stream");
    }
  } catch (const YAML::Exception& e) {
    throw SyntaxError(first_line + (e.mark.is_null() || e.mark.line < 0 ? 0 : e.mark.line), e.msg);
  }
  StyledDocument doc;
  *doc.value_ = builder.take_value();
  doc.root_ = builder.take_style();
  doc.layout_ = builder.layout();
  doc.layout_.crlf = text.find("\r\n") != std::string_view::npos;
  if (doc.root_) attach(*doc.root_, *doc.value_);
  return doc;
}

}  // namespace meshctl::core::yaml

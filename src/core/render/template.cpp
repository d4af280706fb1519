#include "core/render/template.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "core/error.h"
#include "core/render/template_functions.h"

namespace meshctl::core::render {
namespace {

// ---------------------------------------------------------------------------------------------
// Tokens of one action, between {{ and }}.

enum class Tok { Ident, Field, Variable, Dot, Literal, LParen, RParen, Pipe, Comma, Declare, Assign };

struct Token {
  Tok type;
  std::string text;                 // identifier, or variable name with its "$"
  std::vector<std::string> fields;  // the .a.b chain of a Field or Variable
  Json value;                       // a literal's value
  int line = 0;
  bool space_before = false;
};

// A template cut into text and actions, with {{- and -}} already applied to the text.
struct Item {
  bool is_text = false;
  std::string text;
  int line = 0;
  std::vector<Token> tokens;
};

// A problem found while parsing, at a line of the template being parsed.
struct SyntaxFault {
  int line;
  std::string message;
};

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int count_newlines(std::string_view s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

class Scanner {
 public:
  explicit Scanner(std::string_view src) : src_(src) {}

  std::vector<Item> scan() {
    std::vector<Item> items;
    bool trim_next = false;
    while (true) {
      const size_t open = src_.find("{{", pos_);
      std::string text(src_.substr(pos_, open == std::string_view::npos ? std::string_view::npos : open - pos_));
      int text_line = line_;
      line_ += count_newlines(text);
      if (trim_next) {
        size_t n = 0;
        while (n < text.size() && space(text[n])) ++n;
        text_line += count_newlines(std::string_view(text).substr(0, n));
        text.erase(0, n);
      }
      const bool trim_left = open != std::string_view::npos && open + 3 < src_.size() && src_[open + 2] == '-' &&
                             space(src_[open + 3]);
      if (trim_left) {
        while (!text.empty() && space(text.back())) text.pop_back();
      }
      if (!text.empty()) items.push_back(Item{true, std::move(text), text_line, {}});
      if (open == std::string_view::npos) break;

      pos_ = open + (trim_left ? 3 : 2);
      const int action_line = line_;
      skip_space();
      if (src_.substr(pos_, 2) == "/*") {
        trim_next = scan_comment(action_line);
        continue;
      }
      Item action{false, {}, action_line, {}};
      trim_next = lex_action(action.tokens, action_line);
      items.push_back(std::move(action));
    }
    return items;
  }

 private:
  bool skip_space() {
    bool any = false;
    while (pos_ < src_.size() && space(src_[pos_])) {
      if (src_[pos_] == '\n') ++line_;
      ++pos_;
      any = true;
    }
    return any;
  }

  // Returns whether the comment closed with -}}.
  bool scan_comment(int action_line) {
    const size_t end = src_.find("*/", pos_ + 2);
    if (end == std::string_view::npos) throw SyntaxFault{action_line, "unclosed comment"};
    line_ += count_newlines(src_.substr(pos_, end - pos_));
    pos_ = end + 2;
    if (src_.substr(pos_, 2) == "}}") {
      pos_ += 2;
      return false;
    }
    if (src_.substr(pos_, 4) == " -}}") {
      pos_ += 4;
      return true;
    }
    throw SyntaxFault{line_, "a comment must end right before }}"};
  }

  std::vector<std::string> field_chain() {
    std::vector<std::string> fields;
    while (pos_ + 1 < src_.size() && src_[pos_] == '.' && ident_start(src_[pos_ + 1])) {
      const size_t start = ++pos_;
      while (pos_ < src_.size() && ident_char(src_[pos_])) ++pos_;
      fields.emplace_back(src_.substr(start, pos_ - start));
    }
    return fields;
  }

  // Reads tokens up to the closing }}; returns whether it was -}}.
  bool lex_action(std::vector<Token>& tokens, int action_line) {
    bool first = true;
    while (true) {
      const bool spaced = skip_space() || first;
      first = false;
      if (pos_ >= src_.size()) throw SyntaxFault{action_line, "unclosed action: missing }}"};
      if (spaced && src_.substr(pos_, 3) == "-}}") {
        pos_ += 3;
        return true;
      }
      if (src_.substr(pos_, 2) == "}}") {
        pos_ += 2;
        return false;
      }
      Token t{Tok::Literal, {}, {}, {}, line_, spaced};
      const char c = src_[pos_];
      if (c == '"') {
        t.value = interpreted_string();
      } else if (c == '`') {
        const size_t end = src_.find('`', pos_ + 1);
        if (end == std::string_view::npos) throw SyntaxFault{line_, "unterminated raw string"};
        t.value = std::string(src_.substr(pos_ + 1, end - pos_ - 1));
        line_ += count_newlines(src_.substr(pos_, end - pos_));
        pos_ = end + 1;
      } else if (c == '(' || c == ')' || c == '|' || c == ',') {
        t.type = c == '(' ? Tok::LParen : c == ')' ? Tok::RParen : c == '|' ? Tok::Pipe : Tok::Comma;
        ++pos_;
      } else if (c == ':' && src_.substr(pos_, 2) == ":=") {
        t.type = Tok::Declare;
        pos_ += 2;
      } else if (c == '=') {
        if (src_.substr(pos_, 2) == "==") throw SyntaxFault{line_, "there is no == operator: write eq a b"};
        t.type = Tok::Assign;
        ++pos_;
      } else if (c == '$') {
        const size_t start = pos_++;
        while (pos_ < src_.size() && ident_char(src_[pos_])) ++pos_;
        t.type = Tok::Variable;
        t.text = std::string(src_.substr(start, pos_ - start));
        t.fields = field_chain();
      } else if (c == '.') {
        t.fields = field_chain();
        if (t.fields.empty()) {
          ++pos_;
          t.type = Tok::Dot;
        } else {
          t.type = Tok::Field;
        }
      } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                 ((c == '-' || c == '+') && pos_ + 1 < src_.size() &&
                  std::isdigit(static_cast<unsigned char>(src_[pos_ + 1])))) {
        t.value = number();
      } else if (ident_start(c)) {
        const size_t start = pos_;
        while (pos_ < src_.size() && ident_char(src_[pos_])) ++pos_;
        const std::string word(src_.substr(start, pos_ - start));
        if (word == "true" || word == "false") {
          t.value = word == "true";
        } else if (word == "nil") {
          t.value = nullptr;
        } else {
          t.type = Tok::Ident;
          t.text = word;
        }
      } else {
        throw SyntaxFault{line_, std::string("unexpected character '") + c + "' in action"};
      }
      tokens.push_back(std::move(t));
    }
  }

  std::string interpreted_string() {
    std::string out;
    const int start_line = line_;
    ++pos_;
    while (true) {
      if (pos_ >= src_.size() || src_[pos_] == '\n') throw SyntaxFault{start_line, "unterminated string"};
      const char c = src_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= src_.size()) throw SyntaxFault{start_line, "unterminated string"};
      const char e = src_[pos_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '\\': out += '\\'; break;
        case '"': out += '"'; break;
        default:
          throw SyntaxFault{start_line, std::string("unknown escape \\") + e + " in string"};
      }
    }
  }

  Json number() {
    const size_t start = pos_;
    if (src_[pos_] == '-' || src_[pos_] == '+') ++pos_;
    bool is_float = false;
    while (pos_ < src_.size()) {
      const char c = src_[pos_];
      if (std::isdigit(static_cast<unsigned char>(c))) {
        ++pos_;
      } else if (c == '.' || c == 'e' || c == 'E') {
        is_float = true;
        ++pos_;
        if ((c == 'e' || c == 'E') && pos_ < src_.size() && (src_[pos_] == '-' || src_[pos_] == '+')) ++pos_;
      } else {
        break;
      }
    }
    const std::string text(src_.substr(start, pos_ - start));
    if (pos_ < src_.size() && ident_char(src_[pos_])) throw SyntaxFault{line_, "bad number syntax: " + text};
    try {
      size_t used = 0;
      Json v = is_float ? Json(std::stod(text, &used)) : Json(std::stoll(text, &used));
      if (used != text.size()) throw std::invalid_argument(text);
      return v;
    } catch (const std::exception&) {
      throw SyntaxFault{line_, "bad number syntax: " + text};
    }
  }

  std::string_view src_;
  size_t pos_ = 0;
  int line_ = 1;
};

// ---------------------------------------------------------------------------------------------
// The parse tree.

struct Pipeline;

struct Operand {
  enum Kind { Field, Variable, Dot, Literal, Function, Sub } kind = Literal;
  std::string name;                 // variable or function name
  std::vector<std::string> fields;  // fields read from the value
  Json literal;
  std::shared_ptr<Pipeline> sub;
  int line = 0;
};

struct Command {
  std::vector<Operand> operands;
  int line = 0;
};

struct Pipeline {
  std::vector<std::string> vars;  // variables declared (:=) or assigned (=)
  bool assign = false;
  std::vector<Command> commands;
  int line = 0;
};

struct Node;
using NodeList = std::vector<std::unique_ptr<Node>>;

struct Node {
  enum Kind { Text, Action, If, Range, With, Template } kind;
  int line = 0;
  std::string text;  // Text: the text; Template: the template's name
  std::unique_ptr<Pipeline> pipe;
  NodeList list, else_list;
};

struct Tree {
  std::string file;  // the template file it came from, for errors
  int line = 1;      // where it starts in that file
  NodeList root;
};

const std::set<std::string, std::less<>> kEngineFunctions = {"include", "and", "or"};

class TreeBuilder {
 public:
  TreeBuilder(std::vector<Item>& items, const std::map<std::string, TemplateFunction, std::less<>>& functions,
              std::string file)
      : items_(items), functions_(functions), file_(std::move(file)) {}

  // The top level of a file; `define`d templates go to `defines`.
  NodeList build(std::map<std::string, std::shared_ptr<Tree>>& defines) {
    defines_ = &defines;
    NodeList root;
    if (const Item* stop = parse_list(root, true)) {
      throw SyntaxFault{stop->line, "unexpected {{ " + stop->tokens[0].text + " }}"};
    }
    return root;
  }

 private:
  // Parses until an {{ else }} or {{ end }}, which it returns, or the end of the file (nullptr).
  const Item* parse_list(NodeList& out, bool top) {
    while (next_ < items_.size()) {
      const Item& item = items_[next_++];
      if (item.is_text) {
        auto node = std::make_unique<Node>(Node{Node::Text, item.line, item.text, nullptr, {}, {}});
        out.push_back(std::move(node));
        continue;
      }
      const auto& toks = item.tokens;
      if (toks.empty()) throw SyntaxFault{item.line, "empty action"};
      const std::string keyword = toks[0].type == Tok::Ident ? toks[0].text : "";
      if (keyword == "end" || keyword == "else") {
        if (top) throw SyntaxFault{item.line, "unexpected {{ " + keyword + " }}"};
        if (keyword == "end" && toks.size() > 1) throw SyntaxFault{item.line, "unexpected words after end"};
        return &item;
      }
      if (keyword == "if" || keyword == "with" || keyword == "range") {
        out.push_back(parse_control(item, 0));
      } else if (keyword == "define") {
        if (!top) throw SyntaxFault{item.line, "define is only allowed at the top level of a template"};
        parse_define(item);
      } else if (keyword == "template") {
        out.push_back(parse_template_call(item));
      } else if (keyword == "block" || keyword == "break" || keyword == "continue") {
        throw SyntaxFault{item.line, keyword + " is not supported"};
      } else {
        size_t k = 0;
        auto node = std::make_unique<Node>(Node{Node::Action, item.line, {}, nullptr, {}, {}});
        node->pipe = parse_pipeline(toks, k, item.line, false);
        if (k != toks.size()) throw SyntaxFault{toks[k].line, "unexpected " + describe(toks[k])};
        out.push_back(std::move(node));
      }
    }
    return nullptr;
  }

  // if / with / range starting at token `at` of `item` (else if starts at 1).
  std::unique_ptr<Node> parse_control(const Item& item, size_t at) {
    const std::string keyword = item.tokens[at].text;
    const Node::Kind kind = keyword == "if" ? Node::If : keyword == "with" ? Node::With : Node::Range;
    auto node = std::make_unique<Node>(Node{kind, item.line, {}, nullptr, {}, {}});
    size_t k = at + 1;
    if (k == item.tokens.size()) throw SyntaxFault{item.line, "missing value for " + keyword};
    node->pipe = parse_pipeline(item.tokens, k, item.line, kind == Node::Range);
    if (k != item.tokens.size()) throw SyntaxFault{item.tokens[k].line, "unexpected " + describe(item.tokens[k])};
    const Item* stop = parse_list(node->list, false);
    if (!stop) throw SyntaxFault{item.line, "{{ " + keyword + " }} has no matching {{ end }}"};
    if (stop->tokens[0].text == "else") {
      if (stop->tokens.size() > 1) {
        const Token& chained = stop->tokens[1];
        if (chained.type != Tok::Ident || (chained.text != "if" && chained.text != "with") ||
            kind == Node::Range) {
          throw SyntaxFault{stop->line, "unexpected " + describe(chained) + " after else"};
        }
        // else if: a nested conditional that consumes the shared {{ end }}.
        node->else_list.push_back(parse_control(*stop, 1));
      } else {
        const Item* end = parse_list(node->else_list, false);
        if (!end) throw SyntaxFault{item.line, "{{ " + keyword + " }} has no matching {{ end }}"};
        if (end->tokens[0].text != "end") throw SyntaxFault{end->line, "a second {{ else }}"};
      }
    }
    return node;
  }

  void parse_define(const Item& item) {
    const auto& toks = item.tokens;
    if (toks.size() != 2 || toks[1].type != Tok::Literal || !toks[1].value.is_string()) {
      throw SyntaxFault{item.line, "define needs one quoted template name"};
    }
    const std::string name = toks[1].value.get<std::string>();
    auto tree = std::make_shared<Tree>();
    tree->file = file_;
    tree->line = item.line;
    const Item* stop = parse_list(tree->root, false);
    if (!stop) throw SyntaxFault{item.line, "define \"" + name + "\" has no matching {{ end }}"};
    if (stop->tokens[0].text != "end") throw SyntaxFault{stop->line, "unexpected {{ else }} in define"};
    if (defines_->count(name)) {
      const auto& other = (*defines_)[name];
      throw SyntaxFault{item.line, "template \"" + name + "\" is already defined at " + other->file + ":" +
                                       std::to_string(other->line)};
    }
    (*defines_)[name] = std::move(tree);
  }

  std::unique_ptr<Node> parse_template_call(const Item& item) {
    const auto& toks = item.tokens;
    if (toks.size() < 2 || toks[1].type != Tok::Literal || !toks[1].value.is_string()) {
      throw SyntaxFault{item.line, "template needs a quoted template name"};
    }
    auto node = std::make_unique<Node>(Node{Node::Template, item.line, toks[1].value.get<std::string>(), nullptr, {}, {}});
    size_t k = 2;
    if (k < toks.size()) {
      node->pipe = parse_pipeline(toks, k, item.line, false);
      if (k != toks.size()) throw SyntaxFault{toks[k].line, "unexpected " + describe(toks[k])};
    }
    return node;
  }

  static std::string describe(const Token& t) {
    switch (t.type) {
      case Tok::Ident: return "\"" + t.text + "\"";
      case Tok::Field: return "field";
      case Tok::Variable: return "variable " + t.text;
      case Tok::Dot: return "\".\"";
      case Tok::Literal: return "value " + t.value.dump();
      case Tok::LParen: return "\"(\"";
      case Tok::RParen: return "\")\"";
      case Tok::Pipe: return "\"|\"";
      case Tok::Comma: return "\",\"";
      case Tok::Declare: return "\":=\"";
      case Tok::Assign: return "\"=\"";
    }
    return "token";
  }

  std::unique_ptr<Pipeline> parse_pipeline(const std::vector<Token>& toks, size_t& k, int line, bool in_range) {
    auto pipe = std::make_unique<Pipeline>();
    pipe->line = k < toks.size() ? toks[k].line : line;
    auto is_plain_var = [&](size_t i) {
      return i < toks.size() && toks[i].type == Tok::Variable && toks[i].fields.empty();
    };
    auto is_decl = [&](size_t i) {
      return i < toks.size() && (toks[i].type == Tok::Declare || toks[i].type == Tok::Assign);
    };
    if (is_plain_var(k) && is_decl(k + 1)) {
      pipe->vars.push_back(toks[k].text);
      pipe->assign = toks[k + 1].type == Tok::Assign;
      k += 2;
    } else if (in_range && is_plain_var(k) && k + 1 < toks.size() && toks[k + 1].type == Tok::Comma &&
               is_plain_var(k + 2) && is_decl(k + 3)) {
      pipe->vars = {toks[k].text, toks[k + 2].text};
      pipe->assign = toks[k + 3].type == Tok::Assign;
      k += 4;
    }
    for (auto& v : pipe->vars) {
      if (v == "$") throw SyntaxFault{line, "cannot assign to $"};
    }
    while (true) {
      Command cmd;
      cmd.line = k < toks.size() ? toks[k].line : line;
      while (k < toks.size() && toks[k].type != Tok::Pipe && toks[k].type != Tok::RParen) {
        cmd.operands.push_back(parse_operand(toks, k, line));
      }
      if (cmd.operands.empty()) throw SyntaxFault{cmd.line, "missing value for command"};
      const bool is_call = cmd.operands[0].kind == Operand::Function;
      if (!is_call && cmd.operands.size() > 1) {
        throw SyntaxFault{cmd.line, "can't give arguments to a value that is not a function"};
      }
      if (!is_call && !pipe->commands.empty()) {
        throw SyntaxFault{cmd.line, "only a function can follow | in a pipeline"};
      }
      pipe->commands.push_back(std::move(cmd));
      if (k < toks.size() && toks[k].type == Tok::Pipe) {
        ++k;
        continue;
      }
      break;
    }
    if (!pipe->vars.empty() && pipe->commands.empty()) throw SyntaxFault{line, "missing value for declaration"};
    return pipe;
  }

  Operand parse_operand(const std::vector<Token>& toks, size_t& k, int line) {
    const Token& t = toks[k++];
    Operand op;
    op.line = t.line;
    switch (t.type) {
      case Tok::Field:
        op.kind = Operand::Field;
        op.fields = t.fields;
        return op;
      case Tok::Variable:
        op.kind = Operand::Variable;
        op.name = t.text;
        op.fields = t.fields;
        return op;
      case Tok::Dot:
        op.kind = Operand::Dot;
        return op;
      case Tok::Literal:
        op.kind = Operand::Literal;
        op.literal = t.value;
        return op;
      case Tok::Ident:
        if (!functions_.count(t.text) && !kEngineFunctions.count(t.text)) {
          throw SyntaxFault{t.line, "function \"" + t.text + "\" is not defined"};
        }
        op.kind = Operand::Function;
        op.name = t.text;
        return op;
      case Tok::LParen: {
        op.kind = Operand::Sub;
        op.sub = parse_pipeline(toks, k, line, false);
        if (k >= toks.size() || toks[k].type != Tok::RParen) throw SyntaxFault{t.line, "unclosed ("};
        ++k;
        if (k < toks.size() && toks[k].type == Tok::Field && !toks[k].space_before) op.fields = toks[k++].fields;
        return op;
      }
      default:
        throw SyntaxFault{t.line, "unexpected " + describe(t)};
    }
  }

  std::vector<Item>& items_;
  size_t next_ = 0;
  const std::map<std::string, TemplateFunction, std::less<>>& functions_;
  std::string file_;
  std::map<std::string, std::shared_ptr<Tree>>* defines_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// Rendering.

void append_output(RenderedText& out, std::string_view s, int line, bool advance_lines) {
  for (char c : s) {
    if (out.text.empty() || out.text.back() == '\n') out.source_lines.push_back(line);
    out.text += c;
    if (c == '\n' && advance_lines) ++line;
  }
}

}  // namespace

int RenderedText::source_line(int output_line) const {
  if (source_lines.empty()) return 1;
  if (output_line < 1) return source_lines.front();
  if (static_cast<size_t>(output_line) > source_lines.size()) return source_lines.back();
  return source_lines[static_cast<size_t>(output_line) - 1];
}

struct TemplateSet::Impl {
  TemplateOptions options;
  std::map<std::string, TemplateFunction, std::less<>> functions;
  std::map<std::string, std::shared_ptr<Tree>> trees;
};

namespace {

class Executor {
 public:
  Executor(const TemplateSet::Impl& set, const Tree& tree, int depth) : set_(set), tree_(tree), depth_(depth) {}

  void run(const Json& dot, RenderedText& out) {
    vars_.push_back({"$", dot});
    walk(tree_.root, dot, out);
  }

 private:
  [[noreturn]] void fail(int line, const std::string& message) const {
    throw Error(tree_.file + ":" + std::to_string(line) + ": " + message);
  }

  void walk(const NodeList& list, const Json& dot, RenderedText& out) {
    for (const auto& node : list) {
      switch (node->kind) {
        case Node::Text:
          append_output(out, node->text, node->line, true);
          break;
        case Node::Action: {
          Json v = eval_pipeline(*node->pipe, dot);
          if (!node->pipe->vars.empty()) break;  // a declaration prints nothing
          try {
            append_output(out, template_text(v), node->line, false);
          } catch (const TemplateFault& f) {
            fail(node->line, f.what());
          }
          break;
        }
        case Node::If:
        case Node::With: {
          const size_t mark = vars_.size();
          Json v = eval_pipeline(*node->pipe, dot);
          if (template_truth(v)) {
            walk(node->list, node->kind == Node::With ? v : dot, out);
          } else {
            walk(node->else_list, dot, out);
          }
          vars_.resize(mark);
          break;
        }
        case Node::Range:
          range(*node, dot, out);
          break;
        case Node::Template: {
          Json data = node->pipe ? eval_pipeline(*node->pipe, dot) : Json();
          append_output(out, include(node->text, data, node->line), node->line, false);
          break;
        }
      }
    }
  }

  void range(const Node& node, const Json& dot, RenderedText& out) {
    const size_t mark = vars_.size();
    const auto& pipe = *node.pipe;
    // Evaluate without declaring: the declared names are the loop's key and element.
    Json v = eval_commands(pipe, dot);
    auto body = [&](const Json& key, const Json& elem) {
      const size_t inner = vars_.size();
      if (pipe.vars.size() == 1) {
        bind(pipe, 0, elem);
      } else if (pipe.vars.size() == 2) {
        bind(pipe, 0, key);
        bind(pipe, 1, elem);
      }
      walk(node.list, elem, out);
      vars_.resize(inner);
    };
    if (v.is_array() && !v.empty()) {
      for (size_t i = 0; i < v.size(); ++i) body(Json(i), v[i]);
    } else if (v.is_object() && !v.empty()) {
      // Go ranges over a map in sorted key order; so do we, whatever order the YAML had.
      std::vector<std::string> keys;
      for (auto it = v.begin(); it != v.end(); ++it) keys.push_back(it.key());
      std::sort(keys.begin(), keys.end());
      for (const auto& k : keys) body(Json(k), v[k]);
    } else if (v.is_number_integer() && v.get<long long>() > 0) {
      for (long long i = 0; i < v.get<long long>(); ++i) body(Json(i), Json(i));
    } else if (v.is_null() || v.is_array() || v.is_object() || v.is_number_integer()) {
      walk(node.else_list, dot, out);
    } else {
      fail(pipe.line, "range can't iterate over " + template_kind(v));
    }
    vars_.resize(mark);
  }

  void bind(const Pipeline& pipe, size_t i, const Json& value) {
    const std::string& name = pipe.vars[i];
    if (pipe.assign) {
      for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
        if (it->first == name) {
          it->second = value;
          return;
        }
      }
      fail(pipe.line, "undefined variable " + name);
    }
    vars_.push_back({name, value});
  }

  Json eval_pipeline(const Pipeline& pipe, const Json& dot) {
    Json v = eval_commands(pipe, dot);
    if (!pipe.vars.empty()) bind(pipe, 0, v);
    return v;
  }

  Json eval_commands(const Pipeline& pipe, const Json& dot) {
    Json v;
    bool first = true;
    for (const auto& cmd : pipe.commands) {
      v = eval_command(cmd, dot, first ? nullptr : &v);
      first = false;
    }
    return v;
  }

  Json eval_command(const Command& cmd, const Json& dot, const Json* piped) {
    const Operand& head = cmd.operands[0];
    if (head.kind != Operand::Function) return eval_operand(head, dot);
    try {
      if (head.name == "and" || head.name == "or") return logic(cmd, dot, piped);
      std::vector<Json> args;
      for (size_t i = 1; i < cmd.operands.size(); ++i) args.push_back(eval_operand(cmd.operands[i], dot));
      if (piped) args.push_back(*piped);
      if (head.name == "include") {
        if (args.empty() || args.size() > 2 || !args[0].is_string()) {
          throw TemplateFault("include needs a template name and, optionally, the data to render it with");
        }
        return include(args[0].get<std::string>(), args.size() == 2 ? args[1] : Json(), head.line);
      }
      return set_.functions.find(head.name)->second(args);
    } catch (const Error&) {
      throw;
    } catch (const TemplateFault& f) {
      fail(head.line, head.name + ": " + f.what());
    } catch (const std::exception& e) {
      fail(head.line, head.name + ": " + e.what());
    }
  }

  // and / or stop at the first argument that decides the result, like Go's.
  Json logic(const Command& cmd, const Json& dot, const Json* piped) {
    const bool is_and = cmd.operands[0].name == "and";
    const size_t count = cmd.operands.size() - 1 + (piped ? 1 : 0);
    if (count < 1) throw TemplateFault("needs at least one argument");
    Json v;
    for (size_t i = 1; i <= count; ++i) {
      v = i < cmd.operands.size() ? eval_operand(cmd.operands[i], dot) : *piped;
      if (template_truth(v) != is_and) return v;
    }
    return v;
  }

  std::string include(const std::string& name, const Json& data, int line) {
    auto it = set_.trees.find(name);
    if (it == set_.trees.end()) fail(line, "no template named \"" + name + "\"");
    if (depth_ >= set_.options.max_include_depth) {
      fail(line, "templates nest deeper than " + std::to_string(set_.options.max_include_depth) +
                     " includes (does \"" + name + "\" include itself?)");
    }
    RenderedText sub;
    try {
      Executor(set_, *it->second, depth_ + 1).run(data, sub);
    } catch (const Error& e) {
      // Keep the innermost location and say how we got there.
      throw Error(std::string(e.what()) + " (included from " + tree_.file + ":" + std::to_string(line) + ")");
    }
    return sub.text;
  }

  Json eval_operand(const Operand& op, const Json& dot) {
    switch (op.kind) {
      case Operand::Literal:
        return op.literal;
      case Operand::Dot:
        return dot;
      case Operand::Field:
        return fields(dot, op.fields, "", op.line);
      case Operand::Variable:
        for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
          if (it->first == op.name) return fields(it->second, op.fields, op.name, op.line);
        }
        fail(op.line, "undefined variable " + op.name);
      case Operand::Sub: {
        Json v = eval_commands(*op.sub, dot);
        if (!op.sub->vars.empty()) bind(*op.sub, 0, v);
        return fields(v, op.fields, "(...)", op.line);
      }
      case Operand::Function: {
        // A function used as an argument without parentheses: call it with no arguments.
        Command call{{op}, op.line};
        return eval_command(call, dot, nullptr);
      }
    }
    return nullptr;
  }

  Json fields(const Json& base, const std::vector<std::string>& names, const std::string& prefix, int line) {
    const Json* cur = &base;
    std::string path = prefix;
    for (const auto& name : names) {
      const std::string parent = path.empty() ? "." : path;
      path += "." + name;
      if (cur->is_null()) {
        if (set_.options.strict) fail(line, "cannot read " + path + ": " + parent + " is null");
        return nullptr;
      }
      if (!cur->is_object()) fail(line, "cannot read " + path + ": " + parent + " is " + template_kind(*cur));
      auto it = cur->find(name);
      if (it == cur->end()) {
        if (set_.options.strict) fail(line, path + " is not defined");
        return nullptr;
      }
      cur = &*it;
    }
    return *cur;
  }

  const TemplateSet::Impl& set_;
  const Tree& tree_;
  int depth_;
  std::vector<std::pair<std::string, Json>> vars_;
};

}  // namespace

TemplateSet::TemplateSet(TemplateOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  for (auto& [name, fn] : builtin_template_functions()) impl_->functions.emplace(name, std::move(fn));
}

TemplateSet::~TemplateSet() = default;
TemplateSet::TemplateSet(TemplateSet&&) noexcept = default;
TemplateSet& TemplateSet::operator=(TemplateSet&&) noexcept = default;

void TemplateSet::add(const std::string& name, std::string_view text) {
  if (impl_->trees.count(name)) throw Error(name + ": a template with this name is already loaded");
  std::map<std::string, std::shared_ptr<Tree>> defines;
  auto tree = std::make_shared<Tree>();
  tree->file = name;
  try {
    std::vector<Item> items = Scanner(text).scan();
    tree->root = TreeBuilder(items, impl_->functions, name).build(defines);
  } catch (const SyntaxFault& f) {
    throw Error(name + ":" + std::to_string(f.line) + ": " + f.message);
  }
  for (auto& [def, t] : defines) {
    auto existing = impl_->trees.find(def);
    if (existing != impl_->trees.end()) {
      throw Error(name + ":" + std::to_string(t->line) + ": template \"" + def + "\" is already defined at " +
                  existing->second->file + ":" + std::to_string(existing->second->line));
    }
  }
  impl_->trees.merge(defines);
  impl_->trees.emplace(name, std::move(tree));
}

bool TemplateSet::contains(std::string_view name) const { return impl_->trees.count(std::string(name)) > 0; }

void TemplateSet::add_function(const std::string& name, TemplateFunction fn) {
  impl_->functions[name] = std::move(fn);
}

RenderedText TemplateSet::render(std::string_view name, const Json& data) const {
  auto it = impl_->trees.find(std::string(name));
  if (it == impl_->trees.end()) throw Error("no template named \"" + std::string(name) + "\"");
  RenderedText out;
  Executor(*impl_, *it->second, 0).run(data, out);
  return out;
}

std::string render_template(std::string_view name, std::string_view text, const Json& data, TemplateOptions options) {
  TemplateSet set(options);
  set.add(std::string(name), text);
  return set.render(name, data).text;
}

}  // namespace meshctl::core::render

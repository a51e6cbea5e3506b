// Parser: tokens to a syntax tree, following jinja2's grammar and operator precedence.
#include "schwarm/error.h"
#include "text/jinja/ast.h"

namespace schwarm::jinja {
namespace {

class Parser {
 public:
  Parser(std::vector<Token> toks, std::string name) : toks_(std::move(toks)), name_(std::move(name)) {}

  Body parse_all() {
    std::string hit;
    Body b = subparse({}, &hit);
    if (peek().type != Tok::End) fail("unexpected '" + hit + "'");
    return b;
  }

 private:
  std::vector<Token> toks_;
  std::string name_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loops_ = 0;

  struct Guard {
    Parser& p;
    explicit Guard(Parser& pp) : p(pp) {
      if (++p.depth_ > kMaxParseDepth) p.fail("template nested too deeply");
    }
    ~Guard() { --p.depth_; }
  };

  const Token& peek(size_t k = 0) const { return toks_[std::min(pos_ + k, toks_.size() - 1)]; }
  const Token& next() {
    const Token& t = toks_[pos_];
    if (pos_ + 1 < toks_.size()) ++pos_;
    return t;
  }
  [[noreturn]] void fail(const std::string& msg) const {
    throw Error(name_ + ":" + std::to_string(peek().line) + ": " + msg);
  }
  bool is_op(const char* op, size_t k = 0) const { return peek(k).type == Tok::Op && peek(k).text == op; }
  bool is_name(const char* nm, size_t k = 0) const { return peek(k).type == Tok::Name && peek(k).text == nm; }
  void expect_op(const char* op) {
    if (!is_op(op)) fail(std::string("expected '") + op + "'" + describe());
    next();
  }
  void expect_block_end() {
    if (peek().type != Tok::BlockEnd) fail("expected end of statement block" + describe());
    next();
  }
  std::string describe() const {
    const Token& t = peek();
    switch (t.type) {
      case Tok::BlockEnd: return ", got end of statement block";
      case Tok::VarEnd: return ", got end of print statement";
      case Tok::End: return ", got end of template";
      default: return ", got '" + t.text + "'";
    }
  }
  std::string expect_name() {
    if (peek().type != Tok::Name) fail("expected a name" + describe());
    return next().text;
  }
  NodePtr node(N type, int line) {
    auto n = std::make_unique<Node>();
    n->type = type;
    n->line = line;
    return n;
  }

  // Statements until a block tag whose name is in `ends`; leaves the stream after that name.
  Body subparse(std::initializer_list<const char*> ends, std::string* hit) {
    Guard g(*this);
    Body body;
    while (true) {
      const Token& t = peek();
      if (t.type == Tok::End) {
        if (ends.size() == 0) return body;
        std::string want;
        for (const char* e : ends) want += std::string(want.empty() ? "" : " or ") + "'" + e + "'";
        fail("unexpected end of template, expected " + want);
      }
      if (t.type == Tok::Data) {
        auto n = node(N::Data, t.line);
        n->name = t.text;
        next();
        body.push_back(std::move(n));
      } else if (t.type == Tok::VarBegin) {
        next();
        auto n = node(N::Output, t.line);
        n->kids.push_back(parse_tuple(true));
        if (peek().type != Tok::VarEnd) fail("expected end of print statement" + describe());
        next();
        body.push_back(std::move(n));
      } else if (t.type == Tok::BlockBegin) {
        const Token& kw = peek(1);
        if (kw.type != Tok::Name) {
          next();
          fail("tag name expected");
        }
        for (const char* e : ends)
          if (kw.text == e) {
            next();
            next();
            *hit = kw.text;
            return body;
          }
        next();
        body.push_back(parse_statement());
      } else {
        fail("unexpected token");
      }
    }
  }

  NodePtr parse_statement() {
    Guard g(*this);
    const Token kw = next();
    const std::string& k = kw.text;
    if (k == "if") return parse_if(kw.line);
    if (k == "for") return parse_for(kw.line);
    if (k == "set") return parse_set(kw.line);
    if (k == "macro") return parse_macro(kw.line);
    if (k == "call") return parse_call_block(kw.line);
    if (k == "filter") return parse_filter_block(kw.line);
    if (k == "generation") {
      auto n = node(N::Generation, kw.line);
      expect_block_end();
      std::string hit;
      n->body = subparse({"endgeneration"}, &hit);
      expect_block_end();
      return n;
    }
    if (k == "break" || k == "continue") {
      if (loops_ == 0) fail("'" + k + "' outside of a loop");
      expect_block_end();
      return node(k == "break" ? N::Break : N::Continue, kw.line);
    }
    static const char* const known[] = {"include", "extends", "block", "import", "from", "with", "autoescape",
                                        "do", "trans"};
    for (const char* u : known)
      if (k == u) fail("unsupported statement '" + k + "'");
    fail("unknown tag '" + k + "'");
  }

  NodePtr parse_if(int line) {
    auto n = node(N::If, line);
    while (true) {
      n->kids.push_back(parse_tuple(true));
      expect_block_end();
      std::string hit;
      n->branches.push_back(subparse({"elif", "else", "endif"}, &hit));
      if (hit == "elif") continue;
      if (hit == "else") {
        expect_block_end();
        n->else_body = subparse({"endif"}, &hit);
      }
      expect_block_end();
      return n;
    }
  }

  void parse_targets(std::vector<std::string>& out) {
    bool paren = is_op("(");
    if (paren) next();
    out.push_back(expect_name());
    while (is_op(",")) {
      next();
      if (peek().type != Tok::Name) break;
      out.push_back(expect_name());
    }
    if (paren) expect_op(")");
  }

  NodePtr parse_for(int line) {
    auto n = node(N::For, line);
    parse_targets(n->ops);
    if (!is_name("in")) fail("expected 'in'" + describe());
    next();
    n->kids.push_back(parse_tuple(false));
    n->kids.push_back(nullptr);
    if (is_name("if")) {
      next();
      n->kids[1] = parse_expression(true);
    }
    if (is_name("recursive")) fail("unsupported recursive loop");
    expect_block_end();
    std::string hit;
    ++loops_;
    n->body = subparse({"else", "endfor"}, &hit);
    --loops_;
    if (hit == "else") {
      expect_block_end();
      n->else_body = subparse({"endfor"}, &hit);
    }
    expect_block_end();
    return n;
  }

  NodePtr parse_set(int line) {
    // Target: name, ns.attr, or a tuple of names.
    NodePtr target;
    const std::string first = expect_name();
    if (is_op(".")) {
      next();
      target = node(N::Attr, line);
      auto obj = node(N::Name, line);
      obj->name = first;
      target->kids.push_back(std::move(obj));
      target->name = expect_name();
    } else if (is_op(",")) {
      target = node(N::TupleLit, line);
      target->ops.push_back(first);
      while (is_op(",")) {
        next();
        if (peek().type != Tok::Name) break;
        target->ops.push_back(expect_name());
      }
    } else {
      target = node(N::Name, line);
      target->name = first;
    }
    if (is_op("=")) {
      next();
      auto n = node(N::Set, line);
      n->kids.push_back(std::move(target));
      n->kids.push_back(parse_tuple(true));
      expect_block_end();
      return n;
    }
    if (target->type == N::TupleLit) fail("expected '='");
    auto n = node(N::SetBlock, line);
    n->kids.push_back(std::move(target));
    NodePtr filt;
    while (is_op("|")) {
      next();
      filt = parse_filter(std::move(filt));
    }
    n->kids.push_back(std::move(filt));
    expect_block_end();
    std::string hit;
    const int saved = loops_;
    n->body = subparse({"endset"}, &hit);
    loops_ = saved;
    expect_block_end();
    return n;
  }

  void parse_signature(Node& n) {
    expect_op("(");
    while (!is_op(")")) {
      if (!n.kwargs.empty()) expect_op(",");
      if (is_op(")")) break;
      std::string param = expect_name();
      NodePtr def;
      if (is_op("=")) {
        next();
        def = parse_expression(true);
      }
      n.kwargs.emplace_back(std::move(param), std::move(def));
    }
    next();
  }

  NodePtr parse_macro(int line) {
    auto n = node(N::Macro, line);
    n->name = expect_name();
    parse_signature(*n);
    expect_block_end();
    std::string hit;
    const int saved = loops_;
    loops_ = 0;
    n->body = subparse({"endmacro"}, &hit);
    loops_ = saved;
    if (peek().type == Tok::Name) next();  // {% endmacro name %}
    expect_block_end();
    return n;
  }

  NodePtr parse_call_block(int line) {
    auto n = node(N::CallBlock, line);
    if (is_op("(")) parse_signature(*n);
    n->kids.push_back(parse_expression(true));
    if (n->kids[0]->type != N::Call) fail("expected call");
    expect_block_end();
    std::string hit;
    const int saved = loops_;
    loops_ = 0;
    n->body = subparse({"endcall"}, &hit);
    loops_ = saved;
    expect_block_end();
    return n;
  }

  NodePtr parse_filter_block(int line) {
    auto n = node(N::FilterBlock, line);
    NodePtr filt = parse_filter(nullptr);
    while (is_op("|")) {
      next();
      filt = parse_filter(std::move(filt));
    }
    n->kids.push_back(std::move(filt));
    expect_block_end();
    std::string hit;
    n->body = subparse({"endfilter"}, &hit);
    expect_block_end();
    return n;
  }

  // ---- expressions ----
  NodePtr parse_tuple(bool with_condexpr) {
    const int line = peek().line;
    NodePtr first = parse_expression(with_condexpr);
    if (!is_op(",")) return first;
    auto t = node(N::TupleLit, line);
    t->kids.push_back(std::move(first));
    while (is_op(",")) {
      next();
      if (peek().type == Tok::VarEnd || peek().type == Tok::BlockEnd || is_op(")")) break;
      t->kids.push_back(parse_expression(with_condexpr));
    }
    return t;
  }

  NodePtr parse_expression(bool with_condexpr) {
    Guard g(*this);
    if (!with_condexpr) return parse_or();
    NodePtr expr = parse_or();
    while (is_name("if")) {
      const int line = next().line;
      auto c = node(N::Cond, line);
      c->kids.push_back(parse_or());
      c->kids.push_back(std::move(expr));
      if (is_name("else")) {
        next();
        c->kids.push_back(parse_expression(true));
      } else c->kids.push_back(nullptr);
      expr = std::move(c);
    }
    return expr;
  }

  NodePtr binary(N type, NodePtr a, NodePtr b, int line, std::string op = {}) {
    auto n = node(type, line);
    n->name = std::move(op);
    n->kids.push_back(std::move(a));
    n->kids.push_back(std::move(b));
    return n;
  }

  NodePtr parse_or() {
    NodePtr l = parse_and();
    while (is_name("or")) {
      const int line = next().line;
      l = binary(N::Or, std::move(l), parse_and(), line);
    }
    return l;
  }
  NodePtr parse_and() {
    NodePtr l = parse_not();
    while (is_name("and")) {
      const int line = next().line;
      l = binary(N::And, std::move(l), parse_not(), line);
    }
    return l;
  }
  NodePtr parse_not() {
    Guard g(*this);
    if (is_name("not")) {
      auto n = node(N::Not, next().line);
      n->kids.push_back(parse_not());
      return n;
    }
    return parse_compare();
  }
  NodePtr parse_compare() {
    const int line = peek().line;
    NodePtr first = parse_math1();
    NodePtr cmp;
    while (true) {
      std::string op;
      if (peek().type == Tok::Op && (is_op("==") || is_op("!=") || is_op("<") || is_op(">") || is_op("<=") || is_op(">="))) {
        op = next().text;
      } else if (is_name("in")) {
        next();
        op = "in";
      } else if (is_name("not") && is_name("in", 1)) {
        next();
        next();
        op = "notin";
      } else break;
      if (!cmp) {
        cmp = node(N::Compare, line);
        cmp->kids.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->kids.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }
  NodePtr parse_math1() {
    NodePtr l = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& t = next();
      l = binary(N::Binary, std::move(l), parse_concat(), t.line, t.text);
    }
    return l;
  }
  NodePtr parse_concat() {
    NodePtr l = parse_math2();
    while (is_op("~")) {
      const int line = next().line;
      l = binary(N::Binary, std::move(l), parse_math2(), line, "~");
    }
    return l;
  }
  NodePtr parse_math2() {
    NodePtr l = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& t = next();
      l = binary(N::Binary, std::move(l), parse_pow(), t.line, t.text);
    }
    return l;
  }
  NodePtr parse_pow() {
    NodePtr l = parse_unary(true);
    while (is_op("**")) {
      const int line = next().line;
      l = binary(N::Binary, std::move(l), parse_unary(true), line, "**");
    }
    return l;
  }
  NodePtr parse_unary(bool with_filter) {
    Guard g(*this);
    NodePtr n;
    if (is_op("-") || is_op("+")) {
      const Token& t = next();
      n = node(t.text == "-" ? N::Neg : N::Pos, t.line);
      n->kids.push_back(parse_unary(false));
    } else {
      n = parse_primary();
    }
    n = parse_postfix(std::move(n));
    if (with_filter) n = parse_filter_expr(std::move(n));
    return n;
  }

  NodePtr parse_primary() {
    Guard g(*this);
    const Token t = next();
    if (t.type == Tok::Name) {
      if (t.text == "true" || t.text == "True") return lit(Value::boolean(true), t.line);
      if (t.text == "false" || t.text == "False") return lit(Value::boolean(false), t.line);
      if (t.text == "none" || t.text == "None") return lit(Value::none(), t.line);
      auto n = node(N::Name, t.line);
      n->name = t.text;
      return n;
    }
    if (t.type == Tok::String) {
      std::string s = t.text;
      while (peek().type == Tok::String) s += next().text;
      return lit(Value::string(s), t.line);
    }
    if (t.type == Tok::Int) {
      try {
        return lit(Value::integer(std::stoll(t.text)), t.line);
      } catch (const std::exception&) {
        fail("integer literal too large");
      }
    }
    if (t.type == Tok::Float) return lit(Value::number(std::strtod(t.text.c_str(), nullptr)), t.line);
    if (t.type == Tok::Op && t.text == "(") {
      if (is_op(")")) {
        next();
        return node(N::TupleLit, t.line);
      }
      NodePtr e = parse_tuple(true);
      expect_op(")");
      return e;
    }
    if (t.type == Tok::Op && t.text == "[") {
      auto n = node(N::ListLit, t.line);
      while (!is_op("]")) {
        if (!n->kids.empty()) expect_op(",");
        if (is_op("]")) break;
        n->kids.push_back(parse_expression(true));
      }
      next();
      return n;
    }
    if (t.type == Tok::Op && t.text == "{") {
      auto n = node(N::DictLit, t.line);
      while (!is_op("}")) {
        if (!n->kids.empty()) expect_op(",");
        if (is_op("}")) break;
        n->kids.push_back(parse_expression(true));
        expect_op(":");
        n->kids.push_back(parse_expression(true));
      }
      next();
      return n;
    }
    --pos_;
    fail("unexpected " + std::string(t.type == Tok::Op ? "'" + t.text + "'" : describe().substr(6)));
  }

  NodePtr lit(Value v, int line) {
    auto n = node(N::Literal, line);
    n->literal = std::move(v);
    return n;
  }

  void parse_call_args(Node& n) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (is_op(")")) break;
      if (is_op("*") || is_op("**")) fail("unsupported *args/**kwargs in call");
      if (peek().type == Tok::Name && is_op("=", 1)) {
        std::string key = next().text;
        next();
        n.kwargs.emplace_back(std::move(key), parse_expression(true));
      } else {
        if (!n.kwargs.empty()) fail("positional argument follows keyword argument");
        n.kids.push_back(parse_expression(true));
      }
    }
    next();
  }

  NodePtr parse_postfix(NodePtr n) {
    while (true) {
      Guard g(*this);
      if (is_op(".")) {
        const int line = next().line;
        auto a = node(N::Attr, line);
        if (peek().type == Tok::Int) {
          a->type = N::Item;
          a->kids.push_back(std::move(n));
          a->kids.push_back(lit(Value::integer(std::stoll(next().text)), line));
        } else {
          a->name = expect_name();
          a->kids.push_back(std::move(n));
        }
        n = std::move(a);
      } else if (is_op("[")) {
        const int line = next().line;
        NodePtr parts[3];
        int colons = 0;
        while (!is_op("]")) {
          if (is_op(":")) {
            if (++colons > 2) fail("invalid slice");
            next();
            continue;
          }
          if (parts[colons]) fail("expected ']'" + describe());
          parts[colons] = parse_expression(true);
        }
        next();
        if (colons == 0) {
          if (!parts[0]) fail("expected subscript");
          auto it = node(N::Item, line);
          it->kids.push_back(std::move(n));
          it->kids.push_back(std::move(parts[0]));
          n = std::move(it);
        } else {
          auto s = node(N::Slice, line);
          s->kids.push_back(std::move(n));
          for (auto& p : parts) s->kids.push_back(std::move(p));
          n = std::move(s);
        }
      } else if (is_op("(")) {
        auto c = node(N::Call, peek().line);
        c->kids.push_back(std::move(n));
        parse_call_args(*c);
        n = std::move(c);
      } else {
        return n;
      }
    }
  }

  NodePtr parse_filter(NodePtr operand) {
    Guard g(*this);
    auto f = node(N::Filter, peek().line);
    f->name = expect_name();
    while (is_op(".")) {
      next();
      f->name += '.';
      f->name += expect_name();
    }
    f->kids.push_back(std::move(operand));
    if (is_op("(")) parse_call_args(*f);
    return f;
  }

  NodePtr parse_filter_expr(NodePtr n) {
    while (true) {
      Guard g(*this);
      if (is_op("|")) {
        next();
        n = parse_filter(std::move(n));
      } else if (is_name("is")) {
        auto t = node(N::Test, next().line);
        if (is_name("not")) {
          next();
          t->negate = true;
        }
        t->name = expect_name();
        t->kids.push_back(std::move(n));
        if (is_op("(")) {
          parse_call_args(*t);
        } else if ((peek().type == Tok::Name || peek().type == Tok::String || peek().type == Tok::Int ||
                    peek().type == Tok::Float || is_op("[") || is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          NodePtr arg = parse_primary();
          arg = parse_postfix(std::move(arg));
          t->kids.push_back(std::move(arg));
        }
        n = std::move(t);
      } else if (is_op("(")) {
        auto c = node(N::Call, peek().line);
        c->kids.push_back(std::move(n));
        parse_call_args(*c);
        n = std::move(c);
      } else {
        return n;
      }
    }
  }
};

}  // namespace

Template parse_template(const std::string& source, const std::string& name) {
  Parser p(tokenize(source, name), name);
  return Template{name, p.parse_all()};
}

}  // namespace schwarm::jinja

#pragma once
// Tokens and syntax tree of the template language (a jinja2 subset sized for chat templates).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "text/jinja/value.h"

namespace schwarm::jinja {

// Limits that keep hostile templates from exhausting the stack, CPU or memory.
constexpr int kMaxParseDepth = 200;           // nested statements + expressions
constexpr int kMaxCallDepth = 100;            // macro recursion
constexpr uint64_t kMaxSteps = 5'000'000;     // evaluated nodes and loop iterations per render
constexpr size_t kMaxOutputBytes = 64u << 20;  // any string or the whole output
constexpr int64_t kMaxRange = 100'000;         // as jinja2's sandbox

enum class Tok { Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, End };

struct Token {
  Tok type;
  std::string text;  // data, name, string value (unescaped), number or operator spelling
  int line;
};

// Normalises newlines, applies trim_blocks / lstrip_blocks / "-" and "+" whitespace control,
// drops comments and expands {% raw %} blocks into data.
std::vector<Token> tokenize(const std::string& source, const std::string& name);

enum class N {
  // statements
  Data, Output, If, For, Set, SetBlock, Macro, CallBlock, FilterBlock, Break, Continue, Generation,
  // expressions
  Literal, Name, Attr, Item, Slice, Call, Filter, Test, Not, Neg, Pos, Binary, Compare, And, Or, Cond,
  ListLit, TupleLit, DictLit
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

struct Node {
  N type;
  int line = 0;
  std::string name;                 // variable, attribute, filter, test, operator, macro name
  Value literal;                    // Literal
  bool negate = false;              // Test: "is not"
  std::vector<NodePtr> kids;        // operands (null entries allowed for omitted slice parts)
  std::vector<std::pair<std::string, NodePtr>> kwargs;  // call/filter keyword args, macro params
  std::vector<std::string> ops;     // Compare operators; For/Macro/CallBlock target names
  std::vector<Body> branches;       // If: one per condition in kids
  Body body, else_body;
};

struct Template {
  std::string name;
  Body body;
};

Template parse_template(const std::string& source, const std::string& name);

}  // namespace schwarm::jinja

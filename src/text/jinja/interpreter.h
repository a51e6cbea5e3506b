#pragma once
// Tree-walking evaluator. Internal to the template engine; the public face is ChatTemplate.
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "text/jinja/ast.h"
#include "text/jinja/value.h"

namespace schwarm::jinja {

struct CallArgs {
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> kwargs;
  // Argument `name` at position `pos` (kwargs win), or nullptr.
  const Value* get(size_t pos, const char* name) const {
    for (const auto& [k, v] : kwargs)
      if (k == name) return &v;
    return pos < args.size() ? &args[pos] : nullptr;
  }
};

// A failure inside evaluation; the interpreter adds "NAME:LINE: " when it leaves the template.
struct Failure {
  std::string message;
};
[[noreturn]] void fail(const std::string& message);

struct Scope {
  std::vector<std::pair<std::string, Value>> vars;
  std::shared_ptr<Scope> parent;
  const Value* lookup(const std::string& name) const;
  void set(const std::string& name, Value v);
};

struct Interpreter {
  std::string name;
  std::optional<std::time_t> now;  // strftime_now's clock (UTC); unset: the real local time
  uint64_t steps = 0;
  uint64_t max_steps = kMaxSteps;
  int call_depth = 0;
  int line = 0;

  void step() {
    if (++steps > max_steps) fail("template too expensive: more than " + std::to_string(max_steps) + " steps");
  }
  std::string render(const Template& t, const Value& context);
  Value eval(const Node& n, const std::shared_ptr<Scope>& scope);
  Value call(const Value& callee, CallArgs& args);
  Value getattr(const Value& obj, const std::string& attr);
  Value getitem(const Value& obj, const Value& key);
  bool test(const std::string& name, const Value& v, CallArgs& args);
  Value filter(const std::string& name, const Value& v, CallArgs& args);
  enum class Flow { Normal, Break, Continue };
  Flow exec(const Body& body, const std::shared_ptr<Scope>& scope, std::string& out);
};

// Shared helpers (filters.cpp).
std::vector<Value> iterate(const Value& v);  // Python iteration; Undefined iterates as empty
void check_size(size_t bytes);
Value string_method(Interpreter& in, const Value& obj, const std::string& method);  // bound, or Undefined
std::string strip_chars(const std::string& s, const Value* chars, bool left, bool right);
std::string html_escape(const std::string& s);  // markupsafe.escape
int compare_values(const Value& a, const Value& b);  // Python <, for sorting; fails on mixed types

}  // namespace schwarm::jinja

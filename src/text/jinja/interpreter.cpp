// Evaluation of statements and expressions with jinja2's (Python's) semantics.
#include "text/jinja/interpreter.h"

#include <cmath>
#include <limits>

#include "schwarm/error.h"

namespace schwarm::jinja {

void fail(const std::string& message) { throw Failure{message}; }

void check_size(size_t bytes) {
  if (bytes > kMaxOutputBytes) fail("output too large: more than " + std::to_string(kMaxOutputBytes) + " bytes");
}

const Value* Scope::lookup(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent.get())
    for (const auto& [k, v] : s->vars)
      if (k == name) return &v;
  return nullptr;
}

void Scope::set(const std::string& name, Value v) {
  for (auto& [k, old] : vars)
    if (k == name) {
      old = std::move(v);
      return;
    }
  vars.emplace_back(name, std::move(v));
}

namespace {

std::shared_ptr<Scope> child(const std::shared_ptr<Scope>& parent) {
  auto s = std::make_shared<Scope>();
  s->parent = parent;
  return s;
}

void require_defined(const Value& v) {
  if (v.is_undefined()) fail(v.s.empty() ? "value is undefined" : v.s);
}

[[noreturn]] void type_error(const char* op, const Value& a, const Value& b) {
  fail(std::string("unsupported operand type(s) for ") + op + ": '" + type_name(a) + "' and '" + type_name(b) + "'");
}

int64_t as_int(const Value& v) { return v.kind == Kind::Bool ? v.b : v.i; }

Value arith(const std::string& op, const Value& a, const Value& b) {
  require_defined(a);
  require_defined(b);
  if (op == "+") {
    if (a.kind == Kind::String && b.kind == Kind::String) {
      // Markup (|safe) + str escapes the plain side, as markupsafe does, and stays Markup.
      const bool markup = a.safe || b.safe;
      Value r = Value::string((markup && !a.safe ? html_escape(a.s) : a.s) + (markup && !b.safe ? html_escape(b.s) : b.s));
      check_size(r.s.size());
      r.safe = markup;
      return r;
    }
    if (a.kind == Kind::List && b.kind == Kind::List && !a.generator && !b.generator) {
      List items = *a.list;
      items.insert(items.end(), b.list->begin(), b.list->end());
      check_size(items.size());
      return Value::make_list(std::move(items));
    }
  }
  if (op == "*") {
    const Value* str = a.kind == Kind::String || a.kind == Kind::List ? &a : b.kind == Kind::String || b.kind == Kind::List ? &b : nullptr;
    const Value* cnt = str == &a ? &b : &a;
    if (str && (cnt->kind == Kind::Int || cnt->kind == Kind::Bool)) {
      const int64_t k = std::max<int64_t>(0, as_int(*cnt));
      const size_t unit = str->kind == Kind::String ? str->s.size() : str->list->size();
      if (unit && static_cast<uint64_t>(k) > kMaxOutputBytes / unit) fail("output too large");
      if (str->kind == Kind::String) {
        std::string r;
        for (int64_t i = 0; i < k; ++i) r += str->s;
        return Value::string(std::move(r));
      }
      List r;
      for (int64_t i = 0; i < k; ++i) r.insert(r.end(), str->list->begin(), str->list->end());
      return Value::make_list(std::move(r));
    }
  }
  if (!a.is_number() || !b.is_number()) type_error(op.c_str(), a, b);
  const bool ints = a.kind != Kind::Float && b.kind != Kind::Float;
  const int64_t x = as_int(a), y = as_int(b);
  const double dx = a.as_double(), dy = b.as_double();
  int64_t r = 0;
  if (op == "+") {
    if (!ints) return Value::number(dx + dy);
    if (__builtin_add_overflow(x, y, &r)) fail("integer overflow");
    return Value::integer(r);
  }
  if (op == "-") {
    if (!ints) return Value::number(dx - dy);
    if (__builtin_sub_overflow(x, y, &r)) fail("integer overflow");
    return Value::integer(r);
  }
  if (op == "*") {
    if (!ints) return Value::number(dx * dy);
    if (__builtin_mul_overflow(x, y, &r)) fail("integer overflow");
    return Value::integer(r);
  }
  if (op == "/") {
    if (dy == 0) fail("division by zero");
    return Value::number(dx / dy);
  }
  if (op == "//" || op == "%") {
    if (ints) {
      if (y == 0) fail("integer division or modulo by zero");
      if (x == std::numeric_limits<int64_t>::min() && y == -1) fail("integer overflow");
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {
        --q;
        m += y;
      }
      return Value::integer(op == "//" ? q : m);
    }
    if (dy == 0) fail("float division by zero");
    const double q = std::floor(dx / dy);
    if (op == "//") return Value::number(q);
    double m = std::fmod(dx, dy);
    if (m != 0 && ((m < 0) != (dy < 0))) m += dy;
    return Value::number(m);
  }
  if (op == "**") {
    if (ints && y >= 0) {
      int64_t acc = 1;
      for (int64_t i = 0; i < y; ++i) {
        if (__builtin_mul_overflow(acc, x, &acc)) fail("integer overflow");
        if (acc == 0 || acc == 1) break;
      }
      if (acc == 1 && x == -1) acc = (y % 2) ? -1 : 1;
      return Value::integer(acc);
    }
    return Value::number(std::pow(dx, dy));
  }
  fail("unsupported operator " + op);
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind) {
    case Kind::String:
      if (item.kind != Kind::String) fail("'in <string>' requires string as left operand, not " + type_name(item));
      return container.s.find(item.s) != std::string::npos;
    case Kind::List:
      for (const auto& e : *container.list)
        if (equals(e, item)) return true;
      return false;
    case Kind::Dict:
      return container.find(dict_key(item)) != nullptr;
    case Kind::Undefined: return false;
    default: fail("argument of type '" + type_name(container) + "' is not iterable");
  }
}

}  // namespace

int compare_values(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind != Kind::Float && b.kind != Kind::Float) return as_int(a) < as_int(b) ? -1 : as_int(a) > as_int(b);
    return a.as_double() < b.as_double() ? -1 : a.as_double() > b.as_double();
  }
  if (a.kind == Kind::String && b.kind == Kind::String) return a.s < b.s ? -1 : a.s > b.s;
  if (a.kind == Kind::List && b.kind == Kind::List) {
    for (size_t i = 0; i < a.list->size() && i < b.list->size(); ++i) {
      if (equals((*a.list)[i], (*b.list)[i])) continue;
      return compare_values((*a.list)[i], (*b.list)[i]);
    }
    return a.list->size() < b.list->size() ? -1 : a.list->size() > b.list->size();
  }
  require_defined(a);
  require_defined(b);
  fail("'<' not supported between instances of '" + type_name(a) + "' and '" + type_name(b) + "'");
}

std::vector<Value> iterate(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined: return {};
    case Kind::List: return *v.list;
    case Kind::Dict: {
      std::vector<Value> keys;
      for (const auto& [k, x] : *v.dict) keys.push_back(key_value(k));
      return keys;
    }
    case Kind::String: {
      std::vector<Value> chars;
      for (uint32_t cp : decode_utf8(v.s)) chars.push_back(Value::string(encode_utf8({cp})));
      return chars;
    }
    default: fail("'" + type_name(v) + "' object is not iterable");
  }
}

Value Interpreter::getattr(const Value& obj, const std::string& attr) {
  require_defined(obj);
  if (obj.kind == Kind::Namespace) {
    if (const Value* v = obj.find(attr)) return *v;
    return Value::undefined("'Namespace' object has no attribute '" + attr + "'");
  }
  Value m = string_method(*this, obj, attr);
  if (!m.is_undefined() || !m.s.empty()) return m;
  if (obj.kind == Kind::Dict)
    if (const Value* v = obj.find(attr)) return *v;
  return Value::undefined("'" + type_name(obj) + " object' has no attribute '" + attr + "'");
}

Value Interpreter::getitem(const Value& obj, const Value& key) {
  require_defined(obj);
  if (obj.kind == Kind::Dict || obj.kind == Kind::Namespace) {
    if (key.kind != Kind::List && key.kind != Kind::Dict && key.kind != Kind::Namespace && key.kind != Kind::Callable && !key.is_undefined())
      if (const Value* v = obj.find(dict_key(key))) return *v;
  } else if (((obj.kind == Kind::List && !obj.generator) || obj.kind == Kind::String) && (key.kind == Kind::Int || key.kind == Kind::Bool)) {
    int64_t i = as_int(key);
    if (obj.kind == Kind::List) {
      const auto n = static_cast<int64_t>(obj.list->size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return (*obj.list)[static_cast<size_t>(i)];
    } else {
      const auto cps = decode_utf8(obj.s);
      const auto n = static_cast<int64_t>(cps.size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return Value::string(encode_utf8({cps[static_cast<size_t>(i)]}));
    }
  }
  if (key.kind == Kind::String) return getattr(obj, key.s);
  return Value::undefined("'" + type_name(obj) + " object' has no element " + repr(key));
}

Value Interpreter::call(const Value& callee, CallArgs& args) {
  if (callee.kind != Kind::Callable) {
    require_defined(callee);
    fail("'" + type_name(callee) + "' object is not callable");
  }
  return (*callee.fn)(*this, args);
}

namespace {

// Python slice semantics over n elements: the selected indices.
std::vector<size_t> slice_indices(int64_t n, const Value& a, const Value& b, const Value& c) {
  auto as_opt = [](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.kind == Kind::None || v.is_undefined()) return std::nullopt;
    if (v.kind != Kind::Int && v.kind != Kind::Bool) fail(std::string("slice ") + what + " must be an integer");
    return as_int(v);
  };
  const int64_t step = as_opt(c, "step").value_or(1);
  if (step == 0) fail("slice step cannot be zero");
  auto clamp = [&](std::optional<int64_t> v, int64_t def) {
    if (!v) return def;
    int64_t x = *v;
    if (x < 0) x += n;
    if (step > 0) return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1);
  };
  const int64_t start = clamp(as_opt(a, "start"), step > 0 ? 0 : n - 1);
  const int64_t stop = clamp(as_opt(b, "stop"), step > 0 ? n : -1);
  std::vector<size_t> idx;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) idx.push_back(static_cast<size_t>(i));
  return idx;
}

// The loop object: built once per loop, its fields updated in place each iteration.
Value make_loop(const std::shared_ptr<size_t>& index) {
  Dict d;
  for (const char* k : {"index", "index0", "revindex", "revindex0", "first", "last", "length", "depth", "depth0",
                        "previtem", "nextitem"})
    d.emplace_back(k, Value());
  d.emplace_back("cycle", Value::callable([index](Interpreter&, CallArgs& a) {
    if (a.args.empty()) fail("no items for cycling given");
    return a.args[*index % a.args.size()];
  }));
  return Value::make_dict(std::move(d));
}

void update_loop(Value& loop, size_t i, const std::vector<Value>& items) {
  const size_t n = items.size();
  const auto ii = static_cast<int64_t>(i), nn = static_cast<int64_t>(n);
  Dict& d = *loop.dict;
  d[0].second = Value::integer(ii + 1);
  d[1].second = Value::integer(ii);
  d[2].second = Value::integer(nn - ii);
  d[3].second = Value::integer(nn - ii - 1);
  d[4].second = Value::boolean(i == 0);
  d[5].second = Value::boolean(i + 1 == n);
  d[6].second = Value::integer(nn);
  d[7].second = Value::integer(1);
  d[8].second = Value::integer(0);
  d[9].second = i > 0 ? items[i - 1] : Value::undefined("there is no previous item");
  d[10].second = i + 1 < n ? items[i + 1] : Value::undefined("there is no next item");
}

void assign_targets(Scope& scope, const std::vector<std::string>& names, const Value& item) {
  if (names.size() == 1) {
    scope.set(names[0], item);
    return;
  }
  std::vector<Value> parts = iterate(item);
  if (parts.size() != names.size())
    fail(parts.size() < names.size() ? "not enough values to unpack" : "too many values to unpack");
  for (size_t k = 0; k < names.size(); ++k) scope.set(names[k], parts[k]);
}

}  // namespace

Value Interpreter::eval(const Node& n, const std::shared_ptr<Scope>& scope) {
  step();
  line = n.line;
  switch (n.type) {
    case N::Literal: return n.literal;
    case N::Name: {
      if (const Value* v = scope->lookup(n.name)) return *v;
      return Value::undefined("'" + n.name + "' is undefined");
    }
    case N::Attr: {
      Value obj = eval(*n.kids[0], scope);
      line = n.line;
      return getattr(obj, n.name);
    }
    case N::Item: {
      Value obj = eval(*n.kids[0], scope);
      Value key = eval(*n.kids[1], scope);
      line = n.line;
      return getitem(obj, key);
    }
    case N::Slice: {
      Value obj = eval(*n.kids[0], scope);
      Value parts[3];
      for (int k = 0; k < 3; ++k)
        if (n.kids[static_cast<size_t>(k) + 1]) parts[k] = eval(*n.kids[static_cast<size_t>(k) + 1], scope);
      line = n.line;
      require_defined(obj);
      if (obj.kind == Kind::List && !obj.generator) {
        List out;
        for (size_t i : slice_indices(static_cast<int64_t>(obj.list->size()), parts[0], parts[1], parts[2]))
          out.push_back((*obj.list)[i]);
        return Value::make_list(std::move(out));
      }
      if (obj.kind == Kind::String) {
        const auto cps = decode_utf8(obj.s);
        std::vector<uint32_t> out;
        for (size_t i : slice_indices(static_cast<int64_t>(cps.size()), parts[0], parts[1], parts[2])) out.push_back(cps[i]);
        return Value::string(encode_utf8(out));
      }
      return Value::undefined("'" + type_name(obj) + " object' is not sliceable");
    }
    case N::Call: {
      CallArgs args;
      for (size_t k = 1; k < n.kids.size(); ++k) args.args.push_back(eval(*n.kids[k], scope));
      for (const auto& [key, e] : n.kwargs) args.kwargs.emplace_back(key, eval(*e, scope));
      Value callee = eval(*n.kids[0], scope);
      line = n.line;
      return call(callee, args);
    }
    case N::Filter: {
      Value operand = eval(*n.kids[0], scope);
      CallArgs args;
      for (size_t k = 1; k < n.kids.size(); ++k) args.args.push_back(eval(*n.kids[k], scope));
      for (const auto& [key, e] : n.kwargs) args.kwargs.emplace_back(key, eval(*e, scope));
      line = n.line;
      return filter(n.name, operand, args);
    }
    case N::Test: {
      Value operand = eval(*n.kids[0], scope);
      CallArgs args;
      for (size_t k = 1; k < n.kids.size(); ++k) args.args.push_back(eval(*n.kids[k], scope));
      for (const auto& [key, e] : n.kwargs) args.kwargs.emplace_back(key, eval(*e, scope));
      line = n.line;
      return Value::boolean(test(n.name, operand, args) != n.negate);
    }
    case N::Not: return Value::boolean(!truthy(eval(*n.kids[0], scope)));
    case N::Neg:
    case N::Pos: {
      Value v = eval(*n.kids[0], scope);
      require_defined(v);
      if (!v.is_number()) fail(std::string("bad operand type for unary ") + (n.type == N::Neg ? "-" : "+") + ": '" + type_name(v) + "'");
      if (n.type == N::Pos) return v.kind == Kind::Bool ? Value::integer(v.b) : v;
      if (v.kind == Kind::Float) return Value::number(-v.f);
      if (as_int(v) == std::numeric_limits<int64_t>::min()) fail("integer overflow");
      return Value::integer(-as_int(v));
    }
    case N::Binary: {
      Value a = eval(*n.kids[0], scope);
      Value b = eval(*n.kids[1], scope);
      line = n.line;
      if (n.name == "~") {
        std::string s = to_str(a);
        s += to_str(b);
        check_size(s.size());
        return Value::string(std::move(s));
      }
      return arith(n.name, a, b);
    }
    case N::Compare: {
      Value left = eval(*n.kids[0], scope);
      for (size_t k = 0; k < n.ops.size(); ++k) {
        Value right = eval(*n.kids[k + 1], scope);
        line = n.line;
        const std::string& op = n.ops[k];
        bool r;
        if (op == "==") r = equals(left, right);
        else if (op == "!=") r = !equals(left, right);
        else if (op == "in") r = contains(right, left);
        else if (op == "notin") r = !contains(right, left);
        else {
          const int c = compare_values(left, right);
          r = op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0;
        }
        if (!r) return Value::boolean(false);
        left = std::move(right);
      }
      return Value::boolean(true);
    }
    case N::And: {
      Value a = eval(*n.kids[0], scope);
      return truthy(a) ? eval(*n.kids[1], scope) : a;
    }
    case N::Or: {
      Value a = eval(*n.kids[0], scope);
      return truthy(a) ? a : eval(*n.kids[1], scope);
    }
    case N::Cond: {
      if (truthy(eval(*n.kids[0], scope))) return eval(*n.kids[1], scope);
      if (n.kids[2]) return eval(*n.kids[2], scope);
      return Value::undefined("the inline if-expression evaluated to false and no else section was defined");
    }
    case N::ListLit:
    case N::TupleLit: {
      List items;
      for (const auto& k : n.kids) items.push_back(eval(*k, scope));
      return n.type == N::TupleLit ? Value::make_tuple(std::move(items)) : Value::make_list(std::move(items));
    }
    case N::DictLit: {
      Value d = Value::make_dict();
      for (size_t k = 0; k + 1 < n.kids.size(); k += 2) {
        Value key = eval(*n.kids[k], scope);
        d.set(dict_key(key), eval(*n.kids[k + 1], scope));
      }
      return d;
    }
    default: fail("unsupported expression");
  }
}

namespace {

// The macro lives in the scope it closes over, so it holds that scope weakly (no cycle).
Value make_macro(const Node& n, const std::shared_ptr<Scope>& defining_scope, bool is_caller) {
  const Node* def = &n;
  std::weak_ptr<Scope> closure = defining_scope;
  return Value::callable([def, closure, is_caller](Interpreter& in, CallArgs& a) -> Value {
    if (in.call_depth >= kMaxCallDepth) fail("maximum macro recursion depth (" + std::to_string(kMaxCallDepth) + ") exceeded");
    auto parent = closure.lock();
    if (!parent) fail("macro '" + def->name + "' called after its scope ended");
    auto scope = child(parent);
    const auto& params = def->kwargs;
    List varargs;
    for (size_t k = 0; k < a.args.size(); ++k) {
      if (k < params.size()) scope->set(params[k].first, a.args[k]);
      else varargs.push_back(a.args[k]);
    }
    Dict kwargs;
    for (const auto& [key, v] : a.kwargs) {
      bool found = false;
      for (size_t k = 0; k < params.size(); ++k)
        if (params[k].first == key) {
          if (k < a.args.size()) fail("macro '" + def->name + "' got multiple values for argument '" + key + "'");
          scope->set(key, v);
          found = true;
        }
      if (!found && key == "caller" && !is_caller) {
        scope->set("caller", v);
        found = true;
      }
      if (!found) kwargs.emplace_back(key, v);
    }
    for (size_t k = a.args.size(); k < params.size(); ++k) {
      bool given = false;
      for (const auto& kw : a.kwargs) given = given || kw.first == params[k].first;
      if (given) continue;
      scope->set(params[k].first, params[k].second ? in.eval(*params[k].second, scope)
                                                   : Value::undefined("parameter '" + params[k].first + "' was not provided"));
    }
    scope->set("varargs", Value::make_list(std::move(varargs)));
    scope->set("kwargs", Value::make_dict(std::move(kwargs)));
    std::string out;
    ++in.call_depth;
    try {
      in.exec(def->body, scope, out);
    } catch (...) {
      --in.call_depth;
      throw;
    }
    --in.call_depth;
    return Value::string(std::move(out));
  });
}

// {% filter a|b(x) %} and {% set v | a %}: a chain whose innermost operand is null takes `v`.
Value apply_filter_chain(Interpreter& in, const Node& last, Value v, const std::shared_ptr<Scope>& scope) {
  std::vector<const Node*> chain;
  for (const Node* f = &last; f; f = f->kids[0].get()) chain.push_back(f);
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    CallArgs args;
    for (size_t k = 1; k < (*it)->kids.size(); ++k) args.args.push_back(in.eval(*(*it)->kids[k], scope));
    for (const auto& [key, e] : (*it)->kwargs) args.kwargs.emplace_back(key, in.eval(*e, scope));
    v = in.filter((*it)->name, v, args);
  }
  return v;
}

}  // namespace

Interpreter::Flow Interpreter::exec(const Body& body, const std::shared_ptr<Scope>& scope, std::string& out) {
  for (const auto& np : body) {
    const Node& n = *np;
    step();
    line = n.line;
    switch (n.type) {
      case N::Data: out += n.name; break;
      case N::Output: out += to_str(eval(*n.kids[0], scope)); break;
      case N::If: {
        bool done = false;
        for (size_t k = 0; k < n.kids.size() && !done; ++k)
          if (truthy(eval(*n.kids[k], scope))) {
            done = true;
            const Flow f = exec(n.branches[k], scope, out);
            if (f != Flow::Normal) return f;
          }
        if (!done) {
          const Flow f = exec(n.else_body, scope, out);
          if (f != Flow::Normal) return f;
        }
        break;
      }
      case N::For: {
        const Value seq = eval(*n.kids[0], scope);
        line = n.line;
        if (seq.kind == Kind::None || (!seq.is_undefined() && seq.kind != Kind::List && seq.kind != Kind::Dict && seq.kind != Kind::String))
          fail("'" + type_name(seq) + "' object is not iterable");
        std::vector<Value> items = iterate(seq);
        auto inner = child(scope);
        if (n.kids[1]) {
          std::vector<Value> kept;
          for (const auto& it : items) {
            assign_targets(*inner, n.ops, it);
            if (truthy(eval(*n.kids[1], inner))) kept.push_back(it);
          }
          items = std::move(kept);
        }
        auto index = std::make_shared<size_t>(0);
        Value loop = make_loop(index);
        inner->set("loop", loop);
        for (size_t i = 0; i < items.size(); ++i) {
          step();
          *index = i;
          assign_targets(*inner, n.ops, items[i]);
          update_loop(loop, i, items);
          const Flow f = exec(n.body, inner, out);
          if (f == Flow::Break) break;
        }
        if (items.empty()) {
          const Flow f = exec(n.else_body, scope, out);
          if (f != Flow::Normal) return f;
        }
        break;
      }
      case N::Set: {
        Value v = eval(*n.kids[1], scope);
        const Node& t = *n.kids[0];
        line = n.line;
        if (t.type == N::Name) scope->set(t.name, std::move(v));
        else if (t.type == N::TupleLit) assign_targets(*scope, t.ops, v);
        else {
          Value ns = eval(*t.kids[0], scope);
          if (ns.kind != Kind::Namespace) fail("cannot assign attribute on non-namespace object");
          ns.set(t.name, std::move(v));
        }
        break;
      }
      case N::SetBlock: {
        std::string captured;
        exec(n.body, scope, captured);
        Value v = Value::string(std::move(captured));
        if (n.kids[1]) v = apply_filter_chain(*this, *n.kids[1], std::move(v), scope);
        const Node& t = *n.kids[0];
        if (t.type == N::Name) scope->set(t.name, std::move(v));
        else {
          Value ns = eval(*t.kids[0], scope);
          if (ns.kind != Kind::Namespace) fail("cannot assign attribute on non-namespace object");
          ns.set(t.name, std::move(v));
        }
        break;
      }
      case N::FilterBlock: {
        std::string captured;
        exec(n.body, scope, captured);
        Value v = Value::string(std::move(captured));
        out += to_str(apply_filter_chain(*this, *n.kids[0], std::move(v), scope));
        break;
      }
      case N::Macro: scope->set(n.name, make_macro(n, scope, false)); break;
      case N::CallBlock: {
        const Node& c = *n.kids[0];
        CallArgs args;
        for (size_t k = 1; k < c.kids.size(); ++k) args.args.push_back(eval(*c.kids[k], scope));
        for (const auto& [key, e] : c.kwargs) args.kwargs.emplace_back(key, eval(*e, scope));
        args.kwargs.emplace_back("caller", make_macro(n, scope, true));
        Value callee = eval(*c.kids[0], scope);
        out += to_str(call(callee, args));
        break;
      }
      case N::Generation: {
        const Flow f = exec(n.body, scope, out);
        if (f != Flow::Normal) return f;
        break;
      }
      case N::Break: return Flow::Break;
      case N::Continue: return Flow::Continue;
      default: fail("unsupported statement");
    }
    check_size(out.size());
  }
  return Flow::Normal;
}

}  // namespace schwarm::jinja

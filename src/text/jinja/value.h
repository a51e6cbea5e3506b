#pragma once
// Values of the template language, modelled on the Python objects jinja2 hands around: lists,
// dicts and namespaces are shared by reference (as in Python), everything else is by value.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace schwarm::jinja {

struct Value;
using List = std::vector<Value>;
// Insertion-ordered map. Keys are strings; a template's rare non-string keys ({512: 128}) are
// stored under dict_key()'s encoding ("\xff" + type + text, never valid UTF-8) and turned back
// into values by key_value().
using Dict = std::vector<std::pair<std::string, Value>>;
struct Interpreter;
struct CallArgs;
using Function = std::function<Value(Interpreter&, CallArgs&)>;

enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Callable };

struct Value {
  Kind kind = Kind::Undefined;
  bool b = false;
  bool safe = false;       // a Markup string (from |safe); only affects Markup + str
  bool generator = false;  // a List that jinja2 would hand out as a generator (map, select...)
  bool tuple = false;      // a List that is a Python tuple (prints as (a, b))
  int64_t i = 0;
  double f = 0;
  std::string s;          // String; for Undefined the hint used in error messages
  std::shared_ptr<List> list;
  std::shared_ptr<Dict> dict;  // Dict and Namespace
  std::shared_ptr<Function> fn;

  static Value undefined(std::string hint = {}) { Value v; v.s = std::move(hint); return v; }
  static Value none() { Value v; v.kind = Kind::None; return v; }
  static Value boolean(bool x) { Value v; v.kind = Kind::Bool; v.b = x; return v; }
  static Value integer(int64_t x) { Value v; v.kind = Kind::Int; v.i = x; return v; }
  static Value number(double x) { Value v; v.kind = Kind::Float; v.f = x; return v; }
  static Value string(std::string x) { Value v; v.kind = Kind::String; v.s = std::move(x); return v; }
  static Value make_list(List items = {});
  static Value make_tuple(List items);
  static Value make_dict(Dict items = {});
  static Value make_namespace(Dict items = {});
  static Value callable(Function f);
  static Value from_json(const nlohmann::ordered_json& j);

  bool is_undefined() const { return kind == Kind::Undefined; }
  bool is_number() const { return kind == Kind::Int || kind == Kind::Float || kind == Kind::Bool; }
  bool is_mapping() const { return kind == Kind::Dict || kind == Kind::Namespace; }
  double as_double() const { return kind == Kind::Float ? f : static_cast<double>(kind == Kind::Bool ? b : i); }
  const Value* find(std::string_view key) const;  // dict/namespace entry, or nullptr
  void set(const std::string& key, Value v);      // dict/namespace entry, replacing
};

std::string dict_key(const Value& key);  // fails for unhashable keys
Value key_value(const std::string& key);

// Python semantics.
bool truthy(const Value& v);
bool equals(const Value& a, const Value& b);
std::string to_str(const Value& v);   // str(v); Undefined gives ""
std::string repr(const Value& v);     // repr(v)
std::string float_repr(double d);
std::string type_name(const Value& v);  // Python's type name: 'str', 'dict', ...
// json.dumps(v, ensure_ascii=False, indent=indent, separators=...) as transformers' tojson.
std::string to_json_text(const Value& v, int indent, std::string item_sep, std::string key_sep,
                         bool ensure_ascii = false);

// Unicode code points of a UTF-8 string (Python strings index by code point); invalid bytes map
// to U+FFFD-like single units so indexing never fails.
std::vector<uint32_t> decode_utf8(std::string_view s);
std::string encode_utf8(const std::vector<uint32_t>& cps);
// One code point as UTF-8 (0xDC80..0xDCFF: the raw byte decode_utf8 kept).
void append_utf8(std::string& out, uint32_t cp);
size_t utf8_length(std::string_view s);

}  // namespace schwarm::jinja

// Built-in filters, tests, globals and the methods of str/dict/list that templates call.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>

#include "schwarm/error.h"
#include "text/jinja/interpreter.h"

namespace schwarm::jinja {
namespace {

bool py_space(uint32_t c) {
  return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

const std::string& need_str(const Value& v, const char* what) {
  if (v.kind != Kind::String) fail(std::string(what) + " expects a string, not " + type_name(v));
  return v.s;
}

int64_t need_int(const Value& v, const char* what) {
  if (v.kind == Kind::Bool) return v.b;
  if (v.kind != Kind::Int) fail(std::string(what) + " expects an integer, not " + type_name(v));
  return v.i;
}

std::string ascii_lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string ascii_upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string title_case(const std::string& s) {
  std::string out = s;
  bool prev_cased = false;
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalpha(u)) {
      c = static_cast<char>(prev_cased ? std::tolower(u) : std::toupper(u));
      prev_cased = true;
    } else prev_cased = u >= 0x80 && prev_cased;
  }
  return out;
}

std::string capitalize(const std::string& s) {
  std::string out = ascii_lower(s);
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

std::string py_replace(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
  if (count < 0) count = INT64_MAX;
  std::string out;
  if (from.empty()) {
    const auto cps = decode_utf8(s);
    int64_t done = 0;
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (done < count) {
        out += to;
        ++done;
      }
      if (i < cps.size()) out += encode_utf8({cps[i]});
      check_size(out.size());
    }
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (done < count) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out += to;
    check_size(out.size());
    pos = hit + from.size();
    ++done;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

Value py_split(const std::string& s, const Value* sep, int64_t maxsplit, bool from_right) {
  List parts;
  if (maxsplit < 0) maxsplit = INT64_MAX;
  if (!sep || sep->kind == Kind::None) {
    const auto cps = decode_utf8(s);
    std::vector<std::pair<size_t, size_t>> words;
    size_t i = 0;
    while (i < cps.size()) {
      while (i < cps.size() && py_space(cps[i])) ++i;
      if (i >= cps.size()) break;
      size_t j = i;
      while (j < cps.size() && !py_space(cps[j])) ++j;
      words.emplace_back(i, j);
      i = j;
    }
    if (!words.empty() && static_cast<int64_t>(words.size() - 1) > maxsplit) {
      // The remainder keeps its inner whitespace (trailing whitespace stripped).
      if (!from_right) {
        auto last = words[static_cast<size_t>(maxsplit)];
        size_t end = cps.size();
        while (end > last.first && py_space(cps[end - 1])) --end;
        words.resize(static_cast<size_t>(maxsplit));
        words.emplace_back(last.first, end);
      } else fail("unsupported rsplit with maxsplit");
    }
    for (auto [a, b] : words)
      parts.push_back(Value::string(encode_utf8(std::vector<uint32_t>(cps.begin() + static_cast<long>(a), cps.begin() + static_cast<long>(b)))));
    return Value::make_list(std::move(parts));
  }
  const std::string& d = need_str(*sep, "split");
  if (d.empty()) fail("empty separator");
  if (from_right) {
    std::vector<std::string> rev;
    size_t end = s.size();
    int64_t done = 0;
    while (done < maxsplit) {
      if (end < d.size()) break;
      const size_t hit = s.rfind(d, end - d.size());
      if (hit == std::string::npos) break;
      rev.push_back(s.substr(hit + d.size(), end - hit - d.size()));
      end = hit;
      ++done;
    }
    rev.push_back(s.substr(0, end));
    for (auto it = rev.rbegin(); it != rev.rend(); ++it) parts.push_back(Value::string(*it));
    return Value::make_list(std::move(parts));
  }
  size_t pos = 0;
  int64_t done = 0;
  while (done < maxsplit) {
    const size_t hit = s.find(d, pos);
    if (hit == std::string::npos) break;
    parts.push_back(Value::string(s.substr(pos, hit - pos)));
    pos = hit + d.size();
    ++done;
  }
  parts.push_back(Value::string(s.substr(pos)));
  return Value::make_list(std::move(parts));
}

bool affix_match(const std::string& s, const Value& affix, bool start) {
  auto one = [&](const Value& a) {
    const std::string& x = need_str(a, start ? "startswith" : "endswith");
    return start ? s.compare(0, x.size(), x) == 0 && s.size() >= x.size()
                 : s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (affix.kind == Kind::List) {
    for (const auto& a : *affix.list)
      if (one(a)) return true;
    return false;
  }
  return one(affix);
}

// str.format with {} / {0} / {name} fields and no format specs.
std::string py_format(const std::string& fmt, const CallArgs& a) {
  std::string out;
  size_t auto_idx = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if (c == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      const size_t close = fmt.find('}', i);
      if (close == std::string::npos) fail("Single '{' encountered in format string");
      const std::string field = fmt.substr(i + 1, close - i - 1);
      if (field.find_first_of(":!.[") != std::string::npos) fail("unsupported format spec in str.format");
      const Value* v = nullptr;
      if (field.empty()) v = auto_idx < a.args.size() ? &a.args[auto_idx++] : nullptr;
      else if (std::isdigit(static_cast<unsigned char>(field[0]))) {
        const size_t k = std::stoul(field);
        v = k < a.args.size() ? &a.args[k] : nullptr;
      } else
        for (const auto& [key, val] : a.kwargs)
          if (key == field) v = &val;
      if (!v) fail("Replacement index out of range in str.format");
      out += to_str(*v);
      i = close;
    } else if (c == '}') {
      fail("Single '}' encountered in format string");
    } else out += c;
  }
  return out;
}

}  // namespace

std::string strip_chars(const std::string& s, const Value* chars, bool left, bool right) {
  const auto cps = decode_utf8(s);
  std::vector<uint32_t> set;
  const bool custom = chars && chars->kind != Kind::None && !chars->is_undefined();
  if (custom) set = decode_utf8(need_str(*chars, "strip"));
  auto strip = [&](uint32_t c) { return custom ? std::find(set.begin(), set.end(), c) != set.end() : py_space(c); };
  size_t a = 0, b = cps.size();
  if (left)
    while (a < b && strip(cps[a])) ++a;
  if (right)
    while (b > a && strip(cps[b - 1])) --b;
  return encode_utf8(std::vector<uint32_t>(cps.begin() + static_cast<long>(a), cps.begin() + static_cast<long>(b)));
}

// Methods: obj.NAME bound to obj. Unknown names give an Undefined with an empty hint; unsafe
// mutators give an Undefined whose hint is the sandbox's error.
Value string_method(Interpreter&, const Value& obj, const std::string& m) {
  auto bind = [](auto f) { return Value::callable(f); };
  if (obj.kind == Kind::String) {
    const std::string s = obj.s;
    if (m == "strip" || m == "lstrip" || m == "rstrip")
      return bind([s, m](Interpreter&, CallArgs& a) {
        return Value::string(strip_chars(s, a.get(0, "chars"), m != "rstrip", m != "lstrip"));
      });
    if (m == "split" || m == "rsplit")
      return bind([s, m](Interpreter&, CallArgs& a) {
        const Value* ms = a.get(1, "maxsplit");
        return py_split(s, a.get(0, "sep"), ms ? need_int(*ms, "split") : -1, m == "rsplit");
      });
    if (m == "startswith" || m == "endswith")
      return bind([s, m](Interpreter&, CallArgs& a) {
        if (a.args.empty()) fail(m + "() takes at least 1 argument");
        return Value::boolean(affix_match(s, a.args[0], m == "startswith"));
      });
    if (m == "upper") return bind([s](Interpreter&, CallArgs&) { return Value::string(ascii_upper(s)); });
    if (m == "lower") return bind([s](Interpreter&, CallArgs&) { return Value::string(ascii_lower(s)); });
    if (m == "title") return bind([s](Interpreter&, CallArgs&) { return Value::string(title_case(s)); });
    if (m == "capitalize") return bind([s](Interpreter&, CallArgs&) { return Value::string(capitalize(s)); });
    if (m == "replace")
      return bind([s](Interpreter&, CallArgs& a) {
        if (a.args.size() < 2) fail("replace() takes at least 2 arguments");
        const Value* c = a.get(2, "count");
        return Value::string(py_replace(s, need_str(a.args[0], "replace"), need_str(a.args[1], "replace"), c ? need_int(*c, "replace") : -1));
      });
    if (m == "format") return bind([s](Interpreter&, CallArgs& a) { return Value::string(py_format(s, a)); });
    if (m == "join")
      return bind([s](Interpreter&, CallArgs& a) {
        if (a.args.empty()) fail("join() takes exactly one argument");
        std::string out;
        bool first = true;
        for (const auto& v : iterate(a.args[0])) {
          if (!first) out += s;
          first = false;
          out += need_str(v, "join");
          check_size(out.size());
        }
        return Value::string(out);
      });
    if (m == "find" || m == "count" || m == "index" || m == "rfind")
      return bind([s, m](Interpreter&, CallArgs& a) {
        if (a.args.empty()) fail(m + "() takes at least 1 argument");
        const std::string& x = need_str(a.args[0], m.c_str());
        if (m == "count") {
          if (x.empty()) return Value::integer(static_cast<int64_t>(utf8_length(s) + 1));
          int64_t k = 0;
          for (size_t p = s.find(x); p != std::string::npos; p = s.find(x, p + x.size())) ++k;
          return Value::integer(k);
        }
        const size_t p = m == "rfind" ? s.rfind(x) : s.find(x);
        if (p == std::string::npos) {
          if (m == "index") fail("substring not found");
          return Value::integer(-1);
        }
        return Value::integer(static_cast<int64_t>(utf8_length(s.substr(0, p))));
      });
    if (m == "splitlines")
      return bind([s](Interpreter&, CallArgs&) {
        List out;
        std::string cur;
        for (size_t i = 0; i < s.size(); ++i) {
          if (s[i] == '\n' || s[i] == '\r') {
            out.push_back(Value::string(cur));
            cur.clear();
            if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
          } else cur += s[i];
        }
        if (!cur.empty()) out.push_back(Value::string(cur));
        return Value::make_list(std::move(out));
      });
    if (m == "removeprefix" || m == "removesuffix")
      return bind([s, m](Interpreter&, CallArgs& a) {
        if (a.args.empty()) fail(m + "() takes exactly one argument");
        const std::string& x = need_str(a.args[0], m.c_str());
        if (m == "removeprefix") return Value::string(s.compare(0, x.size(), x) == 0 ? s.substr(x.size()) : s);
        return Value::string(affix_match(s, a.args[0], false) ? s.substr(0, s.size() - x.size()) : s);
      });
    if (m == "isdigit" || m == "isalpha" || m == "isspace" || m == "isalnum" || m == "isupper" || m == "islower")
      return bind([s, m](Interpreter&, CallArgs&) {
        if (s.empty()) return Value::boolean(false);
        bool ok = true, cased = false;
        for (unsigned char c : s) {
          if (m == "isdigit") ok = ok && std::isdigit(c);
          else if (m == "isalpha") ok = ok && std::isalpha(c);
          else if (m == "isalnum") ok = ok && std::isalnum(c);
          else if (m == "isspace") ok = ok && std::isspace(c);
          else if (m == "isupper") { ok = ok && !std::islower(c); cased = cased || std::isupper(c); }
          else { ok = ok && !std::isupper(c); cased = cased || std::islower(c); }
        }
        return Value::boolean(ok && (m != "isupper" && m != "islower" ? true : cased));
      });
    return Value::undefined();
  }
  if (obj.kind == Kind::Dict) {
    const Value d = obj;
    if (m == "get")
      return bind([d](Interpreter&, CallArgs& a) {
        if (a.args.empty()) fail("get expected at least 1 argument, got 0");
        if (a.args[0].kind != Kind::List && a.args[0].kind != Kind::Dict)
          if (const Value* v = d.find(dict_key(a.args[0]))) return *v;
        return a.args.size() > 1 ? a.args[1] : Value::none();
      });
    if (m == "items")
      return bind([d](Interpreter&, CallArgs&) {
        List out;
        for (const auto& [k, v] : *d.dict) out.push_back(Value::make_tuple({key_value(k), v}));
        return Value::make_list(std::move(out));
      });
    if (m == "keys")
      return bind([d](Interpreter&, CallArgs&) { return Value::make_list(iterate(d)); });
    if (m == "values")
      return bind([d](Interpreter&, CallArgs&) {
        List out;
        for (const auto& kv : *d.dict) out.push_back(kv.second);
        return Value::make_list(std::move(out));
      });
    if (m == "copy") return bind([d](Interpreter&, CallArgs&) { return Value::make_dict(*d.dict); });
    for (const char* u : {"clear", "pop", "popitem", "setdefault", "update"})
      if (m == u) return Value::undefined("access to attribute '" + m + "' of 'dict' object is unsafe.");
    return Value::undefined();
  }
  if (obj.kind == Kind::List) {
    const Value l = obj;
    if (m == "index" || m == "count")
      return bind([l, m](Interpreter&, CallArgs& a) {
        if (a.args.empty()) fail(m + "() takes at least 1 argument");
        int64_t k = 0;
        for (size_t i = 0; i < l.list->size(); ++i)
          if (equals((*l.list)[i], a.args[0])) {
            if (m == "index") return Value::integer(static_cast<int64_t>(i));
            ++k;
          }
        if (m == "index") fail("value is not in list");
        return Value::integer(k);
      });
    if (m == "copy") return bind([l](Interpreter&, CallArgs&) { return Value::make_list(*l.list); });
    for (const char* u : {"append", "clear", "pop", "reverse", "insert", "sort", "extend", "remove"})
      if (m == u) return Value::undefined("access to attribute '" + m + "' of 'list' object is unsafe.");
  }
  return Value::undefined();
}

namespace {

bool is_int(const Value& v) { return v.kind == Kind::Int; }

Value generator(List items) {
  Value v = Value::make_list(std::move(items));
  v.generator = true;
  return v;
}

// environment.getitem with a dotted path ("a.b.0") as selectattr/map/sort use.
Value attribute_path(Interpreter& in, const Value& v, const std::string& path) {
  Value cur = v;
  size_t pos = 0;
  while (true) {
    const size_t dot = path.find('.', pos);
    const std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    Value key = Value::string(part);
    if (!part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      key = Value::integer(std::stoll(part));
    cur = in.getitem(cur, key);
    if (dot == std::string::npos) return cur;
    pos = dot + 1;
  }
}

Value sorted_copy(Interpreter& in, std::vector<Value> items, bool reverse, bool case_sensitive, const Value* attribute,
                  int by_index = -1) {
  auto key = [&](const Value& v) {
    Value k = v;
    if (by_index >= 0) k = (*v.list)[static_cast<size_t>(by_index)];
    if (attribute && attribute->kind == Kind::String) k = attribute_path(in, k, attribute->s);
    if (!case_sensitive && k.kind == Kind::String) k = Value::string(ascii_lower(k.s));
    return k;
  };
  std::vector<std::pair<Value, Value>> keyed;
  for (auto& v : items) keyed.emplace_back(key(v), v);
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    return reverse ? compare_values(b.first, a.first) < 0 : compare_values(a.first, b.first) < 0;
  });
  List out;
  for (auto& [k, v] : keyed) out.push_back(v);
  return Value::make_list(std::move(out));
}

std::string indent_text(const std::string& text, const Value* width, bool first, bool blank) {
  std::string ind = "    ";
  if (width) ind = width->kind == Kind::String ? width->s : std::string(static_cast<size_t>(std::max<int64_t>(0, need_int(*width, "indent"))), ' ');
  check_size(ind.size());
  std::string s = text + "\n";
  std::vector<std::string> lines;
  std::string cur;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == '\x1c' || c == '\x1d' || c == '\x1e') {
      lines.push_back(cur);
      cur.clear();
      if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else cur += c;
  }
  if (!cur.empty()) lines.push_back(cur);
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + ind : "") + lines[i];
  } else {
    rv = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) {
      rv += "\n";
      if (!lines[i].empty()) rv += ind;
      rv += lines[i];
      check_size(rv.size());
    }
  }
  if (first) rv = ind + rv;
  return rv;
}

Value py_int(const Value& v, const Value& def) {
  switch (v.kind) {
    case Kind::Int: return v;
    case Kind::Bool: return Value::integer(v.b);
    case Kind::Float:
      if (std::isfinite(v.f) && std::fabs(v.f) < 9.2e18) return Value::integer(static_cast<int64_t>(v.f));
      return def;
    case Kind::String: {
      const std::string t = strip_chars(v.s, nullptr, true, true);
      std::string digits;
      for (char c : t)
        if (c != '_') digits += c;
      char* end = nullptr;
      errno = 0;
      const long long x = std::strtoll(digits.c_str(), &end, 10);
      if (!digits.empty() && end && *end == 0 && errno == 0) return Value::integer(x);
      const double d = std::strtod(digits.c_str(), &end);
      if (!digits.empty() && end && *end == 0 && std::isfinite(d) && std::fabs(d) < 9.2e18) return Value::integer(static_cast<int64_t>(d));
      return def;
    }
    default: return def;
  }
}

Value py_float(const Value& v, const Value& def) {
  switch (v.kind) {
    case Kind::Int:
    case Kind::Bool: return Value::number(v.as_double());
    case Kind::Float: return v;
    case Kind::String: {
      const std::string t = strip_chars(v.s, nullptr, true, true);
      char* end = nullptr;
      const double d = std::strtod(t.c_str(), &end);
      if (!t.empty() && end && *end == 0) return Value::number(d);
      return def;
    }
    default: return def;
  }
}

}  // namespace

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

Value do_tojson(const Value& v, const CallArgs& a) {
  const Value* ensure_ascii = a.get(0, "ensure_ascii");
  const Value* indent = a.get(1, "indent");
  const Value* separators = a.get(2, "separators");
  const Value* sort_keys = a.get(3, "sort_keys");
  if (sort_keys && truthy(*sort_keys)) fail("unsupported tojson(sort_keys=True)");
  int ind = -1;
  if (indent && indent->kind != Kind::None) {
    if (indent->kind == Kind::String) fail("unsupported string indent in tojson");
    ind = static_cast<int>(std::clamp<int64_t>(need_int(*indent, "tojson indent"), 0, 64));
  }
  std::string item_sep = ind >= 0 ? "," : ", ", key_sep = ": ";
  if (separators && separators->kind != Kind::None) {
    if (separators->kind != Kind::List || separators->list->size() != 2) fail("tojson separators must be a pair");
    item_sep = need_str((*separators->list)[0], "tojson separators");
    key_sep = need_str((*separators->list)[1], "tojson separators");
  }
  std::string out = to_json_text(v, ind, item_sep, key_sep, ensure_ascii && truthy(*ensure_ascii));
  check_size(out.size());
  return Value::string(std::move(out));
}

}  // namespace

bool Interpreter::test(const std::string& name, const Value& v, CallArgs& a) {
  auto arg = [&](size_t k) -> const Value& {
    if (k >= a.args.size()) fail("test '" + name + "' needs an argument");
    return a.args[k];
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.kind == Kind::None;
  if (name == "string") return v.kind == Kind::String;
  if (name == "mapping") return v.kind == Kind::Dict;
  if (name == "iterable") return v.kind == Kind::String || v.kind == Kind::List || v.kind == Kind::Dict || v.is_undefined();
  if (name == "sequence") return v.kind == Kind::String || (v.kind == Kind::List && !v.generator) || v.kind == Kind::Dict;
  if (name == "number") return v.is_number();
  if (name == "integer") return is_int(v);
  if (name == "float") return v.kind == Kind::Float;
  if (name == "boolean") return v.kind == Kind::Bool;
  if (name == "true") return v.kind == Kind::Bool && v.b;
  if (name == "false") return v.kind == Kind::Bool && !v.b;
  if (name == "callable") return v.kind == Kind::Callable;
  if (name == "odd" || name == "even") {
    if (v.is_undefined()) fail(v.s.empty() ? "value is undefined" : v.s);
    if (!v.is_number() || v.kind == Kind::Float) fail("odd/even need an integer");
    const int64_t x = v.kind == Kind::Bool ? v.b : v.i;
    return (x % 2 != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    const Value& d = arg(0);
    if (!v.is_number() || !d.is_number()) fail("divisibleby needs numbers");
    if (v.kind == Kind::Float || d.kind == Kind::Float) {
      if (d.as_double() == 0) fail("float modulo");
      return std::fmod(v.as_double(), d.as_double()) == 0;
    }
    const int64_t y = d.kind == Kind::Bool ? d.b : d.i;
    if (y == 0) fail("integer division or modulo by zero");
    return (v.kind == Kind::Bool ? v.b : v.i) % y == 0;
  }
  if (name == "equalto" || name == "eq" || name == "sameas") return equals(v, arg(0));
  if (name == "ne") return !equals(v, arg(0));
  if (name == "lt" || name == "lessthan") return compare_values(v, arg(0)) < 0;
  if (name == "gt" || name == "greaterthan") return compare_values(v, arg(0)) > 0;
  if (name == "le") return compare_values(v, arg(0)) <= 0;
  if (name == "ge") return compare_values(v, arg(0)) >= 0;
  if (name == "in") {
    const Value& c = arg(0);
    if (c.kind == Kind::String) {
      if (v.kind != Kind::String) fail("'in <string>' requires string as left operand");
      return c.s.find(v.s) != std::string::npos;
    }
    if (c.kind == Kind::List) {
      for (const auto& e : *c.list)
        if (equals(e, v)) return true;
      return false;
    }
    if (c.kind == Kind::Dict) return c.find(dict_key(v)) != nullptr;
    fail("argument is not iterable");
  }
  if (name == "lower") return v.kind == Kind::String && ascii_lower(v.s) == v.s;
  if (name == "upper") return v.kind == Kind::String && ascii_upper(v.s) == v.s;
  if (name == "escaped") return v.safe;
  fail("no test named '" + name + "'");
}

Value Interpreter::filter(const std::string& name, const Value& v, CallArgs& a) {
  auto undefined_check = [&] {
    if (v.is_undefined()) fail(v.s.empty() ? "value is undefined" : v.s);
  };
  if (name == "tojson") {
    undefined_check();
    return do_tojson(v, a);
  }
  if (name == "length" || name == "count") {
    switch (v.kind) {
      case Kind::Undefined: return Value::integer(0);
      case Kind::String: return Value::integer(static_cast<int64_t>(utf8_length(v.s)));
      case Kind::List:
        if (v.generator) fail("object of type 'generator' has no len()");
        return Value::integer(static_cast<int64_t>(v.list->size()));
      case Kind::Dict: return Value::integer(static_cast<int64_t>(v.dict->size()));
      default: fail("object of type '" + type_name(v) + "' has no len()");
    }
  }
  if (name == "string") return v.kind == Kind::String ? v : Value::string(to_str(v));
  if (name == "trim") return Value::string(strip_chars(to_str(v), a.get(0, "chars"), true, true));
  if (name == "lower") return Value::string(ascii_lower(to_str(v)));
  if (name == "upper") return Value::string(ascii_upper(to_str(v)));
  if (name == "title") return Value::string(title_case(to_str(v)));
  if (name == "capitalize") return Value::string(capitalize(to_str(v)));
  if (name == "safe") {
    Value r = v.kind == Kind::String ? v : Value::string(to_str(v));
    r.safe = true;
    return r;
  }
  if (name == "e" || name == "escape") return Value::string(v.safe ? v.s : html_escape(to_str(v)));
  if (name == "replace") {
    if (a.args.size() < 2) fail("replace needs 2 arguments");
    const Value* c = a.get(2, "count");
    return Value::string(py_replace(to_str(v), to_str(a.args[0]), to_str(a.args[1]), c && c->kind != Kind::None ? need_int(*c, "replace") : -1));
  }
  if (name == "default" || name == "d") {
    const Value* def = a.get(0, "default_value");
    const Value* boolean = a.get(1, "boolean");
    const bool use = v.is_undefined() || (boolean && truthy(*boolean) && !truthy(v));
    if (use) return def ? *def : Value::string("");
    return v;
  }
  if (name == "join") {
    const Value* sep = a.get(0, "d");
    const Value* attr = a.get(1, "attribute");
    std::string out;
    bool first = true;
    for (const auto& item : iterate(v)) {
      if (!first) out += sep ? to_str(*sep) : "";
      first = false;
      out += to_str(attr ? attribute_path(*this, item, to_str(*attr)) : item);
      check_size(out.size());
    }
    return Value::string(std::move(out));
  }
  if (name == "items") {
    if (v.is_undefined()) return generator({});
    if (v.kind != Kind::Dict) fail("can only get item pairs from a mapping");
    List out;
    for (const auto& [k, x] : *v.dict) out.push_back(Value::make_tuple({key_value(k), x}));
    return generator(std::move(out));
  }
  if (name == "list") return Value::make_list(iterate(v));
  if (name == "first") {
    auto items = iterate(v);
    return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
  }
  if (name == "last") {
    undefined_check();
    auto items = iterate(v);
    return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
  }
  if (name == "reverse") {
    if (v.kind == Kind::String) {
      auto cps = decode_utf8(v.s);
      std::reverse(cps.begin(), cps.end());
      return Value::string(encode_utf8(cps));
    }
    auto items = iterate(v);
    std::reverse(items.begin(), items.end());
    return Value::make_list(std::move(items));
  }
  if (name == "selectattr" || name == "rejectattr" || name == "select" || name == "reject") {
    const bool by_attr = name == "selectattr" || name == "rejectattr";
    const bool keep = name == "selectattr" || name == "select";
    size_t k = 0;
    std::string attr;
    if (by_attr) {
      if (a.args.empty()) fail(name + " needs an attribute");
      attr = to_str(a.args[k++]);
    }
    std::string tname;
    if (k < a.args.size()) tname = to_str(a.args[k++]);
    CallArgs targs;
    targs.args.assign(a.args.begin() + static_cast<long>(k), a.args.end());
    List out;
    if (truthy(v))
      for (const auto& item : iterate(v)) {
        const Value x = by_attr ? attribute_path(*this, item, attr) : item;
        const bool r = tname.empty() ? truthy(x) : test(tname, x, targs);
        if (r == keep) out.push_back(item);
      }
    return generator(std::move(out));
  }
  if (name == "map") {
    List out;
    const Value* attr = nullptr;
    for (const auto& [k, x] : a.kwargs)
      if (k == "attribute") attr = &x;
    if (attr) {
      const Value* def = nullptr;
      for (const auto& [k, x] : a.kwargs)
        if (k == "default") def = &x;
      if (truthy(v))
        for (const auto& item : iterate(v)) {
          Value x = attribute_path(*this, item, to_str(*attr));
          out.push_back(x.is_undefined() && def ? *def : x);
        }
      return generator(std::move(out));
    }
    if (a.args.empty()) fail("map requires a filter argument");
    const std::string fname = to_str(a.args[0]);
    CallArgs fargs;
    fargs.args.assign(a.args.begin() + 1, a.args.end());
    fargs.kwargs = a.kwargs;
    if (truthy(v))
      for (const auto& item : iterate(v)) out.push_back(filter(fname, item, fargs));
    return generator(std::move(out));
  }
  if (name == "unique") {
    const Value* cs = a.get(0, "case_sensitive");
    const Value* attr = a.get(1, "attribute");
    List out;
    std::vector<Value> seen;
    for (const auto& item : iterate(v)) {
      Value key = attr ? attribute_path(*this, item, to_str(*attr)) : item;
      if (!(cs && truthy(*cs)) && key.kind == Kind::String) key = Value::string(ascii_lower(key.s));
      bool dup = false;
      for (const auto& s : seen) dup = dup || equals(s, key);
      if (!dup) {
        seen.push_back(key);
        out.push_back(item);
      }
    }
    return generator(std::move(out));
  }
  if (name == "sort") {
    const Value* rev = a.get(0, "reverse");
    const Value* cs = a.get(1, "case_sensitive");
    return sorted_copy(*this, iterate(v), rev && truthy(*rev), cs && truthy(*cs), a.get(2, "attribute"));
  }
  if (name == "dictsort") {
    if (v.kind != Kind::Dict) fail("dictsort needs a mapping");
    const Value* cs = a.get(0, "case_sensitive");
    const Value* by = a.get(1, "by");
    const Value* rev = a.get(2, "reverse");
    List pairs;
    for (const auto& [k, x] : *v.dict) pairs.push_back(Value::make_tuple({key_value(k), x}));
    const int idx = by && to_str(*by) == "value" ? 1 : 0;
    return sorted_copy(*this, pairs, rev && truthy(*rev), cs && truthy(*cs), nullptr, idx);
  }
  if (name == "min" || name == "max") {
    const Value* cs = a.get(0, "case_sensitive");
    Value sorted = sorted_copy(*this, iterate(v), name == "max", cs && truthy(*cs), a.get(1, "attribute"));
    if (sorted.list->empty()) return Value::undefined("No aggregated item, sequence was empty.");
    return sorted.list->front();
  }
  if (name == "int") {
    const Value* def = a.get(0, "default");
    if (const Value* base = a.get(1, "base"); base && !(base->kind == Kind::Int && base->i == 10)) fail("unsupported int base");
    return py_int(v, def ? *def : Value::integer(0));
  }
  if (name == "float") {
    const Value* def = a.get(0, "default");
    return py_float(v, def ? *def : Value::number(0));
  }
  if (name == "abs") {
    undefined_check();
    if (v.kind == Kind::Float) return Value::number(std::fabs(v.f));
    if (v.kind == Kind::Int) {
      if (v.i == INT64_MIN) fail("integer overflow");
      return Value::integer(v.i < 0 ? -v.i : v.i);
    }
    if (v.kind == Kind::Bool) return Value::integer(v.b);
    fail("bad operand type for abs()");
  }
  if (name == "round") {
    undefined_check();
    if (!v.is_number()) fail("round needs a number");
    const Value* prec = a.get(0, "precision");
    const Value* method = a.get(1, "method");
    const std::string m = method ? to_str(*method) : "common";
    const double p = std::pow(10.0, static_cast<double>(prec ? need_int(*prec, "round") : 0));
    const double x = v.as_double() * p;
    double r;
    if (m == "common") r = std::nearbyint(x);  // Python's round(): half to even
    else if (m == "ceil") r = std::ceil(x);
    else if (m == "floor") r = std::floor(x);
    else fail("method must be common, ceil or floor");
    return Value::number(r / p);
  }
  if (name == "indent") {
    const Value* first = a.get(1, "first");
    const Value* blank = a.get(2, "blank");
    return Value::string(indent_text(to_str(v), a.get(0, "width"), first && truthy(*first), blank && truthy(*blank)));
  }
  if (name == "center" || name == "wordcount" || name == "truncate" || name == "format" || name == "batch" ||
      name == "slice" || name == "sum" || name == "attr" || name == "urlencode" || name == "xmlattr" ||
      name == "wordwrap" || name == "filesizeformat" || name == "pprint" || name == "striptags" ||
      name == "forceescape" || name == "groupby" || name == "random" || name == "urlize")
    fail("unsupported filter '" + name + "'");
  fail("no filter named '" + name + "'");
}

namespace {

Value range_fn(Interpreter&, CallArgs& a) {
  if (a.args.empty() || a.args.size() > 3) fail("range expected 1 to 3 arguments");
  int64_t start = 0, stop, step = 1;
  if (a.args.size() == 1) stop = need_int(a.args[0], "range");
  else {
    start = need_int(a.args[0], "range");
    stop = need_int(a.args[1], "range");
    if (a.args.size() == 3) step = need_int(a.args[2], "range");
  }
  if (step == 0) fail("range() arg 3 must not be zero");
  List out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (static_cast<int64_t>(out.size()) >= kMaxRange)
      fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (" + std::to_string(kMaxRange) + ").");
    out.push_back(Value::integer(i));
    if ((step > 0 && i > INT64_MAX - step) || (step < 0 && i < INT64_MIN - step)) break;
  }
  return Value::make_list(std::move(out));
}

Value strftime_fn(Interpreter& in, CallArgs& a) {
  if (a.args.empty()) fail("strftime_now needs a format");
  const std::string& fmt = need_str(a.args[0], "strftime_now");
  std::tm tm{};
  if (in.now) gmtime_r(&*in.now, &tm);
  else {
    const std::time_t t = std::time(nullptr);
    localtime_r(&t, &tm);
  }
  if (fmt.empty()) return Value::string("");
  std::string buf(256 + fmt.size() * 4, '\0');
  const size_t n = std::strftime(buf.data(), buf.size(), fmt.c_str(), &tm);
  buf.resize(n);
  return Value::string(buf);
}

}  // namespace

std::string Interpreter::render(const Template& t, const Value& context) {
  auto globals = std::make_shared<Scope>();
  globals->set("range", Value::callable(range_fn));
  globals->set("dict", Value::callable([](Interpreter&, CallArgs& a) {
    Value d = Value::make_dict();
    if (!a.args.empty()) {
      if (a.args[0].kind != Kind::Dict) fail("unsupported dict() argument");
      *d.dict = *a.args[0].dict;
    }
    for (const auto& [k, v] : a.kwargs) d.set(k, v);
    return d;
  }));
  globals->set("namespace", Value::callable([](Interpreter&, CallArgs& a) {
    Value ns = Value::make_namespace();
    if (!a.args.empty()) {
      if (a.args[0].kind != Kind::Dict) fail("unsupported namespace() argument");
      *ns.dict = *a.args[0].dict;
    }
    for (const auto& [k, v] : a.kwargs) ns.set(k, v);
    return ns;
  }));
  globals->set("raise_exception", Value::callable([](Interpreter&, CallArgs& a) -> Value {
    fail(a.args.empty() ? std::string("raise_exception") : to_str(a.args[0]));
  }));
  globals->set("strftime_now", Value::callable(strftime_fn));
  auto root = std::make_shared<Scope>();
  root->parent = globals;
  if (context.kind == Kind::Dict)
    for (const auto& [k, v] : *context.dict) root->set(k, v);
  std::string out;
  name = t.name;
  try {
    exec(t.body, root, out);
  } catch (const Failure& f) {
    throw Error(name + ":" + std::to_string(line) + ": " + f.message);
  } catch (const Error& e) {  // from value.cpp (JSON, dict keys)
    throw Error(name + ":" + std::to_string(line) + ": " + e.what());
  }
  return out;
}

}  // namespace schwarm::jinja

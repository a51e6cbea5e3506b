#include "jsonl_requests.h"

#include <cmath>
#include <set>

namespace schwarm::cli {
namespace {

using nlohmann::json;

struct LineError {
  std::string what;
};

// Parses one JSON text, rejecting duplicate keys and nesting deeper than kMaxRequestJsonDepth
// (nlohmann keeps the last duplicate silently; a request must not mean two things).
json parse_strict(std::string_view text) {
  std::vector<std::set<std::string>> keys;  // one set per open object
  std::string duplicate;
  bool too_deep = false;
  const json::parser_callback_t cb = [&](int depth, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start || ev == json::parse_event_t::array_start) {
      if (depth >= kMaxRequestJsonDepth) too_deep = true;
      if (ev == json::parse_event_t::object_start) keys.emplace_back();
    } else if (ev == json::parse_event_t::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (ev == json::parse_event_t::key && !keys.empty()) {
      const std::string& k = parsed.get_ref<const std::string&>();
      if (!keys.back().insert(k).second && duplicate.empty()) duplicate = k;
    }
    return !too_deep;
  };
  json j;
  try {
    j = json::parse(text.begin(), text.end(), cb);
  } catch (const json::parse_error& e) {
    // nlohmann's message starts "[json.exception.parse_error.101] parse error at line 1, column
    // 7: ..."; keep what follows the id, which names the column and the problem.
    std::string m = e.what();
    if (const size_t p = m.find("] "); p != std::string::npos) m = m.substr(p + 2);
    throw LineError{"invalid JSON: " + m};
  }
  if (too_deep)
    throw LineError{"JSON nested deeper than " + std::to_string(kMaxRequestJsonDepth) + " levels"};
  if (!duplicate.empty()) throw LineError{"duplicate key '" + duplicate + "'"};
  return j;
}

std::string type_name(const json& v) { return v.type_name(); }

// The integer in v (a JSON integer, or a float with no fractional part such as 64.0).
int64_t get_int(const json& v, const char* key) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      throw LineError{std::string(key) + " is too large"};
    return v.get<int64_t>();
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    // Range first: casting a double outside int64_t's range is undefined behaviour.
    if (std::abs(d) < 9e15 && d == std::trunc(d)) return static_cast<int64_t>(d);
  }
  throw LineError{std::string(key) + " must be an integer, got " +
                  (v.is_number() ? v.dump() : type_name(v))};
}

double get_number(const json& v, const char* key) {
  if (!v.is_number()) throw LineError{std::string(key) + " must be a number, got " + type_name(v)};
  return v.get<double>();
}

std::string get_string(const json& v, const std::string& what) {
  if (!v.is_string()) throw LineError{what + " must be a string, got " + type_name(v)};
  return v.get<std::string>();
}

template <class T>
void read_knob(const json& obj, const char* key, std::optional<T>& slot) {
  const auto it = obj.find(key);
  if (it == obj.end()) return;
  const double x =
      std::is_integral_v<T> ? static_cast<double>(get_int(*it, key)) : get_number(*it, key);
  if (const std::string e = sampling_range_error(key, x); !e.empty()) throw LineError{e};
  slot = std::is_integral_v<T> ? static_cast<T>(get_int(*it, key)) : static_cast<T>(x);
}

std::vector<RequestMessage> read_messages(const json& v) {
  if (!v.is_array())
    throw LineError{"messages must be an array of {\"role\", \"content\"} objects, got " +
                    type_name(v)};
  if (v.empty()) throw LineError{"messages is empty"};
  std::vector<RequestMessage> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string at = "messages[" + std::to_string(i) + "]";
    const json& m = v[i];
    if (!m.is_object()) throw LineError{at + " must be an object, got " + type_name(m)};
    for (const auto& [k, _] : m.items())
      if (k != "role" && k != "content")
        throw LineError{at + ": unknown key '" + k + "' (known: role, content)"};
    if (!m.contains("role") || !m.contains("content"))
      throw LineError{at + " needs both \"role\" and \"content\""};
    out.push_back({get_string(m["role"], at + ".role"), get_string(m["content"], at + ".content")});
  }
  return out;
}

constexpr const char* kKnownKeys[] = {
    "id",    "prompt", "messages",       "max_tokens",    "n_predict", "temperature", "top_k",
    "top_p", "min_p",  "repeat_penalty", "repeat_last_n", "seed",      "stop"};

std::string known_keys() {
  std::string s;
  for (const char* k : kKnownKeys) s += std::string(s.empty() ? "" : ", ") + k;
  return s;
}

}  // namespace

ParsedLine parse_request_line(std::string_view line, int64_t line_no) {
  ParsedLine out;
  if (line.find_first_not_of(" \t\r\n") == std::string_view::npos) return out;
  try {
    if (line.size() > kMaxRequestLineBytes)
      throw LineError{"line longer than " + std::to_string(kMaxRequestLineBytes) + " bytes"};
    // nlohmann's lexer takes a NUL byte for the end of the input and would ignore what follows.
    if (const size_t nul = line.find('\0'); nul != std::string_view::npos)
      throw LineError{"invalid JSON: a NUL byte at column " + std::to_string(nul + 1)};
    const json obj = parse_strict(line);
    if (!obj.is_object()) throw LineError{"a request must be a JSON object, got " + type_name(obj)};
    BatchRequest r;
    r.line = line_no;
    r.id = line_no;
    if (const auto it = obj.find("id"); it != obj.end()) {
      if (!it->is_string() && !it->is_number_integer())
        throw LineError{"id must be a string or an integer, got " + type_name(*it)};
      r.id = *it;
      out.id = *it;
    }
    for (const auto& [k, _] : obj.items())
      if (std::find(std::begin(kKnownKeys), std::end(kKnownKeys), k) == std::end(kKnownKeys))
        throw LineError{"unknown key '" + k + "' (known: " + known_keys() + ")"};
    const bool has_prompt = obj.contains("prompt"), has_messages = obj.contains("messages");
    if (has_prompt == has_messages)
      throw LineError{"give exactly one of \"prompt\" and \"messages\""};
    if (has_prompt) r.prompt = get_string(obj["prompt"], "prompt");
    if (has_messages) r.messages = read_messages(obj["messages"]);
    if (obj.contains("max_tokens") && obj.contains("n_predict"))
      throw LineError{"give max_tokens or its alias n_predict, not both"};
    for (const char* key : {"max_tokens", "n_predict"})
      if (const auto it = obj.find(key); it != obj.end()) {
        r.max_tokens = get_int(*it, key);
        if (*r.max_tokens < -1)
          throw LineError{std::string(key) +
                          " must be >= -1 (-1: until the model ends or the context is full), got " +
                          std::to_string(*r.max_tokens)};
      }
    read_knob(obj, "temperature", r.sampling.temperature);
    read_knob(obj, "top_k", r.sampling.top_k);
    read_knob(obj, "top_p", r.sampling.top_p);
    read_knob(obj, "min_p", r.sampling.min_p);
    read_knob(obj, "repeat_penalty", r.sampling.repeat_penalty);
    read_knob(obj, "repeat_last_n", r.sampling.repeat_last_n);
    if (const auto it = obj.find("seed"); it != obj.end()) {
      if (!it->is_number_integer() ||
          (it->is_number_integer() && !it->is_number_unsigned() && it->get<int64_t>() < 0))
        throw LineError{"seed must be a non-negative integer, got " + it->dump()};
      r.sampling.seed = it->get<uint64_t>();
    }
    if (const auto it = obj.find("stop"); it != obj.end()) {
      if (it->is_string()) {
        r.stop.push_back(it->get<std::string>());
      } else if (it->is_array()) {
        for (size_t i = 0; i < it->size(); ++i)
          r.stop.push_back(get_string((*it)[i], "stop[" + std::to_string(i) + "]"));
      } else {
        throw LineError{"stop must be a string or an array of strings, got " + type_name(*it)};
      }
      for (const std::string& s : r.stop)
        if (s.empty()) throw LineError{"stop strings must not be empty"};
    }
    out.request = std::move(r);
  } catch (const LineError& e) {
    out.error = e.what;
  }
  return out;
}

}  // namespace schwarm::cli

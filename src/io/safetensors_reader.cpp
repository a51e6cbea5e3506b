// safetensors single-image parser: 8-byte little-endian header length, JSON header, data buffer.
// Everything in the header is untrusted: it is checked completely before any view is made.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/safetensors_file.h"
#include "io/safetensors_json.h"
#include "schwarm/error.h"

namespace schwarm {
namespace safetensors_detail {

using json = nlohmann::json;

std::string printable(std::string_view s, size_t max_len) {
  std::string out;
  const size_t n = std::min(s.size(), max_len);
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (s.size() > max_len) out += "...";
  return out;
}

namespace {

// Thrown from inside the parser callback; turned into FileError by parse_strict_json.
struct StructureProblem {
  std::string message;
};

}  // namespace

json parse_strict_json(std::string_view text, const std::string& path, std::string_view what,
                       size_t base_offset, int max_depth) {
  // nlohmann ends its input at a NUL byte; a raw NUL is never valid JSON, so reject it here
  // rather than let a NUL hide whatever follows it.
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos)
    throw FileError(path, "invalid JSON in " + std::string(what) + " at byte " +
                              std::to_string(nul) + " (file offset " +
                              std::to_string(base_offset + nul) + "): NUL byte");
  // One set of keys per open object (arrays push an empty marker so that pops stay paired).
  std::vector<std::set<std::string>> keys;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) -> bool {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= max_depth)
          throw StructureProblem{std::string(what) + " nests deeper than " +
                                 std::to_string(max_depth) + " levels"};
        keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case json::parse_event_t::key: {
        if (keys.empty()) break;  // cannot happen: keys only occur inside objects
        const std::string* k = parsed.get_ptr<const std::string*>();
        if (k && !keys.back().insert(*k).second)
          throw StructureProblem{std::string(what) + " has duplicate key \"" + printable(*k) +
                                 "\""};
        break;
      }
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true);
  } catch (const StructureProblem& p) {
    throw FileError(path, p.message);
  } catch (const json::parse_error& e) {
    // e.byte is 1-based inside `text`. nlohmann's message carries the detail ("syntax error
    // while parsing object key - ...", "invalid string: ill-formed UTF-8 byte", ...).
    std::string detail = e.what();
    const size_t colon = detail.find(": ");
    if (detail.rfind("[json.exception", 0) == 0 && colon != std::string::npos)
      detail = detail.substr(colon + 2);
    const bool utf8 = detail.find("UTF-8") != std::string::npos;
    const size_t at = e.byte > 0 ? e.byte - 1 : 0;
    throw FileError(path, std::string(utf8 ? "invalid UTF-8 in " : "invalid JSON in ") +
                              std::string(what) + " at byte " + std::to_string(at) +
                              " (file offset " + std::to_string(base_offset + at) +
                              "): " + printable(detail, 240));
  } catch (const json::exception& e) {
    throw FileError(path, "invalid JSON in " + std::string(what) + ": " + printable(e.what(), 240));
  }
}

}  // namespace safetensors_detail

namespace {

using nlohmann::json;
using safetensors_detail::printable;

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // 100 MiB: far above any real header
constexpr int kMaxJsonDepth = 4;  // top object > tensor entry > shape / offsets array (+1 slack)

std::string quote_name(std::string_view name) {
  std::string out(1, '"');
  out += printable(name);
  out += '"';
  return out;
}

const char* json_kind(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a floating-point number";
    case json::value_t::binary: return "binary";
    case json::value_t::discarded: return "discarded";
  }
  return "?";
}

// A non-negative integer from JSON; nullopt for floats, negatives and anything else.
std::optional<uint64_t> json_uint(const json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer()) {
    const int64_t v = j.get<int64_t>();
    if (v >= 0) return static_cast<uint64_t>(v);
  }
  return std::nullopt;
}

// "[begin, end]" (built by appending: GCC 12 warns falsely on "[" + std::string, PR105329).
std::string range_text(uint64_t begin, uint64_t end) {
  std::string out(1, '[');
  out += std::to_string(begin);
  out += ", ";
  out += std::to_string(end);
  out += ']';
  return out;
}

std::string dims_text(const json& shape) { return printable(shape.dump(), 120); }

// The dtypes a safetensors file may carry: plain (non-block) element types only.
std::optional<TensorType> safetensors_dtype(const std::string& name) {
  const std::optional<TensorType> t = tensor_type_from_name(name);
  if (!t) return std::nullopt;
  const TypeTraits* tr = find_type_traits(*t);
  if (!tr || tr->is_quantized || tr->block_size != 1) return std::nullopt;
  return t;
}

struct Entry {
  TensorView view;
  uint64_t begin = 0, end = 0;
};

}  // namespace

SafetensorsContents parse_safetensors(std::span<const uint8_t> bytes, const std::string& path) {
  if (bytes.size() < 8)
    throw FileError(path, "file too short for the 8-byte header length (" +
                              std::to_string(bytes.size()) + " bytes); not a safetensors file");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[static_cast<size_t>(i)];
  const uint64_t file_size = bytes.size();
  if (header_len > kMaxHeaderBytes)
    throw FileError(path, "header length " + std::to_string(header_len) +
                              " is implausibly large (limit " + std::to_string(kMaxHeaderBytes) +
                              " bytes); not a safetensors file?");
  if (header_len > file_size - 8)
    throw FileError(path, "header length " + std::to_string(header_len) +
                              " runs past the end of the file (" + std::to_string(file_size) +
                              " bytes); truncated file?");
  if (header_len < 2)
    throw FileError(path, "header length " + std::to_string(header_len) +
                              " is too short for a JSON object");

  const std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8),
                              static_cast<size_t>(header_len));
  const json header =
      safetensors_detail::parse_strict_json(text, path, "header", 8, kMaxJsonDepth);
  if (!header.is_object())
    throw FileError(path, std::string("header is ") + json_kind(header) + ", not a JSON object");

  const std::span<const uint8_t> buffer = bytes.subspan(8 + static_cast<size_t>(header_len));
  const uint64_t buffer_size = buffer.size();

  SafetensorsContents out;
  std::vector<Entry> entries;
  entries.reserve(header.size());
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      if (!info.is_object())
        throw FileError(path, std::string("__metadata__ is ") + json_kind(info) +
                                  ", not an object of strings");
      for (const auto& [key, value] : info.items()) {
        if (!value.is_string())
          throw FileError(path, "__metadata__ entry " + quote_name(key) + " is " + json_kind(value) +
                                    ", not a string");
        out.metadata.emplace(key, value.get<std::string>());
      }
      continue;
    }
    const std::string where = "tensor " + quote_name(name);
    for (const char c : name)
      if (static_cast<unsigned char>(c) < 0x20)
        throw FileError(path, where + ": name contains a control character");
    if (!info.is_object())
      throw FileError(path, where + ": entry is " + json_kind(info) + ", not an object");
    for (const char* key : {"dtype", "shape", "data_offsets"})
      if (!info.contains(key)) throw FileError(path, where + ": missing \"" + key + "\"");

    Entry e;
    e.view.name = name;
    e.view.file = path;

    const json& dtype = info["dtype"];
    if (!dtype.is_string())
      throw FileError(path, where + ": dtype is " + json_kind(dtype) + ", not a string");
    const std::optional<TensorType> type = safetensors_dtype(dtype.get<std::string>());
    if (!type)
      throw FileError(path, where + ": unknown dtype " + quote_name(dtype.get<std::string>()));
    e.view.type = *type;

    const json& shape = info["shape"];
    if (!shape.is_array())
      throw FileError(path, where + ": shape is " + json_kind(shape) + ", not an array");
    e.view.shape.reserve(shape.size());
    for (size_t i = 0; i < shape.size(); ++i) {
      const std::optional<uint64_t> d = json_uint(shape[i]);
      if (!d)
        throw FileError(path, where + ": shape " + dims_text(shape) + " dim " + std::to_string(i) +
                                  " is not a non-negative integer");
      if (*d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        throw FileError(path, where + ": shape " + dims_text(shape) + " dim " + std::to_string(i) +
                                  " is too large");
      e.view.shape.push_back(static_cast<int64_t>(*d));
    }
    const std::optional<uint64_t> nbytes = tensor_nbytes(e.view.type, e.view.shape);
    // tensor_nbytes allows 2^63 elements, one past what TensorView::numel() can hold.
    if (!nbytes || *nbytes > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw FileError(path, where + ": shape " + dims_text(shape) + " overflows (too many elements)");

    const json& offsets = info["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2)
      throw FileError(path, where + ": data_offsets must be an array [begin, end]");
    const std::optional<uint64_t> begin = json_uint(offsets[0]), end = json_uint(offsets[1]);
    if (!begin || !end)
      throw FileError(path, where + ": data_offsets " + printable(offsets.dump()) +
                                " are not non-negative integers");
    e.begin = *begin;
    e.end = *end;
    const std::string range = range_text(e.begin, e.end);
    if (e.begin > e.end)
      throw FileError(path, where + ": data_offsets " + range + " begin after end");
    if (e.end > buffer_size)
      throw FileError(path, where + ": data_offsets " + range + " run past the end of the data (" +
                                std::to_string(buffer_size) + " bytes); truncated file?");
    if (e.end - e.begin != *nbytes)
      throw FileError(path, where + ": data_offsets " + range + " hold " +
                                std::to_string(e.end - e.begin) + " bytes but " +
                                std::string(tensor_type_name(e.view.type)) + " " +
                                dims_text(shape) + " needs " + std::to_string(*nbytes));
    e.view.data = buffer.subspan(static_cast<size_t>(e.begin), static_cast<size_t>(*nbytes));
    entries.push_back(std::move(e));
  }

  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    if (a.end != b.end) return a.end < b.end;
    return a.view.name < b.view.name;
  });
  // Empty tensors occupy no bytes and overlap nothing; non-empty ranges must be disjoint.
  const Entry* last = nullptr;  // the non-empty entry that ends furthest so far
  for (const Entry& e : entries) {
    if (e.begin == e.end) continue;
    if (last && e.begin < last->end)
      throw FileError(path, "tensors " + quote_name(last->view.name) + " " +
                                range_text(last->begin, last->end) + " and " +
                                quote_name(e.view.name) + " " + range_text(e.begin, e.end) +
                                " overlap");
    last = &e;
  }
  out.tensors.reserve(entries.size());
  for (Entry& e : entries) out.tensors.push_back(std::move(e.view));
  return out;
}

const TensorView* SafetensorsContents::find_tensor(std::string_view name) const {
  for (const TensorView& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace schwarm

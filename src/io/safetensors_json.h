#pragma once
// Strict JSON parsing shared by the safetensors reader and the sharded-checkpoint index:
// nlohmann-json with duplicate object keys and deep nesting rejected, and every parse problem
// turned into FileError(path, "<what>: <where>").
#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace schwarm::safetensors_detail {

// Parses `text` (the JSON part of `path`; `what` names it in messages, e.g. "header").
// `base_offset` is added to byte positions so that messages give file offsets.
// Throws FileError on invalid JSON, invalid UTF-8, duplicate keys or nesting deeper than
// `max_depth` levels.
nlohmann::json parse_strict_json(std::string_view text, const std::string& path,
                                 std::string_view what, size_t base_offset, int max_depth);

// A printable rendering of untrusted text for error messages: bytes outside printable ASCII
// become \xNN, and long strings are cut with "...".
std::string printable(std::string_view s, size_t max_len = 80);

}  // namespace schwarm::safetensors_detail

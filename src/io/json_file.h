#pragma once
// Reading a whole JSON side file of a checkpoint (config.json, tokenizer.json, ...).
#include <nlohmann/json.hpp>
#include <string>

namespace schwarm {

// Throws FileError(path, ...) when the file cannot be read or is not valid JSON (with the
// parser's position).
nlohmann::json read_json_file(const std::string& path);

}  // namespace schwarm

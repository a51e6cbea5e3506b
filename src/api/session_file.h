#pragma once
// The file Session::save writes: JSON {"format": "schwarm-session", "version": 1, "architecture",
// "vocab_size", "tokens": [ids]}. Written to PATH.tmp and renamed, so a failed save never leaves
// half a file.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace schwarm {

void write_session_file(const std::string& path, const std::string& architecture, int64_t vocab_size,
                        std::span<const int32_t> tokens);
// Throws FileError naming the file when it cannot be read, is not a session file, or was saved for
// another architecture / vocabulary size, or holds an id outside [0, vocab_size).
std::vector<int32_t> read_session_file(const std::string& path, const std::string& architecture, int64_t vocab_size);

}  // namespace schwarm

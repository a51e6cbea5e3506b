#pragma once
// NumPy .npy files (format 1.0): float32, little-endian, C order. Enough for logits and
// activation dumps and for reading the golden references.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace schwarm {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// Throws FileError naming the path when the file cannot be written or data.size() != prod(shape).
void write_npy_f32(const std::string& path, std::span<const float> data, const std::vector<int64_t>& shape);
// Reads a '<f4' C-order array. Throws FileError naming the path for anything else.
NpyArray read_npy_f32(const std::string& path);

}  // namespace schwarm

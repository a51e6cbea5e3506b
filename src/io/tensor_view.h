#pragma once
// A tensor inside a memory-mapped checkpoint: name, type, shape and its bytes (no copy).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/tensor_type.h"

namespace schwarm {

struct TensorView {
  std::string name;
  TensorType type = TensorType::F32;
  // Outermost dimension first, as PyTorch and safetensors write it: a Linear weight is
  // {out_features, in_features}. GGUF stores ne[] innermost first; its reader reverses it.
  std::vector<int64_t> shape;
  std::span<const uint8_t> data;  // exactly tensor_nbytes(type, shape) bytes, inside the mapping
  std::string file;               // path of the file that holds it

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

}  // namespace schwarm

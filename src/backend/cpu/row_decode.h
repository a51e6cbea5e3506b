#pragma once
// Decoding weight rows to f32 for the cpu matmul, with loop shapes the compiler vectorises for
// the common types (F16 and F8_E4M3 by table, Q4_K and Q6_K per sub-block with the scale hoisted).
// Bit-identical to the registry's dequantize (same operations in the same order; the parity suite
// checks it); every other type goes through the registry.
#include <cstdint>

#include "io/tensor_view.h"

namespace schwarm::cpu {

// dst[n_rows * cols] = rows [first_row, first_row + n_rows) of the 2-D weight w [rows, cols].
void decode_rows(const TensorView& w, int64_t first_row, int64_t n_rows, int64_t cols, float* dst);

}  // namespace schwarm::cpu

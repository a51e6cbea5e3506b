#pragma once
// DeepSeek-V3-style block-scaled FP8 weights: an F8_E4M3 matrix [rows, cols] plus a
// "weight_scale_inv" tensor [ceil(rows/block), ceil(cols/block)] (F32 or BF16) holding one
// multiplier per block x block tile; the last row/column of tiles may be partial.
#include <cstdint>

#include "io/tensor_view.h"

namespace schwarm {

// out[r * cols + c] = fp8(weight[r][c]) * scale_inv[r / block][c / block], rows*cols floats.
// Throws schwarm::Error naming both tensors if the weight is not a 2-D F8_E4M3 tensor, the scale
// is not a 2-D F32/BF16 tensor of exactly that tile shape, block < 1, or a data size is wrong.
void dequantize_fp8_block_scaled(const TensorView& weight, const TensorView& scale_inv, float* out,
                                 int64_t block = 128);

}  // namespace schwarm

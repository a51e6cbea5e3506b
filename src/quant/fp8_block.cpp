// Block-scaled FP8 (DeepSeek-V3 checkpoints): FP8 E4M3 weight times a per-tile f32 multiplier.
#include "quant/fp8_block.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "quant/float_bits.h"
#include "schwarm/error.h"

namespace schwarm {

namespace {
std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

[[noreturn]] void fail(const TensorView& w, const TensorView& s, const std::string& why) {
  throw Error("FP8 block-scaled weight '" + w.name + "' " + shape_str(w.shape) + " " +
              std::string(tensor_type_name(w.type)) + " with scale '" + s.name + "' " +
              shape_str(s.shape) + " " + std::string(tensor_type_name(s.type)) + ": " + why);
}
}  // namespace

void dequantize_fp8_block_scaled(const TensorView& weight, const TensorView& scale_inv, float* out,
                                 int64_t block) {
  if (block < 1) fail(weight, scale_inv, "block size " + std::to_string(block) + " < 1");
  if (weight.type != TensorType::F8_E4M3 || weight.shape.size() != 2)
    fail(weight, scale_inv, "weight must be a 2-D F8_E4M3 tensor");
  if ((scale_inv.type != TensorType::F32 && scale_inv.type != TensorType::BF16) ||
      scale_inv.shape.size() != 2)
    fail(weight, scale_inv, "scale must be a 2-D F32 or BF16 tensor");
  const int64_t rows = weight.shape[0], cols = weight.shape[1];
  if (rows < 0 || cols < 0) fail(weight, scale_inv, "negative dimension");
  const int64_t srows = (rows + block - 1) / block, scols = (cols + block - 1) / block;
  if (scale_inv.shape[0] != srows || scale_inv.shape[1] != scols)
    fail(weight, scale_inv,
         "scale shape must be [" + std::to_string(srows) + ", " + std::to_string(scols) +
             "] (ceil(weight shape / " + std::to_string(block) + "))");
  const uint64_t sbytes = scale_inv.type == TensorType::F32 ? 4 : 2;
  const auto wbytes = tensor_nbytes(weight.type, weight.shape);
  if (!wbytes || weight.data.size() != *wbytes)
    fail(weight, scale_inv, "weight holds " + std::to_string(weight.data.size()) + " bytes");
  const auto want_sbytes = tensor_nbytes(scale_inv.type, scale_inv.shape);
  if (!want_sbytes || scale_inv.data.size() != *want_sbytes)
    fail(weight, scale_inv, "scale holds " + std::to_string(scale_inv.data.size()) + " bytes");

  // One f32 multiplier per tile column of the current tile row.
  std::vector<float> scale_row(static_cast<size_t>(scols));
  for (int64_t br = 0; br < srows; ++br) {
    for (int64_t bc = 0; bc < scols; ++bc) {
      const uint8_t* p = scale_inv.data.data() + static_cast<uint64_t>(br * scols + bc) * sbytes;
      if (sbytes == 4) {
        std::memcpy(&scale_row[static_cast<size_t>(bc)], p, 4);
      } else {
        uint16_t h;
        std::memcpy(&h, p, 2);
        scale_row[static_cast<size_t>(bc)] = quant::bf16_to_f32(h);
      }
    }
    const int64_t r_end = std::min(rows, (br + 1) * block);
    for (int64_t r = br * block; r < r_end; ++r) {
      const uint8_t* w = weight.data.data() + r * cols;
      float* o = out + r * cols;
      for (int64_t c = 0; c < cols; ++c)
        o[c] = quant::fp8_e4m3_to_f32(w[c]) * scale_row[static_cast<size_t>(c / block)];
    }
  }
}

}  // namespace schwarm

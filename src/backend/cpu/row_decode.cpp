// Fast row decoders for the cpu backend (see row_decode.h). Each mirrors its registry routine in
// src/quant/ operation for operation; only the loop structure differs.
#include "backend/cpu/row_decode.h"

#include <array>
#include <vector>

#include "backend/ref/op_common.h"
#include "quant/block_io.h"
#include "quant/k_scales.h"

namespace schwarm::cpu {

namespace {

const float* f16_table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (uint32_t i = 0; i < 65536; ++i) t[i] = quant::fp16_to_f32(static_cast<uint16_t>(i));
    return t;
  }();
  return table.data();
}

const float* f8_e4m3_table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) t[i] = quant::fp8_e4m3_to_f32(static_cast<uint8_t>(i));
    return t;
  }();
  return table.data();
}

void decode_f16(const uint8_t* src, float* dst, int64_t n) {
  const float* t = f16_table();
  for (int64_t i = 0; i < n; ++i) dst[i] = t[quant::load_u16(src + 2 * i)];
}

void decode_f8_e4m3(const uint8_t* src, float* dst, int64_t n) {
  const float* t = f8_e4m3_table();
  for (int64_t i = 0; i < n; ++i) dst[i] = t[src[i]];
}

// As quant::dequantize_k_affine without qh: x = (d * sc) * q - (dmin * m), 8 sub-blocks of 32.
void decode_q4_k(const uint8_t* b, float* dst, int64_t n) {
  for (int64_t blk = 0; blk < n / 256; ++blk, b += 144, dst += 256) {
    const float d = quant::load_fp16(b), dmin = quant::load_fp16(b + 2);
    uint8_t sc[8], mn[8];
    quant::unpack_k4_scales(b + 4, sc, mn);
    const uint8_t* qs = b + 16;
    for (int j = 0; j < 8; ++j) {
      const float dl = d * static_cast<float>(sc[j]);
      const float ml = dmin * static_cast<float>(mn[j]);
      const uint8_t* q = qs + (j / 2) * 32;
      const int shift = 4 * (j % 2);
      float* o = dst + 32 * j;
      for (int l = 0; l < 32; ++l) o[l] = dl * static_cast<float>((q[l] >> shift) & 0x0F) - ml;
    }
  }
}

// As quant::dequantize_q6_k: x = (d * sc) * (q6 - 32), 16 sub-blocks of 16.
void decode_q6_k(const uint8_t* b, float* dst, int64_t n) {
  for (int64_t blk = 0; blk < n / 256; ++blk, b += 210, dst += 256) {
    const uint8_t* ql = b;
    const uint8_t* qh = b + 128;
    const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
    const float d = quant::load_fp16(b + 208);
    for (int s = 0; s < 16; ++s) {
      const float dl = d * static_cast<float>(sc[s]);
      const int i0 = 16 * s, half = i0 / 128, t0 = i0 % 128;
      const uint8_t* l_src = ql + half * 64 + t0 % 64;
      const uint8_t* h_src = qh + half * 32 + t0 % 32;
      const int l_shift = 4 * (t0 / 64), h_shift = 2 * (t0 / 32);
      float* o = dst + i0;
      for (int l = 0; l < 16; ++l) {
        const int q = (((l_src[l] >> l_shift) & 0x0F) | (((h_src[l] >> h_shift) & 3) << 4)) - 32;
        o[l] = dl * static_cast<float>(q);
      }
    }
  }
}

}  // namespace

void decode_rows(const TensorView& w, int64_t first_row, int64_t n_rows, int64_t cols, float* dst) {
  const size_t rb = backend_detail::row_bytes(w, cols);
  const uint8_t* src = w.data.data() + static_cast<size_t>(first_row) * rb;
  const int64_t n = n_rows * cols;
  switch (w.type) {
    case TensorType::F16:
      return decode_f16(src, dst, n);
    case TensorType::F8_E4M3:
      return decode_f8_e4m3(src, dst, n);
    case TensorType::Q4_K:
      return decode_q4_k(src, dst, n);
    case TensorType::Q6_K:
      return decode_q6_k(src, dst, n);
    default:
      return backend_detail::dequantize_rows(w, first_row, n_rows, cols, dst);
  }
}

}  // namespace schwarm::cpu

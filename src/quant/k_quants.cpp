// Dequantize ggml's K-quants: 256-element super-blocks split into 16- or 32-element sub-blocks,
// each with its own small integer scale (and min) times the super-block's f16 d (and dmin).
//   Q2_K {u8 scales[16]; u8 qs[64]; f16 d, dmin}        16 x 16: x = d*(sc&15)*q - dmin*(sc>>4)
//   Q3_K {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d} 16 x 16: x = d*(sc6-32)*(q2 - (h?0:4))
//   Q4_K {f16 d, dmin; u8 scales[12]; u8 qs[128]}        8 x 32: x = d*sc6*q4 - dmin*m6
//   Q5_K {f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}  as Q4_K with a 5th bit from qh
//   Q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}    16 x 16: x = d*sc*(q6 - 32)
//   Q8_K {f32 d; i8 qs[256]; i16 bsums[16]}              x = d*q
// The multiplication order matches ggml's: (d * scale) * q - (dmin * min).
#include "quant/block_io.h"
#include "quant/k_scales.h"
#include "quant/kernels.h"

namespace schwarm::quant {

namespace {
constexpr int64_t kQK = 256;
}  // namespace

void dequantize_q2_k(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(src);
  for (int64_t blk = 0; blk < n / kQK; ++blk, b += 84, dst += kQK) {
    const uint8_t* scales = b;
    const uint8_t* qs = b + 16;
    const float d = load_fp16(b + 80), dmin = load_fp16(b + 82);
    for (int i = 0; i < kQK; ++i) {
      const int half = i / 128, shift = 2 * ((i % 128) / 32), l = i % 32;
      const int q = (qs[half * 32 + l] >> shift) & 3;
      const uint8_t sc = scales[i / 16];
      const float dl = d * static_cast<float>(sc & 0x0F);
      const float ml = dmin * static_cast<float>(sc >> 4);
      dst[i] = dl * static_cast<float>(q) - ml;
    }
  }
}

void dequantize_q3_k(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(src);
  for (int64_t blk = 0; blk < n / kQK; ++blk, b += 110, dst += kQK) {
    const uint8_t* hmask = b;
    const uint8_t* qs = b + 32;
    int8_t sc[16];
    unpack_q3k_scales(b + 96, sc);
    const float d = load_fp16(b + 108);
    for (int i = 0; i < kQK; ++i) {
      const int half = i / 128, shift = 2 * ((i % 128) / 32), l = i % 32;
      const int low = (qs[half * 32 + l] >> shift) & 3;
      const int high = (hmask[l] >> (i / 32)) & 1;
      const int q = low - (high ? 0 : 4);
      const float dl = d * static_cast<float>(sc[i / 16]);
      dst[i] = dl * static_cast<float>(q);
    }
  }
}

namespace {
// Q4_K (no qh) and Q5_K (qh: bit j of qh[l] is the 5th bit of element 32 * j + l).
void dequantize_k_affine(const uint8_t* b, float* dst, int64_t n, size_t block_bytes, bool has_qh) {
  for (int64_t blk = 0; blk < n / kQK; ++blk, b += block_bytes, dst += kQK) {
    const float d = load_fp16(b), dmin = load_fp16(b + 2);
    uint8_t sc[8], mn[8];
    unpack_k4_scales(b + 4, sc, mn);
    const uint8_t* qh = b + 16;
    const uint8_t* qs = has_qh ? b + 48 : b + 16;
    for (int i = 0; i < kQK; ++i) {
      const int j = i / 32, l = i % 32;
      int q = (qs[(j / 2) * 32 + l] >> (4 * (j % 2))) & 0x0F;
      if (has_qh) q |= ((qh[l] >> j) & 1) << 4;
      const float dl = d * static_cast<float>(sc[j]);
      const float ml = dmin * static_cast<float>(mn[j]);
      dst[i] = dl * static_cast<float>(q) - ml;
    }
  }
}
}  // namespace

void dequantize_q4_k(const void* src, float* dst, int64_t n) {
  dequantize_k_affine(static_cast<const uint8_t*>(src), dst, n, 144, false);
}
void dequantize_q5_k(const void* src, float* dst, int64_t n) {
  dequantize_k_affine(static_cast<const uint8_t*>(src), dst, n, 176, true);
}

void dequantize_q6_k(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(src);
  for (int64_t blk = 0; blk < n / kQK; ++blk, b += 210, dst += kQK) {
    const uint8_t* ql = b;
    const uint8_t* qh = b + 128;
    const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
    const float d = load_fp16(b + 208);
    for (int i = 0; i < kQK; ++i) {
      const int half = i / 128, t = i % 128;
      const int low = (ql[half * 64 + t % 64] >> (4 * (t / 64))) & 0x0F;
      const int high = (qh[half * 32 + t % 32] >> (2 * (t / 32))) & 3;
      const int q = (low | (high << 4)) - 32;
      const float dl = d * static_cast<float>(sc[i / 16]);
      dst[i] = dl * static_cast<float>(q);
    }
  }
}

void dequantize_q8_k(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(src);
  for (int64_t blk = 0; blk < n / kQK; ++blk, b += 292, dst += kQK) {
    const float d = load_f32(b);
    for (int i = 0; i < kQK; ++i) dst[i] = d * static_cast<float>(static_cast<int8_t>(b[4 + i]));
  }
}

}  // namespace schwarm::quant

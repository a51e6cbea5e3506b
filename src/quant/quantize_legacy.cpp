// Quantize f32 into ggml's 32-element legacy blocks with ggml's reference algorithms (the ones
// gguf-py's quants.py reproduces): the same f32 operations in the same order, so the bytes match.
//   Q8_0: d = absmax / 127, q = round-half-away(x / d)
//   Q4_0 / Q5_0: d = (signed value of largest magnitude) / -8 (/ -16), q = trunc(x / d + 8.5)
//   Q4_1 / Q5_1: d = (max - min) / 15 (/ 31), m = min, q = trunc((x - min) / d + 0.5)
// The scale is computed in f32 and only rounded to f16 when stored.
#include <algorithm>
#include <cmath>

#include "quant/block_io.h"
#include "quant/kernels.h"

namespace schwarm::quant {

namespace {
constexpr int kQK = 32;

inline float inverse_or_zero(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

// The element of largest magnitude, with its sign; the first such element on ties.
inline float signed_absmax(const float* x) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < kQK; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

inline void min_max(const float* x, float& mn, float& mx) {
  mn = x[0];
  mx = x[0];
  for (int j = 1; j < kQK; ++j) {
    mn = std::min(mn, x[j]);
    mx = std::max(mx, x[j]);
  }
}

// Truncates toward zero like numpy's trunc + astype(uint8), then clips to the code range.
inline int clamp_code(float v, int hi) { return trunc_clamped(v, 0, hi); }

// 32 codes -> 16 bytes of nibbles (element j low, j + 16 high) and, for 5-bit codes, 4 bytes qh.
inline void pack_codes(const int q[kQK], uint8_t* qs, uint8_t* qh) {
  for (int j = 0; j < 16; ++j)
    qs[j] = static_cast<uint8_t>((q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4));
  if (qh) {
    uint32_t h = 0;
    for (int j = 0; j < kQK; ++j) h |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
    std::memcpy(qh, &h, 4);
  }
}

void quantize_symmetric(const float* src, uint8_t* b, int64_t n, int nmax, size_t block_bytes) {
  // Q4_0 (nmax 15, offset 8) and Q5_0 (nmax 31, offset 16).
  const float offset = static_cast<float>((nmax + 1) / 2);
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK, b += block_bytes) {
    const float d = signed_absmax(src) / -offset;
    const float id = inverse_or_zero(d);
    int q[kQK];
    for (int j = 0; j < kQK; ++j) q[j] = clamp_code(src[j] * id + (offset + 0.5f), nmax);
    store_fp16(b, d);
    if (nmax == 15)
      pack_codes(q, b + 2, nullptr);
    else
      pack_codes(q, b + 6, b + 2);
  }
}

void quantize_affine(const float* src, uint8_t* b, int64_t n, int nmax, size_t block_bytes) {
  // Q4_1 (nmax 15) and Q5_1 (nmax 31).
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK, b += block_bytes) {
    float mn, mx;
    min_max(src, mn, mx);
    const float d = (mx - mn) / static_cast<float>(nmax);
    const float id = inverse_or_zero(d);
    int q[kQK];
    for (int j = 0; j < kQK; ++j) q[j] = clamp_code((src[j] - mn) * id + 0.5f, nmax);
    store_fp16(b, d);
    store_fp16(b + 2, mn);
    if (nmax == 15)
      pack_codes(q, b + 4, nullptr);
    else
      pack_codes(q, b + 8, b + 4);
  }
}
}  // namespace

void quantize_q4_0(const float* src, void* dst, int64_t n) {
  quantize_symmetric(src, static_cast<uint8_t*>(dst), n, 15, 18);
}
void quantize_q5_0(const float* src, void* dst, int64_t n) {
  quantize_symmetric(src, static_cast<uint8_t*>(dst), n, 31, 22);
}
void quantize_q4_1(const float* src, void* dst, int64_t n) {
  quantize_affine(src, static_cast<uint8_t*>(dst), n, 15, 20);
}
void quantize_q5_1(const float* src, void* dst, int64_t n) {
  quantize_affine(src, static_cast<uint8_t*>(dst), n, 31, 24);
}

void quantize_q8_0(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK, b += 34) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(src[j]));
    const float d = amax / 127.0f;
    const float id = inverse_or_zero(d);
    store_fp16(b, d);
    for (int j = 0; j < kQK; ++j)
      b[2 + j] = static_cast<uint8_t>(round_away_clamped(src[j] * id, -128, 127));
  }
}

}  // namespace schwarm::quant

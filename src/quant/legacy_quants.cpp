// Dequantize ggml's 32-element "legacy" blocks: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0.
//   Q4_0 {f16 d; u8 qs[16]}            x = d * (q - 8)
//   Q4_1 {f16 d, m; u8 qs[16]}          x = d * q + m
//   Q5_0 {f16 d; u8 qh[4]; u8 qs[16]}   x = d * (q - 16), q = low nibble | bit i of qh << 4
//   Q5_1 {f16 d, m; u8 qh[4]; u8 qs[16]} x = d * q + m
//   Q8_0 {f16 d; i8 qs[32]}             x = d * q
// Element j < 16 takes the low nibble of qs[j], element j + 16 the high nibble.
#include "quant/block_io.h"
#include "quant/kernels.h"

namespace schwarm::quant {

namespace {
constexpr int64_t kQK = 32;

// The 32 4-bit codes of a block, in element order.
inline void unpack_nibbles(const uint8_t* qs, int q[kQK]) {
  for (int j = 0; j < 16; ++j) {
    q[j] = qs[j] & 0x0F;
    q[j + 16] = qs[j] >> 4;
  }
}
inline void add_high_bits(const uint8_t* qh, int q[kQK]) {
  const uint32_t h = load_u32(qh);
  for (int j = 0; j < 32; ++j) q[j] |= static_cast<int>((h >> j) & 1u) << 4;
}
}  // namespace

void dequantize_q4_0(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, b += 18, dst += kQK) {
    const float d = load_fp16(b);
    int q[kQK];
    unpack_nibbles(b + 2, q);
    for (int j = 0; j < kQK; ++j) dst[j] = d * static_cast<float>(q[j] - 8);
  }
}

void dequantize_q4_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, b += 20, dst += kQK) {
    const float d = load_fp16(b), m = load_fp16(b + 2);
    int q[kQK];
    unpack_nibbles(b + 4, q);
    for (int j = 0; j < kQK; ++j) dst[j] = d * static_cast<float>(q[j]) + m;
  }
}

void dequantize_q5_0(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, b += 22, dst += kQK) {
    const float d = load_fp16(b);
    int q[kQK];
    unpack_nibbles(b + 6, q);
    add_high_bits(b + 2, q);
    for (int j = 0; j < kQK; ++j) dst[j] = d * static_cast<float>(q[j] - 16);
  }
}

void dequantize_q5_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, b += 24, dst += kQK) {
    const float d = load_fp16(b), m = load_fp16(b + 2);
    int q[kQK];
    unpack_nibbles(b + 8, q);
    add_high_bits(b + 4, q);
    for (int j = 0; j < kQK; ++j) dst[j] = d * static_cast<float>(q[j]) + m;
  }
}

void dequantize_q8_0(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, b += 34, dst += kQK) {
    const float d = load_fp16(b);
    for (int j = 0; j < kQK; ++j) dst[j] = d * static_cast<float>(static_cast<int8_t>(b[2 + j]));
  }
}

}  // namespace schwarm::quant

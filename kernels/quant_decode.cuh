#pragma once
// Weight decoding for the CUDA backend, __host__ __device__: one row's bytes (as stored: blocks
// back to back) -> f32 elements, with values bit-identical to the registry's dequantizers
// (type_traits(t).dequantize: src/quant/plain_types.cpp, legacy_quants.cpp, k_quants.cpp): the same
// products and differences in the same order, each rounded on its own (device_float.cuh's mul_rn /
// sub_rn, never an FMA). All loads are byte loads: a row need not be aligned (Q5_0's 32-bit qh sits
// at byte 2 of a 22-byte block, safetensors data may start anywhere).
// Exception: where a block's f16 scale is NaN/inf the element is NaN on both sides, but the device's
// NaN payload (canonical 0x7FFFFFFF) may differ from the host's; every other value matches bit for bit.
//
// Also here: the quantized-activations rounding x -> x̂ of quant/act_q8k.h, per 256-block.
//
// Checked against the registry by tests/unit/cuda_quant_decode_test.cpp (host-only).
#include <cstdint>

#include "core/tensor_type.h"
#include "device_float.cuh"

namespace schwarm::cuda {

// ---- block shapes -----------------------------------------------------------------------------

// Whether this header decodes `t`.
SCHWARM_HD constexpr bool decode_supported(TensorType t) {
  switch (t) {
    case TensorType::F32: case TensorType::F16: case TensorType::BF16: case TensorType::F8_E4M3:
    case TensorType::Q8_0: case TensorType::Q4_0: case TensorType::Q5_0:
    case TensorType::Q4_K: case TensorType::Q5_K: case TensorType::Q6_K:
      return true;
    default:
      return false;
  }
}

// Elements and bytes per block (plain types: one element); {0, 0} for an unsupported type.
struct BlockShape {
  int64_t elements;
  int64_t bytes;
};
SCHWARM_HD constexpr BlockShape block_shape(TensorType t) {
  switch (t) {
    case TensorType::F32: return {1, 4};
    case TensorType::F16: return {1, 2};
    case TensorType::BF16: return {1, 2};
    case TensorType::F8_E4M3: return {1, 1};
    case TensorType::Q8_0: return {32, 34};
    case TensorType::Q4_0: return {32, 18};
    case TensorType::Q5_0: return {32, 22};
    case TensorType::Q4_K: return {256, 144};
    case TensorType::Q5_K: return {256, 176};
    case TensorType::Q6_K: return {256, 210};
    default: return {0, 0};
  }
}

// Plain types: one element per "block"; any row length. Block types: cols % block elements == 0.
SCHWARM_HD constexpr bool is_block_type(TensorType t) { return block_shape(t).elements > 1; }

// Bytes of one row of `cols` elements (cols a multiple of the block size; unsupported type: 0).
SCHWARM_HD constexpr int64_t row_bytes_of(TensorType t, int64_t cols) {
  const BlockShape s = block_shape(t);
  return s.elements == 0 ? 0 : cols / s.elements * s.bytes;
}

// ---- little-endian byte loads -----------------------------------------------------------------

SCHWARM_HD inline uint32_t load_u16_le(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8;
}
SCHWARM_HD inline uint32_t load_u32_le(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}
SCHWARM_HD inline float load_fp16_le(const uint8_t* p) {
  return fp16_to_f32(static_cast<uint16_t>(load_u16_le(p)));
}

// ---- K-quant scale unpacking ------------------------------------------------------------------

// Q4_K / Q5_K: 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes s (the layout of
// quant/k_scales.h unpack_k4_scales).
SCHWARM_HD inline void k4_scale_min(const uint8_t* s, int j, int& sc, int& mn) {
  if (j < 4) {
    sc = s[j] & 63;
    mn = s[j + 4] & 63;
  } else {
    sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
    mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// ---- per-type decoders ------------------------------------------------------------------------
// decode_element_of<T>(row, i): element i of the row. decode_chunk32_of<T>(row, c, out): elements
// 32 c .. 32 c + 31 (the caller guarantees they lie in the row); one Q8_0/Q4_0/Q5_0 block, or
// sub-block c % 8 of K-quant super-block c / 8, whose scales are then decoded once for all 32.

namespace detail {

// Q4_K / Q5_K: the 32 elements of sub-block j of the super-block at b. x = (d*sc)*q - (dmin*m).
template <bool kHasQh>
SCHWARM_HD inline void k_affine_sub32(const uint8_t* b, int j, float out[32]) {
  const float d = load_fp16_le(b), dmin = load_fp16_le(b + 2);
  int sc, mn;
  k4_scale_min(b + 4, j, sc, mn);
  const float dl = mul_rn(d, static_cast<float>(sc));
  const float ml = mul_rn(dmin, static_cast<float>(mn));
  const uint8_t* qh = b + 16;
  const uint8_t* qs = (kHasQh ? b + 48 : b + 16) + (j / 2) * 32;
  const int shift = 4 * (j % 2);
  SCHWARM_UNROLL
  for (int l = 0; l < 32; ++l) {
    int q = (qs[l] >> shift) & 0x0F;
    if (kHasQh) q |= ((qh[l] >> j) & 1) << 4;
    out[l] = sub_rn(mul_rn(dl, static_cast<float>(q)), ml);
  }
}
template <bool kHasQh>
SCHWARM_HD inline float k_affine_element(const uint8_t* b, int i) {
  const int j = i / 32, l = i % 32;
  const float d = load_fp16_le(b), dmin = load_fp16_le(b + 2);
  int sc, mn;
  k4_scale_min(b + 4, j, sc, mn);
  const float dl = mul_rn(d, static_cast<float>(sc));
  const float ml = mul_rn(dmin, static_cast<float>(mn));
  const uint8_t* qs = kHasQh ? b + 48 : b + 16;
  int q = (qs[(j / 2) * 32 + l] >> (4 * (j % 2))) & 0x0F;
  if (kHasQh) q |= ((b[16 + l] >> j) & 1) << 4;
  return sub_rn(mul_rn(dl, static_cast<float>(q)), ml);
}

// Q6_K {ql[128]; qh[64]; i8 scales[16]; f16 d}: element i of the super-block at b.
// x = (d*sc[i/16]) * (q6 - 32).
SCHWARM_HD inline float q6k_element(const uint8_t* b, int i) {
  const int half = i / 128, t = i % 128;
  const int low = (b[half * 64 + t % 64] >> (4 * (t / 64))) & 0x0F;
  const int high = (b[128 + half * 32 + t % 32] >> (2 * (t / 32))) & 3;
  const int q = (low | (high << 4)) - 32;
  const float dl = mul_rn(load_fp16_le(b + 208), static_cast<float>(static_cast<int8_t>(b[192 + i / 16])));
  return mul_rn(dl, static_cast<float>(q));
}
// Sub-block j (elements 32 j .. 32 j + 31) of the Q6_K super-block at b: one qh shift, two scales.
SCHWARM_HD inline void q6k_sub32(const uint8_t* b, int j, float out[32]) {
  const float d = load_fp16_le(b + 208);
  const int half = j / 4, tq = j % 4;  // t = 32 tq + l within the half
  const uint8_t* ql = b + half * 64 + (tq % 2) * 32;
  const uint8_t* qh = b + 128 + half * 32;
  const int low_shift = 4 * (tq / 2), high_shift = 2 * tq;
  const float dl0 = mul_rn(d, static_cast<float>(static_cast<int8_t>(b[192 + 2 * j])));
  const float dl1 = mul_rn(d, static_cast<float>(static_cast<int8_t>(b[192 + 2 * j + 1])));
  SCHWARM_UNROLL
  for (int l = 0; l < 32; ++l) {
    const int low = (ql[l] >> low_shift) & 0x0F;
    const int high = (qh[l] >> high_shift) & 3;
    const int q = (low | (high << 4)) - 32;
    out[l] = mul_rn(l < 16 ? dl0 : dl1, static_cast<float>(q));
  }
}

// Legacy 32-blocks: element e < 16 is the low nibble of qs[e], e >= 16 the high nibble of qs[e-16].
SCHWARM_HD inline int nibble(const uint8_t* qs, int e) {
  return e < 16 ? (qs[e] & 0x0F) : (qs[e - 16] >> 4);
}

}  // namespace detail

template <TensorType T>
SCHWARM_HD inline float decode_element_of(const uint8_t* row, int64_t i) {
  static_assert(decode_supported(T), "decode_element_of: unsupported type");
  constexpr BlockShape kShape = block_shape(T);
  const uint8_t* b = row + (i / kShape.elements) * kShape.bytes;
  const int e = static_cast<int>(i % kShape.elements);
  if constexpr (T == TensorType::F32) {
    return f32_from_bits(load_u32_le(b));
  } else if constexpr (T == TensorType::F16) {
    return fp16_to_f32(static_cast<uint16_t>(load_u16_le(b)));
  } else if constexpr (T == TensorType::BF16) {
    return bf16_to_f32(static_cast<uint16_t>(load_u16_le(b)));
  } else if constexpr (T == TensorType::F8_E4M3) {
    return fp8_e4m3_to_f32(b[0]);
  } else if constexpr (T == TensorType::Q8_0) {  // {f16 d; i8 qs[32]}: d * q
    return mul_rn(load_fp16_le(b), static_cast<float>(static_cast<int8_t>(b[2 + e])));
  } else if constexpr (T == TensorType::Q4_0) {  // {f16 d; u8 qs[16]}: d * (q - 8)
    return mul_rn(load_fp16_le(b), static_cast<float>(detail::nibble(b + 2, e) - 8));
  } else if constexpr (T == TensorType::Q5_0) {  // {f16 d; u8 qh[4]; u8 qs[16]}: d * (q - 16)
    const int q = detail::nibble(b + 6, e) | static_cast<int>((load_u32_le(b + 2) >> e) & 1u) << 4;
    return mul_rn(load_fp16_le(b), static_cast<float>(q - 16));
  } else if constexpr (T == TensorType::Q4_K) {
    return detail::k_affine_element<false>(b, e);
  } else if constexpr (T == TensorType::Q5_K) {
    return detail::k_affine_element<true>(b, e);
  } else {  // Q6_K
    return detail::q6k_element(b, e);
  }
}

template <TensorType T>
SCHWARM_HD inline void decode_chunk32_of(const uint8_t* row, int64_t chunk, float out[32]) {
  static_assert(decode_supported(T), "decode_chunk32_of: unsupported type");
  if constexpr (block_shape(T).elements == 1) {
    SCHWARM_UNROLL
    for (int e = 0; e < 32; ++e) out[e] = decode_element_of<T>(row, 32 * chunk + e);
  } else if constexpr (block_shape(T).elements == 32) {
    const uint8_t* b = row + chunk * block_shape(T).bytes;
    const float d = load_fp16_le(b);
    if constexpr (T == TensorType::Q8_0) {
      SCHWARM_UNROLL
      for (int e = 0; e < 32; ++e) out[e] = mul_rn(d, static_cast<float>(static_cast<int8_t>(b[2 + e])));
    } else if constexpr (T == TensorType::Q4_0) {
      SCHWARM_UNROLL
      for (int e = 0; e < 32; ++e) out[e] = mul_rn(d, static_cast<float>(detail::nibble(b + 2, e) - 8));
    } else {  // Q5_0
      const uint32_t qh = load_u32_le(b + 2);
      SCHWARM_UNROLL
      for (int e = 0; e < 32; ++e) {
        const int q = detail::nibble(b + 6, e) | static_cast<int>((qh >> e) & 1u) << 4;
        out[e] = mul_rn(d, static_cast<float>(q - 16));
      }
    }
  } else {  // 256-element K-quant super-blocks: 8 chunks each
    const uint8_t* b = row + (chunk / 8) * block_shape(T).bytes;
    const int j = static_cast<int>(chunk % 8);
    if constexpr (T == TensorType::Q4_K) {
      detail::k_affine_sub32<false>(b, j, out);
    } else if constexpr (T == TensorType::Q5_K) {
      detail::k_affine_sub32<true>(b, j, out);
    } else {  // Q6_K
      detail::q6k_sub32(b, j, out);
    }
  }
}

// Run-time type versions (a switch per call: for tests and cold paths; kernels use the templates).
// An unsupported type decodes to 0.
SCHWARM_HD inline float decode_element(TensorType t, const uint8_t* row, int64_t i) {
  switch (t) {
    case TensorType::F32: return decode_element_of<TensorType::F32>(row, i);
    case TensorType::F16: return decode_element_of<TensorType::F16>(row, i);
    case TensorType::BF16: return decode_element_of<TensorType::BF16>(row, i);
    case TensorType::F8_E4M3: return decode_element_of<TensorType::F8_E4M3>(row, i);
    case TensorType::Q8_0: return decode_element_of<TensorType::Q8_0>(row, i);
    case TensorType::Q4_0: return decode_element_of<TensorType::Q4_0>(row, i);
    case TensorType::Q5_0: return decode_element_of<TensorType::Q5_0>(row, i);
    case TensorType::Q4_K: return decode_element_of<TensorType::Q4_K>(row, i);
    case TensorType::Q5_K: return decode_element_of<TensorType::Q5_K>(row, i);
    case TensorType::Q6_K: return decode_element_of<TensorType::Q6_K>(row, i);
    default: return 0.0f;
  }
}

SCHWARM_HD inline void decode_chunk32(TensorType t, const uint8_t* row, int64_t chunk, float out[32]) {
  switch (t) {
    case TensorType::F32: decode_chunk32_of<TensorType::F32>(row, chunk, out); return;
    case TensorType::F16: decode_chunk32_of<TensorType::F16>(row, chunk, out); return;
    case TensorType::BF16: decode_chunk32_of<TensorType::BF16>(row, chunk, out); return;
    case TensorType::F8_E4M3: decode_chunk32_of<TensorType::F8_E4M3>(row, chunk, out); return;
    case TensorType::Q8_0: decode_chunk32_of<TensorType::Q8_0>(row, chunk, out); return;
    case TensorType::Q4_0: decode_chunk32_of<TensorType::Q4_0>(row, chunk, out); return;
    case TensorType::Q5_0: decode_chunk32_of<TensorType::Q5_0>(row, chunk, out); return;
    case TensorType::Q4_K: decode_chunk32_of<TensorType::Q4_K>(row, chunk, out); return;
    case TensorType::Q5_K: decode_chunk32_of<TensorType::Q5_K>(row, chunk, out); return;
    case TensorType::Q6_K: decode_chunk32_of<TensorType::Q6_K>(row, chunk, out); return;
    default:
      for (int e = 0; e < 32; ++e) out[e] = 0.0f;
      return;
  }
}

// ---- quantized-activations rounding (quant/act_q8k.h) -----------------------------------------
// Per block of 256 activations (a row's last block may be shorter): amax = max |x|; a NaN/inf in
// the block poisons it (x̂ = NaN); a zero block gives 0; otherwise x̂ = (amax / 127) * q,
// q = round-half-even(x * (127 / amax)) in [-127, 127].
// Split so a kernel can reduce amax and "all finite" over a thread block, then map each element.

constexpr int64_t kActQ8kBlock = 256;
// What the host's poisoned block holds: its d (quiet_NaN()) times q = 0, which x86 returns as the
// NaN operand itself. Stored directly: a device multiply would give the canonical 0x7FFFFFFF.
constexpr uint32_t kActQ8kPoisonBits = 0x7FC00000u;

SCHWARM_HD inline float abs_bits(float v) { return f32_from_bits(f32_bits(v) & 0x7FFFFFFFu); }
SCHWARM_HD inline bool is_finite_bits(float v) { return (f32_bits(v) & 0x7F800000u) != 0x7F800000u; }

// x̂ of one activation v whose block has the given amax and finiteness.
SCHWARM_HD inline float act_q8k_round_trip_element(float v, float amax, bool block_finite) {
  if (!block_finite) return f32_from_bits(kActQ8kPoisonBits);
  if (amax == 0.0f) return mul_rn(0.0f, 0.0f);  // d = 0, q = 0
  const float inv = div_rn(127.0f, amax);
  // Round half to even by the magic number 1.5 * 2^23, as the host does (|v * inv| <= 127 < 2^22).
  constexpr float kMagic = 12582912.0f;
  float r = sub_rn(add_rn(mul_rn(v, inv), kMagic), kMagic);
  r = r < -127.0f ? -127.0f : (127.0f < r ? 127.0f : r);  // std::clamp(r, -127, 127)
  // r is NaN only where inv overflowed to inf (amax < ~3.7e-37) and v == 0; the host's int8 cast is
  // undefined there (x86 gives 0): 0, without the undefined behaviour.
  const int q = r != r ? 0 : static_cast<int>(r);
  return mul_rn(div_rn(amax, 127.0f), static_cast<float>(q));
}

// One block of `len` activations (256, or fewer for a row's last block), sequentially (the
// host-side reference of the device kernel's pieces; the test holds it to
// quant::round_trip_act_q8k). xhat may alias x.
SCHWARM_HD inline void act_q8k_round_trip_block(const float* x, float* xhat, int64_t len = kActQ8kBlock) {
  float amax = 0.0f;
  bool finite = true;
  for (int64_t i = 0; i < len; ++i) {
    const float a = abs_bits(x[i]);
    amax = amax < a ? a : amax;  // std::max(amax, a)
    finite = finite && is_finite_bits(x[i]);
  }
  for (int64_t i = 0; i < len; ++i) xhat[i] = act_q8k_round_trip_element(x[i], amax, finite);
}

}  // namespace schwarm::cuda

#pragma once
// Scalar conversions between f32 and the small float formats (IEEE half, bfloat16, OCP FP8),
// done on bit patterns so results do not depend on the CPU's conversion instructions.
#include <bit>
#include <cstdint>

// The dequantizers promise bit-identical results to ggml/gguf-py, which round after every multiply
// and add: never fuse a*b+c into an FMA, even when built for an FMA-capable target.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace schwarm::quant {

inline float f32_from_bits(uint32_t b) { return std::bit_cast<float>(b); }
inline uint32_t f32_bits(float f) { return std::bit_cast<uint32_t>(f); }

// IEEE binary16 -> f32, exact; NaN payloads are kept (shifted into the high mantissa bits).
inline float fp16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  if (exp == 0x1F) return f32_from_bits(sign | 0x7F800000u | (mant << 13));
  if (exp == 0) {
    if (mant == 0) return f32_from_bits(sign);
    // Subnormal: shift the mantissa up until its leading 1 reaches the implicit-bit position.
    int e = -1;
    do {
      mant <<= 1;
      ++e;
    } while ((mant & 0x400u) == 0);
    mant &= 0x3FFu;
    return f32_from_bits(sign | (static_cast<uint32_t>(112 - e) << 23) | (mant << 13));
  }
  return f32_from_bits(sign | ((exp + 112u) << 23) | (mant << 13));
}

// f32 -> IEEE binary16, round to nearest even; overflow gives inf, NaN stays NaN.
inline uint16_t f32_to_fp16(float f) {
  const uint32_t x = f32_bits(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t ax = x & 0x7FFFFFFFu;
  if (ax >= 0x7F800000u) {  // inf or NaN
    if (ax == 0x7F800000u) return sign | 0x7C00u;
    uint32_t m = (ax & 0x7FFFFFu) >> 13;
    return static_cast<uint16_t>(sign | 0x7C00u | 0x200u | m);  // quiet NaN
  }
  if (ax >= 0x477FF000u) return sign | 0x7C00u;  // rounds to >= 65520: inf
  if (ax < 0x38800000u) {                        // below 2^-14: subnormal half or zero
    if (ax < 0x33000000u) return sign;           // below 2^-25: rounds to zero (tie -> even 0)
    const uint32_t e = ax >> 23;
    const uint32_t m = (ax & 0x7FFFFFu) | 0x800000u;
    const uint32_t shift = 126u - e;  // 14 + 127 - e - 1 + 10 ... value = m * 2^(e-150)
    // half subnormal unit is 2^-24: q = m * 2^(e-150+24) = m >> (126 - e)
    uint32_t q = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u))) ++q;
    return static_cast<uint16_t>(sign | q);
  }
  // Normal: rebias exponent, round 13 mantissa bits away.
  uint32_t h = ((ax >> 23) - 112u) << 10 | ((ax >> 13) & 0x3FFu);
  const uint32_t rem = ax & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // carry may roll into the exponent
  return static_cast<uint16_t>(sign | h);
}

inline float bf16_to_f32(uint16_t b) { return f32_from_bits(static_cast<uint32_t>(b) << 16); }

// f32 -> bfloat16, round to nearest even, NaN forced quiet (as ggml does).
inline uint16_t f32_to_bf16(float f) {
  uint32_t x = f32_bits(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 64u);
  x += 0x7FFFu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

// OCP FP8 E4M3 ("fn": no infinities; S.1111.111 is NaN), bias 7.
inline float fp8_e4m3_to_f32(uint8_t v) {
  const uint32_t sign = static_cast<uint32_t>(v & 0x80u) << 24;
  const uint32_t exp = (v >> 3) & 0xFu;
  const uint32_t mant = v & 0x7u;
  if (exp == 0xF && mant == 0x7) return f32_from_bits(sign | 0x7FC00000u);
  if (exp == 0) {  // subnormal: mant * 2^-9, exact in f32
    const float m = static_cast<float>(mant) * (1.0f / 512.0f);
    return f32_from_bits(sign | f32_bits(m));
  }
  return f32_from_bits(sign | ((exp + 120u) << 23) | (mant << 20));
}

// OCP FP8 E5M2 (IEEE-like: infinities and NaNs), bias 15; it is the top byte of an f16.
inline float fp8_e5m2_to_f32(uint8_t v) { return fp16_to_f32(static_cast<uint16_t>(v) << 8); }

}  // namespace schwarm::quant

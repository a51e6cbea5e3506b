#pragma once
// Float helpers usable on both sides of the CUDA backend (__host__ __device__): bit casts, the
// small-format -> f32 conversions with exactly the values of src/quant/float_bits.h (NaN payloads,
// infinities and subnormals included), and f32 arithmetic that never fuses a*b+c into an FMA.
// A host-only GoogleTest (g++, no CUDA) includes this header to check it against the registry.
#include <cstdint>

#include "hd.cuh"

// The registry's dequantizers round after every multiply and add (float_bits.h): a plain host
// compile (the GoogleTest) must not contract either. nvcc does not know this pragma (it warns), and
// its device code uses the explicit round-to-nearest intrinsics below instead.
#if !defined(__CUDACC__)
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#endif

namespace schwarm::cuda {

SCHWARM_HD inline float f32_from_bits(uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(b);
#else
  float f;
  __builtin_memcpy(&f, &b, sizeof f);
  return f;
#endif
}

SCHWARM_HD inline uint32_t f32_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t b;
  __builtin_memcpy(&b, &f, sizeof b);
  return b;
#endif
}

// f32 arithmetic rounded after each operation (round to nearest even), never fused: nvcc would
// otherwise contract a*b+c into one FMA and the result would differ from the host's in the last bit.
SCHWARM_HD inline float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
SCHWARM_HD inline float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
SCHWARM_HD inline float sub_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}
// IEEE division (nvcc's default '/' is IEEE too unless -prec-div=false; this does not depend on it).
SCHWARM_HD inline float div_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}

// IEEE binary16 -> f32, exact; NaN payloads kept (shifted into the high mantissa bits). The same
// steps as quant::fp16_to_f32.
SCHWARM_HD inline float fp16_to_f32(uint16_t h) {
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

// bfloat16 is the top half of an f32: exact, NaN payloads included.
SCHWARM_HD inline float bf16_to_f32(uint16_t b) { return f32_from_bits(static_cast<uint32_t>(b) << 16); }

// OCP FP8 E4M3 ("fn": no infinities; S.1111.111 is NaN, always the quiet NaN 0x7FC00000 with the
// sign), bias 7. As quant::fp8_e4m3_to_f32.
SCHWARM_HD inline float fp8_e4m3_to_f32(uint8_t v) {
  const uint32_t sign = static_cast<uint32_t>(v & 0x80u) << 24;
  const uint32_t exp = (v >> 3) & 0xFu;
  const uint32_t mant = v & 0x7u;
  if (exp == 0xF && mant == 0x7) return f32_from_bits(sign | 0x7FC00000u);
  if (exp == 0) {  // subnormal: mant * 2^-9, exact in f32
    const float m = mul_rn(static_cast<float>(mant), 1.0f / 512.0f);
    return f32_from_bits(sign | f32_bits(m));
  }
  return f32_from_bits(sign | ((exp + 120u) << 23) | (mant << 20));
}

}  // namespace schwarm::cuda

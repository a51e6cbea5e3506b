#pragma once
// The 32-block types' values as unsigned bytes, one block (32 values, element order) per 256-bit
// register, so that w = d · (u − offset): Q8_0 u = q + 128 (offset 128), Q4_0 the nibble (8),
// Q5_0 the nibble plus 16 from qh (16). `blk` points at the block (its d first). Shared by the
// integer gemv (kernels_vnni.cpp) and the integer GEMM's packing (kernels_vnni_panel.cpp);
// include it inside their AVX-512 target region. Kernels take them as the functor types below
// (Q80Values etc.), not as function references, so that they are inlined.
#include <immintrin.h>

#include <cstdint>

#include "quant/block_io.h"

namespace schwarm::cpu {

struct Block32Layout {
  size_t bytes;  // per block
  float offset;  // w = d · (u − offset)
};
constexpr Block32Layout kQ80Layout{34, 128.0f}, kQ40Layout{18, 8.0f}, kQ50Layout{22, 16.0f};

// 16 bytes of nibbles -> elements 0-15 (low) then 16-31 (high).
inline __m256i nibbles32(const uint8_t* qs) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)), m4 = _mm_set1_epi8(0x0F);
  return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_and_si128(q, m4)), _mm_and_si128(_mm_srli_epi16(q, 4), m4),
                                 1);
}

inline __m256i u32_q80(const uint8_t* blk) {
  return _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2)),
                          _mm256_set1_epi8(static_cast<char>(0x80)));
}

inline __m256i u32_q40(const uint8_t* blk) { return nibbles32(blk + 2); }

inline __m256i u32_q50(const uint8_t* blk) {
  const __m256i lo = nibbles32(blk + 6);
  return _mm256_mask_add_epi8(lo, static_cast<__mmask32>(quant::load_u32(blk + 2)), lo,
                              _mm256_set1_epi8(0x10));  // bit i of qh: + 16
}

struct Q80Values {
  __m256i operator()(const uint8_t* blk) const { return u32_q80(blk); }
};
struct Q40Values {
  __m256i operator()(const uint8_t* blk) const { return u32_q40(blk); }
};
struct Q50Values {
  __m256i operator()(const uint8_t* blk) const { return u32_q50(blk); }
};

}  // namespace schwarm::cpu

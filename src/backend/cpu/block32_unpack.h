#pragma once
// The 32-block types, one struct each (Q80Values, Q40Values, Q50Values): the block's size, and
// its 32 values as unsigned bytes u (element order, one 256-bit register) with w = d · (u −
// kOffset): Q8_0 u = q + 128, Q4_0 the nibble (offset 8), Q5_0 the nibble plus 16 from qh (16).
// `blk` points at the block (its fp16 d first). Kernels take them as template types so that the
// unpacking is inlined (a function reference was called, not inlined: 3x slower). Shared by the
// integer gemv (kernels_vnni.cpp) and the integer GEMM's packing (kernels_vnni_panel.cpp);
// include it inside their AVX-512 target region.
#include <immintrin.h>

#include <cstdint>

#include "quant/block_io.h"

namespace schwarm::cpu {

// 16 bytes of nibbles -> elements 0-15 (low) then 16-31 (high).
inline __m256i nibbles32(const uint8_t* qs) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)), m4 = _mm_set1_epi8(0x0F);
  return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_and_si128(q, m4)), _mm_and_si128(_mm_srli_epi16(q, 4), m4),
                                 1);
}

struct Q80Values {
  static constexpr size_t kBytes = 34;
  static constexpr float kOffset = 128.0f;
  __m256i operator()(const uint8_t* blk) const {
    return _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2)),
                            _mm256_set1_epi8(static_cast<char>(0x80)));
  }
};

struct Q40Values {
  static constexpr size_t kBytes = 18;
  static constexpr float kOffset = 8.0f;
  __m256i operator()(const uint8_t* blk) const { return nibbles32(blk + 2); }
};

struct Q50Values {
  static constexpr size_t kBytes = 22;
  static constexpr float kOffset = 16.0f;
  __m256i operator()(const uint8_t* blk) const {
    const __m256i lo = nibbles32(blk + 6);
    return _mm256_mask_add_epi8(lo, static_cast<__mmask32>(quant::load_u32(blk + 2)), lo,
                                _mm256_set1_epi8(0x10));  // bit i of qh: + 16
  }
};

// The fp16 scales d of `n` (at most 8) consecutive 32-blocks of `bb` bytes as 8 floats (0 past n).
// A whole chunk by register inserts: 8 narrow stores and one wide load would miss store forwarding.
inline __m256 block_scales8(const uint8_t* blk, size_t bb, int64_t n) {
  __m128i h = _mm_setzero_si128();
  if (n == 8) {
    h = _mm_insert_epi16(h, quant::load_u16(blk), 0);
    h = _mm_insert_epi16(h, quant::load_u16(blk + bb), 1);
    h = _mm_insert_epi16(h, quant::load_u16(blk + 2 * bb), 2);
    h = _mm_insert_epi16(h, quant::load_u16(blk + 3 * bb), 3);
    h = _mm_insert_epi16(h, quant::load_u16(blk + 4 * bb), 4);
    h = _mm_insert_epi16(h, quant::load_u16(blk + 5 * bb), 5);
    h = _mm_insert_epi16(h, quant::load_u16(blk + 6 * bb), 6);
    h = _mm_insert_epi16(h, quant::load_u16(blk + 7 * bb), 7);
  } else {  // a row's last, shorter chunk
    alignas(16) uint16_t d16[8] = {};
    for (int64_t k = 0; k < n; ++k) d16[k] = quant::load_u16(blk + k * bb);
    h = _mm_load_si128(reinterpret_cast<const __m128i*>(d16));
  }
  return _mm256_cvtph_ps(h);
}

}  // namespace schwarm::cpu

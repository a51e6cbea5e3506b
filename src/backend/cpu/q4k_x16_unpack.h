#pragma once
// One group-block of the Q4_K x16 layout (q4k_x16.h) unpacked for its 16 rows at once: d and dmin
// as floats, the 6-bit scales and mins as the bytes of 32-bit lanes (sc[0] / mn[0]: sub-blocks
// 0-3, sc[1] / mn[1]: 4-7), as quant::unpack_k4_scales does for one row. Shared by the repacked
// gemv (kernels_vnni.cpp) and the GEMM's packing from this layout (kernels_vnni_panel.cpp);
// include it inside their AVX-512 target region.
#include <immintrin.h>

#include <cstdint>

#include "backend/cpu/q4k_x16.h"

namespace schwarm::cpu {

struct Q4kX16Scales {
  __m512 d, dmin;
  __m512i sc[2], mn[2];
};

inline Q4kX16Scales load_q4k_x16_scales(const uint8_t* blk) {
  const __m512i lo4 = _mm512_set1_epi8(0x0F), m6 = _mm512_set1_epi8(0x3F), m30 = _mm512_set1_epi8(0x30);
  // Words a, b, c of the 12 scale bytes, one lane per row.
  const __m512i wa = _mm512_loadu_si512(blk + kQ4kX16Scales), wb = _mm512_loadu_si512(blk + kQ4kX16Scales + 64),
                wc = _mm512_loadu_si512(blk + kQ4kX16Scales + 128);
  Q4kX16Scales s;
  s.d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
  s.dmin = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 32)));
  s.sc[0] = _mm512_and_si512(wa, m6);
  s.sc[1] = _mm512_or_si512(_mm512_and_si512(wc, lo4), _mm512_and_si512(_mm512_srli_epi32(wa, 2), m30));
  s.mn[0] = _mm512_and_si512(wb, m6);
  s.mn[1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(wc, 4), lo4),
                            _mm512_and_si512(_mm512_srli_epi32(wb, 2), m30));
  return s;
}

// Byte `byte` (0-3) of each 32-bit lane, as int32: sub-block 4 k + byte's scale or min from sc[k] / mn[k].
inline __m512i byte_lanes(__m512i words, int byte) {
  return byte == 3 ? _mm512_srli_epi32(words, 24)
                   : _mm512_and_si512(_mm512_srli_epi32(words, 8 * byte), _mm512_set1_epi32(0xFF));
}

}  // namespace schwarm::cpu

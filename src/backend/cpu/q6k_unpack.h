#pragma once
// Q6_K's 6-bit values of one half-block (128 elements) as two 64-byte registers, in element order:
// lo = elements 0-63 (low nibbles of ql, qh bits at shifts 0 / 2), hi = elements 64-127 (high
// nibbles, shifts 4 / 6). The 32 bytes of qh are duplicated into both halves of a register and
// shifted per 16-bit lane. Shared by the integer gemv (kernels_vnni.cpp) and the integer GEMM's
// packing (kernels_vnni_panel.cpp); include it inside their AVX-512 target region.
#include <immintrin.h>

#include <cstdint>

namespace schwarm::cpu {

inline void q6k_unpack_half(const uint8_t* blk, int h, __m512i& lo, __m512i& hi) {
  const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
  // qh bits for elements 0-31 / 32-63 / 64-95 / 96-127 of a half: shifts 0 / 2 / 4 / 6.
  const __m512i sh_lo = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
  const __m512i sh_hi = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(6), 1);
  const __m512i ql = _mm512_loadu_si512(blk + 64 * h);
  const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 128 + 32 * h)));
  lo = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_slli_epi16(_mm512_srlv_epi16(qh, sh_lo), 4), m30));
  hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                       _mm512_and_si512(_mm512_slli_epi16(_mm512_srlv_epi16(qh, sh_hi), 4), m30));
}

}  // namespace schwarm::cpu

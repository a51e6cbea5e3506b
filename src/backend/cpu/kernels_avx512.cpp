// The AVX-512 kernel table (F + BW + VL: 16 float lanes). Compiled for that target by a pragma
// after every header is included, so inline functions from headers (emitted as shared COMDAT
// copies) stay baseline x86-64 and only this file's own code uses AVX-512.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "backend/cpu/kernels.h"
#include "quant/block_io.h"
#include "quant/k_scales.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,fma,f16c")
// GCC 12 reports its own AVX-512 intrinsics' undefined pass-through operands (a known false
// positive when they are compiled under a target pragma).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "backend/cpu/kernels_simd.h"

namespace schwarm::cpu {
namespace {

struct V512 {
  static constexpr int W = 16;
  using F = __m512;
  using I = __m512i;
  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float v) { return _mm512_set1_ps(v); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F fmsub(F a, F b, F c) { return _mm512_fmsub_ps(a, b, c); }
  static I u8(const uint8_t* p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static I i8(const uint8_t* p) { return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static I and_i(I a, int m) { return _mm512_and_si512(a, _mm512_set1_epi32(m)); }
  static I or_i(I a, I b) { return _mm512_or_si512(a, b); }
  static I sub_i(I a, int v) { return _mm512_sub_epi32(a, _mm512_set1_epi32(v)); }
  static I srl(I a, int n) { return _mm512_srl_epi32(a, _mm_cvtsi32_si128(n)); }
  static I sll(I a, int n) { return _mm512_sll_epi32(a, _mm_cvtsi32_si128(n)); }
  static F cvt(I a) { return _mm512_cvtepi32_ps(a); }
  static I set_i(int v) { return _mm512_set1_epi32(v); }
  static I as_i(F a) { return _mm512_castps_si512(a); }
  static F as_f(I a) { return _mm512_castsi512_ps(a); }
  // Lanes where a < v (a == v) take t, the others f.
  static I blend_lt(I a, int v, I t, I f) { return _mm512_mask_blend_epi32(_mm512_cmplt_epi32_mask(a, set_i(v)), f, t); }
  static I blend_eq(I a, int v, I t, I f) { return _mm512_mask_blend_epi32(_mm512_cmpeq_epi32_mask(a, set_i(v)), f, t); }
  static F f16(const uint8_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static F bf16(const uint8_t* p) {
    const __m512i h = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(h, 16));
  }
  // Through memory: GCC 12's lane-extracting intrinsics trip -Wuninitialized (their undefined
  // pass-through operand); this runs once per output, off the hot loop.
  static float hsum(F v) {
    alignas(64) float t[16];
    _mm512_store_ps(t, v);
    for (int w = 8; w > 0; w /= 2)
      for (int j = 0; j < w; ++j) t[j] += t[j + w];
    return t[0];
  }
};

}  // namespace

const KernelTable* avx512_kernel_table() { return simd::Kernels<V512>::table(Isa::Avx512); }

}  // namespace schwarm::cpu

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif
#else
namespace schwarm::cpu {
const KernelTable* avx512_kernel_table() { return nullptr; }
}  // namespace schwarm::cpu
#endif

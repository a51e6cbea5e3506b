// The AVX2 + FMA + F16C kernel table (8 float lanes). Compiled for that target by a pragma after
// every header is included (see kernels_avx512.cpp for why).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "backend/cpu/kernels.h"
#include "quant/block_io.h"
#include "quant/k_scales.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif
#include "backend/cpu/kernels_simd.h"

namespace schwarm::cpu {
namespace {

struct V256 {
  static constexpr int W = 8;
  using F = __m256;
  using I = __m256i;
  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float v) { return _mm256_set1_ps(v); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F fmsub(F a, F b, F c) { return _mm256_fmsub_ps(a, b, c); }
  static I u8(const uint8_t* p) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))); }
  static I i8(const uint8_t* p) { return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))); }
  static I and_i(I a, int m) { return _mm256_and_si256(a, _mm256_set1_epi32(m)); }
  static I or_i(I a, I b) { return _mm256_or_si256(a, b); }
  static I sub_i(I a, int v) { return _mm256_sub_epi32(a, _mm256_set1_epi32(v)); }
  static I srl(I a, int n) { return _mm256_srl_epi32(a, _mm_cvtsi32_si128(n)); }
  static I sll(I a, int n) { return _mm256_sll_epi32(a, _mm_cvtsi32_si128(n)); }
  static I srlv(I a, I n) { return _mm256_srlv_epi32(a, n); }
  static I lanes_from(int e) { return _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), set_i(e)); }
  static F cvt(I a) { return _mm256_cvtepi32_ps(a); }
  static I set_i(int v) { return _mm256_set1_epi32(v); }
  static I as_i(F a) { return _mm256_castps_si256(a); }
  static F as_f(I a) { return _mm256_castsi256_ps(a); }
  // Lanes where a < v (a == v) take t, the others f.
  static I blend_lt(I a, int v, I t, I f) { return _mm256_blendv_epi8(f, t, _mm256_cmpgt_epi32(set_i(v), a)); }
  static I blend_eq(I a, int v, I t, I f) { return _mm256_blendv_epi8(f, t, _mm256_cmpeq_epi32(a, set_i(v))); }
  static F f16(const uint8_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static F bf16(const uint8_t* p) {
    const __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(h, 16));
  }
  static float hsum(F v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

}  // namespace

const KernelTable* avx2_kernel_table() { return simd::Kernels<V256>::table(Isa::Avx2); }

}  // namespace schwarm::cpu

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#else
namespace schwarm::cpu {
const KernelTable* avx2_kernel_table() { return nullptr; }
}  // namespace schwarm::cpu
#endif

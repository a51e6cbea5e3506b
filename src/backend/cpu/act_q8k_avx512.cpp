// quant::quantize_act_q8k with AVX-512, bit for bit: the same float operations per element
// (x · (127 / amax), + 1.5·2^23, − 1.5·2^23), each rounded on its own — the explicit-rounding
// intrinsics keep the compiler from fusing the multiply and add into an FMA, which would round
// once and change ties. Used by the integer kernels' activation preparation (prepare_q8_act_rows);
// tests/unit/cpu_act_q8k_test.cpp holds it to the scalar routine.
#include <algorithm>
#include <cstdint>
#include <limits>

#include "backend/cpu/kernels.h"
#include "quant/act_q8k.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#include "backend/cpu/isa_target_push.h"  // NOLINT(build/include)

namespace schwarm::cpu {
namespace {

constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

void quantize_act_q8k_avx512(const float* x, int64_t cols, int8_t* q, float* d, int16_t* bsum16) {
  const __m512i abs_mask = _mm512_set1_epi32(0x7FFFFFFF), exp_mask = _mm512_set1_epi32(0x7F800000);
  for (int64_t b = 0; b < quant::act_q8k_blocks(cols); ++b) {
    const float* xb = x + b * quant::kActBlock;
    int8_t* qb = q + b * quant::kActBlock;
    const int64_t len = std::min(quant::kActBlock, cols - b * quant::kActBlock);  // a multiple of 32
    __m512 vmax = _mm512_setzero_ps();
    __mmask16 nonfinite = 0;
    for (int64_t i = 0; i < len; i += 16) {
      const __m512i v = _mm512_castps_si512(_mm512_loadu_ps(xb + i));
      nonfinite |= _mm512_cmpeq_epi32_mask(_mm512_and_si512(v, exp_mask), exp_mask);
      vmax = _mm512_max_ps(vmax, _mm512_castsi512_ps(_mm512_and_si512(v, abs_mask)));
    }
    const float amax = _mm512_reduce_max_ps(vmax);  // exact: max is order-free over finite values
    if (nonfinite != 0 || amax == 0.0f) {
      // A NaN or infinite activation poisons its block (d = NaN); a zero block is d = 0.
      for (int64_t i = 0; i < len; ++i) qb[i] = 0;
      for (int64_t j = 0; j < len / 16; ++j) bsum16[b * (quant::kActBlock / 16) + j] = 0;
      d[b] = nonfinite != 0 ? std::numeric_limits<float>::quiet_NaN() : 0.0f;
      continue;
    }
    const float inv = 127.0f / amax;
    const __m512 vinv = _mm512_set1_ps(inv), magic = _mm512_set1_ps(12582912.0f);
    const __m512 lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
    for (int64_t i = 0; i < len; i += 16) {
      const __m512 p = _mm512_mul_round_ps(_mm512_loadu_ps(xb + i), vinv, kRound);
      __m512 r = _mm512_sub_round_ps(_mm512_add_round_ps(p, magic, kRound), magic, kRound);
      // NaN only where 127 / amax overflowed and x = 0: q = 0 there (quant/act_q8k.cpp).
      r = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(r, r, _CMP_ORD_Q), r);
      const __m512i qi = _mm512_cvttps_epi32(_mm512_min_ps(_mm512_max_ps(r, lo), hi));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(qb + i), _mm512_cvtepi32_epi8(qi));
      bsum16[b * (quant::kActBlock / 16) + i / 16] = static_cast<int16_t>(_mm512_reduce_add_epi32(qi));
    }
    d[b] = amax / 127.0f;
  }
}

}  // namespace

ActQuantizeFn act_quantizer_avx512() { return quantize_act_q8k_avx512; }

}  // namespace schwarm::cpu

#include "backend/cpu/isa_target_pop.h"  // NOLINT(build/include)
#else
namespace schwarm::cpu {
ActQuantizeFn act_quantizer_avx512() { return nullptr; }
}  // namespace schwarm::cpu
#endif

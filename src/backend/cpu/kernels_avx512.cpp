// The AVX-512 kernel table (F + BW + VL: 16 float lanes). Compiled for that target by a pragma
// after every header is included, so inline functions from headers (emitted as shared COMDAT
// copies) stay baseline x86-64 and only this file's own code uses AVX-512.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "backend/cpu/kernels.h"
#include "quant/block_io.h"
#include "quant/k_scales.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#include "backend/cpu/isa_target_push.h"  // NOLINT(build/include)
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
  static I srlv(I a, I n) { return _mm512_srlv_epi32(a, n); }
  static I lanes_from(int e) {
    return _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), set_i(e));
  }
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

// A decode (gemv, n <= kGemvMaxTokens) kernel for Q4_K that does less work per weight than the
// generic decode-into-DotSink path (the peer table keeps that one, see peer_gemv_table in
// kernels.h; figures in docs/PERFORMANCE.md): a sub-block's 16 possible values dl * q - ml
// (q = 0..15) are computed once, as a 16-float table, with the same fused multiply-subtract as the
// decoder (so each weight is the registry's value bit for bit); vpermps then turns 16 nibbles into
// their floats in one instruction (it reads only an index's low 4 bits, so the low nibble needs no
// mask), instead of mask/shift + int-to-float convert + multiply-subtract per 16 weights. 4
// accumulator chains per token where R * NT <= 4.
// Tried and dropped (not faster on the machine of the figures): two rows per pass sharing the
// activation loads (R = 2, still compilable), Q8_0 with 4 accumulator chains per token, Q6_K as
// dsc * q - 32 dsc with 4 chains.
namespace fast {

inline void prefetch_next(const uint8_t* next, size_t bytes) {
  for (size_t o = 0; o < std::min<size_t>(bytes, 4096); o += 64) __builtin_prefetch(next + o);
}

template <int R, int NT, int S>
inline void store_sums(__m512 (&acc)[R][NT][S], float* y, int64_t ldy) {
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < NT; ++t) {
      __m512 s = acc[r][t][0];
      for (int c = 1; c < S; ++c) s = _mm512_add_ps(s, acc[r][t][c]);
      y[t * ldy + r] = _mm512_reduce_add_ps(s);
    }
}

template <int R, int NT>
inline void q4k_block(const uint8_t* w, size_t rb, int64_t cols, const float* x, float* y, int64_t ldy) {
  constexpr int S = R * NT <= 4 ? 4 : 2;
  const __m512 iota = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  __m512 acc[R][NT][S];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < NT; ++t)
      for (int c = 0; c < S; ++c) acc[r][t][c] = _mm512_setzero_ps();
  for (int64_t i = 0, bo = 0; i < cols; i += 256, bo += 144) {
    __m512 tab[R][8];
    for (int r = 0; r < R; ++r) {
      const uint8_t* b = w + r * rb + bo;
      const float d = quant::load_fp16(b), dmin = quant::load_fp16(b + 2);
      uint8_t sc[8], mn[8];
      quant::unpack_k4_scales(b + 4, sc, mn);
      for (int s = 0; s < 8; ++s)
        tab[r][s] = _mm512_fmsub_ps(_mm512_set1_ps(d * static_cast<float>(sc[s])), iota,
                                    _mm512_set1_ps(dmin * static_cast<float>(mn[s])));
    }
    for (int p = 0; p < 4; ++p)
      for (int l = 0; l < 32; l += 16) {
        __m512 x0[NT], x1[NT];
        for (int t = 0; t < NT; ++t) {
          x0[t] = _mm512_loadu_ps(x + t * cols + i + 64 * p + l);
          x1[t] = _mm512_loadu_ps(x + t * cols + i + 64 * p + 32 + l);
        }
        const int c0 = S == 4 ? (l / 16) * 2 : 0;
        for (int r = 0; r < R; ++r) {
          const __m512i q = _mm512_cvtepu8_epi32(
              _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + r * rb + bo + 16 + 32 * p + l)));
          const __m512 w0 = _mm512_permutexvar_ps(q, tab[r][2 * p]);
          const __m512 w1 = _mm512_permutexvar_ps(_mm512_srli_epi32(q, 4), tab[r][2 * p + 1]);
          for (int t = 0; t < NT; ++t) {
            acc[r][t][c0] = _mm512_fmadd_ps(w0, x0[t], acc[r][t][c0]);
            acc[r][t][c0 + 1] = _mm512_fmadd_ps(w1, x1[t], acc[r][t][c0 + 1]);
          }
        }
      }
  }
  store_sums(acc, y, ldy);
}

// One row per pass (two rows sharing the activation loads measured slower here: R = 2 is kept
// compilable for the next try), prefetching the whole next row (up to 4 KiB).
template <int NT, class Blk>
inline void rows(Blk blk, const uint8_t* w, size_t rb, int64_t nr, int64_t cols, const float* x, float* y,
                 int64_t ldy) {
  for (int64_t r = 0; r < nr; ++r) {
    const uint8_t* row = w + static_cast<size_t>(r) * rb;
    if (r + 1 < nr) prefetch_next(row + rb, rb);
    blk(row, rb, cols, x, y + r, ldy);
  }
}

template <int NT>
bool gemv_nt(TensorType type, const uint8_t* w, size_t rb, int64_t nr, int64_t cols, const float* x, float* y,
             int64_t ldy) {
  switch (type) {
    case TensorType::Q4_K: rows<NT>(q4k_block<1, NT>, w, rb, nr, cols, x, y, ldy); return true;
    default: return false;
  }
}

}  // namespace fast

using Generic = simd::Kernels<V512>;

// e^x, 16 lanes (Cephes' expf: x = n ln2 + r, |r| <= ln2 / 2, a degree-6 polynomial, times 2^n by
// scalef): within 2 ulp of std::exp; NaN stays NaN, large |x| saturates to inf / 0.
inline __m512 exp16(__m512 x) {
  // max/min return their second operand when one is NaN: the clamp keeps a NaN x.
  x = _mm512_min_ps(_mm512_set1_ps(88.7228f), _mm512_max_ps(_mm512_set1_ps(-103.97f), x));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

void swiglu(const float* g, const float* u, float* h, int64_t n) {
  int64_t i = 0;
  const __m512 one = _mm512_set1_ps(1.0f);
  for (; i + 16 <= n; i += 16) {
    const __m512 gv = _mm512_loadu_ps(g + i);
    const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), gv));
    _mm512_storeu_ps(h + i, _mm512_mul_ps(_mm512_div_ps(gv, _mm512_add_ps(one, e)), _mm512_loadu_ps(u + i)));
  }
  scalar_swiglu(g + i, u + i, h + i, n - i);
}

void softmax(float* s, int64_t n, float scale) {
  const __m512 sc = _mm512_set1_ps(scale);
  __m512 mx = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512 v = _mm512_mul_ps(_mm512_loadu_ps(s + j), sc);
    _mm512_storeu_ps(s + j, v);
    mx = _mm512_max_ps(mx, v);
  }
  float m = _mm512_reduce_max_ps(mx);
  for (; j < n; ++j) m = std::max(m, s[j] *= scale);
  const __m512 mv = _mm512_set1_ps(m);
  __m512 sum = _mm512_setzero_ps();
  for (j = 0; j + 16 <= n; j += 16) {
    const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(s + j), mv));
    _mm512_storeu_ps(s + j, e);
    sum = _mm512_add_ps(sum, e);
  }
  float total = _mm512_reduce_add_ps(sum);
  for (; j < n; ++j) total += s[j] = std::exp(s[j] - m);
  const float inv = 1.0f / total;
  for (j = 0; j + 16 <= n; j += 16) _mm512_storeu_ps(s + j, _mm512_mul_ps(_mm512_loadu_ps(s + j), _mm512_set1_ps(inv)));
  for (; j < n; ++j) s[j] *= inv;
}

bool gemv(TensorType type, const uint8_t* w, size_t row_bytes, int64_t nr, int64_t cols, const float* x, int64_t nt,
          float* y, int64_t ldy) {
  bool done;
  switch (nt) {
    case 1: done = fast::gemv_nt<1>(type, w, row_bytes, nr, cols, x, y, ldy); break;
    case 2: done = fast::gemv_nt<2>(type, w, row_bytes, nr, cols, x, y, ldy); break;
    case 3: done = fast::gemv_nt<3>(type, w, row_bytes, nr, cols, x, y, ldy); break;
    default: done = fast::gemv_nt<4>(type, w, row_bytes, nr, cols, x, y, ldy); break;
  }
  return done || Generic::gemv(type, w, row_bytes, nr, cols, x, nt, y, ldy);
}

}  // namespace

const KernelTable* avx512_kernel_table() {
  static const KernelTable t = [] {
    KernelTable k = *Generic::table(Isa::Avx512);
    k.gemv = gemv;
    k.swiglu = swiglu;
    k.softmax = softmax;
    return k;
  }();
  return &t;
}
const KernelTable* avx512_peer_kernel_table() { return Generic::table(Isa::Avx512); }

}  // namespace schwarm::cpu

#include "backend/cpu/isa_target_pop.h"  // NOLINT(build/include)
#else
namespace schwarm::cpu {
const KernelTable* avx512_kernel_table() { return nullptr; }
const KernelTable* avx512_peer_kernel_table() { return nullptr; }
}  // namespace schwarm::cpu
#endif

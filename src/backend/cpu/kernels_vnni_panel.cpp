// Prefill GEMM for the quantized-activations mode (AVX-512 VNNI): weights times many tokens'
// 8-bit activations, over the 8-bit weight panels of panel_pack.h (16 rows per group, packed once
// per call and reused by every token). The micro-kernel broadcasts 4 activation bytes of a token
// and multiplies them with 16 rows in one instruction (64 multiply-adds; the gemv kernels of
// kernels_vnni.cpp need two instructions for as many, to apply integer sub-block scales), and
// flushes each sub-block's 32-bit sums through its float scale; the offsets meet the
// activations' per-sub-block sums — for Q4_K / Q5_K, whose mins are independent of the scales,
// as integer dot products of the 6-bit mins with those sums once per block, scaled by dmin; for
// the others, whose offset is a fixed multiple of the scale, as the integer sums' start
// (-offset / scale × Σ q_a). Compiled for that target by isa_target_push.h.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "backend/cpu/k4_scales.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/q4k_x16.h"
#include "quant/act_q8k.h"
#include "quant/block_io.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define SCHWARM_TARGET_AVX512VNNI
#include "backend/cpu/isa_target_push.h"  // NOLINT(build/include)
#include "backend/cpu/panel_pack.h"

namespace schwarm::cpu {
namespace {

inline __m512i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// R groups (1 or 2) x T tokens (1..4) from token t0: y[t * ldy + 16 r + i] for i < rows - 16 r.
// SQ: column quads per sub-block (8: 32 columns, 4: 16).
// C: the type's offset in units of its scale (Q6_K 32, Q8_0 128, Q4_0 8, Q5_0 16), which then
// enters the integer sums as their start, -C × Σ q_a of the sub-block, instead of a float
// multiply-add per row group, token and sub-block; 0 for Q4_K / Q5_K, whose mins are independent
// of the scales: they meet the activations' sub-block sums once per block, as integers (four
// vpdpwssd of int16 pairs), scaled by dmin (multiplies share the vpdpbusd's pipes on Zen 4: in a
// loop of 64 independent vpdpbusd, 8 more float multiply-adds added ~12 % to its time).
template <int R, int T, int SQ, int C>
void panel_tile(const Panel (&p)[2], int64_t cols, const QActsView& a, int64_t t0, int64_t rows, float* y,
                int64_t ldy) {
  constexpr int64_t kSubPerBlock = 64 / SQ;
  const int64_t nsub = cols / (4 * SQ), nbd = quant::act_q8k_blocks(cols), n16 = cols / 16;
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nbd; ++b) {
    __m512 bacc[R][T];  // this block's Σ scale · isum (- dmin · Σ m · Σ q), times the activations' d at its end
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) bacc[r][t] = _mm512_setzero_ps();
    const int64_t ns = std::min(kSubPerBlock, nsub - b * kSubPerBlock);
    for (int64_t s = 0; s < ns; ++s) {
      const int64_t sb = b * kSubPerBlock + s;
      __m512i isum[R][T];
      for (int t = 0; t < T; ++t) {
        __m512i start = _mm512_setzero_si512();
        if constexpr (C != 0) start = offset_start<SQ, C>(a, t0 + t, sb, n16);
        for (int r = 0; r < R; ++r) isum[r][t] = start;
      }
      const int8_t* aq = a.q + t0 * cols + sb * 4 * SQ;
      for (int k = 0; k < SQ; ++k) {
        __m512i wv[R];
        for (int r = 0; r < R; ++r) wv[r] = _mm512_load_si512(p[r].q + (sb * SQ + k) * 64);
        for (int t = 0; t < T; ++t) {
          const __m512i av = broadcast4(aq + t * cols + 4 * k);
          for (int r = 0; r < R; ++r) isum[r][t] = _mm512_dpbusd_epi32(isum[r][t], wv[r], av);
        }
      }
      for (int r = 0; r < R; ++r) {
        const __m512 sc = _mm512_load_ps(p[r].scale + sb * kGroup);
        for (int t = 0; t < T; ++t) bacc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r][t]), sc, bacc[r][t]);
      }
    }
    if constexpr (C == 0) {  // Q4_K / Q5_K: rows of whole blocks, so the block has its 8 sub-blocks
      for (int t = 0; t < T; ++t) {
        __m512i pairs[4];
        act_pairs(a, t0 + t, b, n16, pairs);
        for (int r = 0; r < R; ++r) bacc[r][t] = minus_block_mins(p[r], b, pairs, bacc[r][t]);
      }
    }
    for (int t = 0; t < T; ++t) {
      const __m512 da = _mm512_set1_ps(a.d[(t0 + t) * nbd + b]);
      for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(bacc[r][t], da, acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r) {
    const int64_t valid = std::min<int64_t>(kGroup, rows - kGroup * r);
    const auto mask = static_cast<__mmask16>((1u << valid) - 1u);
    for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + (t0 + t) * ldy + kGroup * r, mask, acc[r][t]);
  }
}

// Tiles of 4 tokens, the last few of 3 where that avoids a tile of 1 or 2 (n = 4a + 3b for any
// n >= 6): a tile costs about as much with 1 token as with 4 (matmul_bench, Q4_K 768 x 2048 on a
// Zen 4 EPYC: n = 33 took 392-411 us against 361-393 for n = 32), and MoE experts in prefill see
// ~32 tokens each, so a 1-token tail adds ~10 % to their GEMM.
template <int R, int SQ, int C>
void panel_tokens(const Panel (&p)[2], int64_t cols, const QActsView& a, int64_t rows, float* y, int64_t ldy) {
  const int64_t rem = a.n % 4;
  const int64_t threes = a.n < 6 ? 0 : rem == 1 ? 3 : rem == 2 ? 2 : rem == 3 ? 1 : 0;
  const int64_t fours_end = a.n - 3 * threes - (a.n < 6 ? rem : 0);
  int64_t t0 = 0;
  for (; t0 < fours_end; t0 += 4) panel_tile<R, 4, SQ, C>(p, cols, a, t0, rows, y, ldy);
  for (int64_t i = 0; i < threes; ++i, t0 += 3) panel_tile<R, 3, SQ, C>(p, cols, a, t0, rows, y, ldy);
  switch (a.n - t0) {
    case 1: panel_tile<R, 1, SQ, C>(p, cols, a, t0, rows, y, ldy); break;
    case 2: panel_tile<R, 2, SQ, C>(p, cols, a, t0, rows, y, ldy); break;
    case 3: panel_tile<R, 3, SQ, C>(p, cols, a, t0, rows, y, ldy); break;
    default: break;
  }
}

template <int SQ, int C>
void vnni_groups(PackFn pack, const uint8_t* w, size_t rb, int64_t nr, int64_t cols, const QActsView& a, float* y,
                 int64_t ldy) {
  for_each_panel_pair(pack, w, rb, nr, cols, [&](const Panel (&p)[2], int64_t rows, int64_t g0) {
    if (rows > kGroup)
      panel_tokens<2, SQ, C>(p, cols, a, rows, y + g0, ldy);
    else
      panel_tokens<1, SQ, C>(p, cols, a, rows, y + g0, ldy);
  });
}

bool gemm_q8(TensorType type, const uint8_t* w, size_t rb, int64_t nr, int64_t cols, const QActsView& a, float* y,
             int64_t ldy) {
  return dispatch_panel_gemm(type, cols, [&]<int SQ, int C>(PackFn pack) {
    vnni_groups<SQ, C>(pack, w, rb, nr, cols, a, y, ldy);
  });
}

// Q4_K repacked (q4k_x16.h): nr a multiple of 16.
void gemm_q4k_x16(const uint8_t* w, int64_t nr, int64_t cols, const QActsView& a, float* y, int64_t ldy) {
  vnni_groups<8, 0>(pack_k4_x16, w, q4k_x16_row_bytes(cols), nr, cols, a, y, ldy);
}

}  // namespace

void add_vnni_panel_gemm(KernelTable& k) {
  k.has_gemm_q8 = has_gemm_q8;
  k.gemm_q8 = gemm_q8;
  k.gemm_q4k_x16 = gemm_q4k_x16;
}

}  // namespace schwarm::cpu

#include "backend/cpu/isa_target_pop.h"  // NOLINT(build/include)
#else
namespace schwarm::cpu {
void add_vnni_panel_gemm(KernelTable&) {}
}  // namespace schwarm::cpu
#endif

// Integer gemv kernels for the quantized-activations mode (quant/act_q8k.h): K-quant weights times
// 8-bit activations with AVX-512 BW + VNNI. Per 64 weights: the 4- or 6-bit values are unpacked to
// bytes, vpmaddubsw multiplies them with the activation bytes into 16-bit pair sums, and vpdpwssd
// multiplies those with the sub-block scales (16-bit lanes) into 32-bit sums: the whole 256-block
// is exact integer arithmetic, converted to float once per block (times d_weight * d_activation).
// Offsets (Q4_K's mins, Q6_K's -32) go through the activations' 16-element sums. The 32-block
// types (Q8_0, Q4_0, Q5_0) take rows of any whole number of 32s, one vpdpbusd per 64 weights and
// token with a float scale per block (block32_rows). Compiled for
// that target by a pragma after every header is included (see kernels_avx512.cpp).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "backend/cpu/k4_scales.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/q4k_x16.h"
#include "quant/act_q8k.h"
#include "quant/block_io.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define SCHWARM_TARGET_AVX512VNNI
#include "backend/cpu/isa_target_push.h"  // NOLINT(build/include)
#include "backend/cpu/block32_unpack.h"
#include "backend/cpu/q4k_x16_unpack.h"
#include "backend/cpu/q6k_unpack.h"

namespace schwarm::cpu {
namespace {

// Software prefetch kAhead bytes ahead of the block being multiplied, a cache line at a time
// as the block's own bytes are consumed (rows of an item are contiguous, so this runs into the
// next rows); past the item's end it is a harmless hint. 4 KiB: on a 2-core Zen 4 EPYC 2 KiB
// decoded ~15 % slower and 8 KiB ~10 % slower (docs/PERFORMANCE.md, decode on the EPYC).
constexpr size_t kAhead = 4096;
inline void prefetch_block(const uint8_t* blk, size_t bytes) {
  for (size_t o = 0; o < bytes; o += 64) __builtin_prefetch(blk + kAhead + o);
}

// The shared inner step: 128 weights as two registers of bytes (lo, hi) with their scale lanes,
// times 128 activation bytes at qa (+ t * cols for token t), into each token's 32-bit sums.
template <int NT>
inline void dot_128(__m512i (&isum)[NT], __m512i lo, __m512i hi, __m512i s_lo, __m512i s_hi, const int8_t* qa,
                    int64_t cols) {
  for (int t = 0; t < NT; ++t) {
    const int8_t* p = qa + t * cols;
    isum[t] = _mm512_dpwssd_epi32(isum[t], _mm512_maddubs_epi16(lo, _mm512_loadu_si512(p)), s_lo);
    isum[t] = _mm512_dpwssd_epi32(isum[t], _mm512_maddubs_epi16(hi, _mm512_loadu_si512(p + 64)), s_hi);
  }
}

// Q4_K rows x NT tokens. Activations come with each block's sub-blocks in the order
// 0, 2, 1, 3, 4, 6, 5, 7 (prepare_q8_acts), so that the low nibbles of a 64-byte load (sub-blocks
// 4j, 4j + 2) and its high nibbles (4j + 1, 4j + 3) each meet 64 contiguous activation bytes.
template <int NT>
void q4k_rows(const uint8_t* w, size_t rb, int64_t nr, int64_t cols, const QActsView& a, float* y, int64_t ldy) {
  const int64_t nb = cols / 256;
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  // Scale lanes: for load j, low nibbles -> sub-blocks 4j (words 0-15), 4j + 2 (16-31), high
  // nibbles -> 4j + 1, 4j + 3. The 8 scales sit in every 128-bit lane, so an in-lane byte shuffle
  // (vpshufb, cheaper than a cross-lane word permute) spreads them: control bytes (2s, 2s + 1).
  alignas(64) uint8_t ix[4][64];
  for (int j = 0; j < 2; ++j)
    for (int i = 0; i < 64; ++i) {
      const int s_lo = 4 * j + (i < 32 ? 0 : 2), s_hi = s_lo + 1;
      ix[2 * j][i] = static_cast<uint8_t>(2 * s_lo + i % 2);
      ix[2 * j + 1][i] = static_cast<uint8_t>(2 * s_hi + i % 2);
    }
  const __m512i idx[4] = {_mm512_load_si512(ix[0]), _mm512_load_si512(ix[1]), _mm512_load_si512(ix[2]),
                          _mm512_load_si512(ix[3])};
  // The mins meet the activations' per-sub-block sums, precomputed as floats d_a × Σ q (dsum32):
  // per block one 8-float product of (dmin × min_s) with each token's dsum32.
  for (int64_t r = 0; r < nr; ++r) {
    const uint8_t* row = w + static_cast<size_t>(r) * rb;
    __m512 acc[NT];
    __m256 accm[NT];  // Σ over blocks of (dmin × min_s) × (d_a × Σ q of sub-block s)
    for (int t = 0; t < NT; ++t) {
      acc[t] = _mm512_setzero_ps();
      accm[t] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* blk = row + b * 144;
      prefetch_block(blk, 144);
      const float d = quant::load_fp16(blk), dmin = quant::load_fp16(blk + 2);
      uint64_t sc8, mn8;
      unpack_k4_scales_u64(blk + 4, sc8, mn8);
      const __m512i scw = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(sc8))));
      const __m256 wmin = _mm256_mul_ps(
          _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(mn8)))),
          _mm256_set1_ps(dmin));
      __m512i isum[NT];
      for (int t = 0; t < NT; ++t) isum[t] = _mm512_setzero_si512();
      for (int j = 0; j < 2; ++j) {
        const __m512i q = _mm512_loadu_si512(blk + 16 + 64 * j);
        const __m512i lo = _mm512_and_si512(q, m4), hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
        const __m512i s_lo = _mm512_shuffle_epi8(scw, idx[2 * j]);
        const __m512i s_hi = _mm512_shuffle_epi8(scw, idx[2 * j + 1]);
        dot_128(isum, lo, hi, s_lo, s_hi, a.q + b * 256 + 128 * j, cols);
      }
      for (int t = 0; t < NT; ++t) {
        const float da = a.d[static_cast<size_t>(t * nb + b)];
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_set1_ps(d * da), acc[t]);
        accm[t] = _mm256_fmadd_ps(wmin, _mm256_loadu_ps(a.dsum32 + t * (cols / 32) + b * 8), accm[t]);
      }
    }
    for (int t = 0; t < NT; ++t) {
      alignas(32) float m[8];
      _mm256_store_ps(m, accm[t]);
      float ms = 0.0f;
      for (float v : m) ms += v;
      y[t * ldy + r] = _mm512_reduce_add_ps(acc[t]) - ms;
    }
  }
}

// Q6_K rows x NT tokens, activations in element order; per half of 128 elements, the values by
// q6k_unpack_half (elements 0-63 and 64-127 of the half, in order).
template <int NT>
void q6k_rows(const uint8_t* w, size_t rb, int64_t nr, int64_t cols, const QActsView& a, float* y, int64_t ldy) {
  const int64_t nb = cols / 256;
  // Scale lanes of half h: 128-bit lane L of lo (elements 16 L ..) -> sub-block 8h + L, of hi ->
  // 8h + 4 + L. The half's 8 scales sit in every 128-bit lane, spread by an in-lane byte shuffle.
  alignas(64) uint8_t ix[2][64];
  for (int i = 0; i < 64; ++i) {
    ix[0][i] = static_cast<uint8_t>(2 * (i / 16) + i % 2);
    ix[1][i] = static_cast<uint8_t>(2 * (4 + i / 16) + i % 2);
  }
  const __m512i idx_lo = _mm512_load_si512(ix[0]), idx_hi = _mm512_load_si512(ix[1]);
  for (int64_t r = 0; r < nr; ++r) {
    const uint8_t* row = w + static_cast<size_t>(r) * rb;
    __m512 acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* blk = row + b * 210;
      prefetch_block(blk, 210);
      const float d = quant::load_fp16(blk + 208);
      const __m256i scs = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192)));
      __m512i isum[NT];
      for (int t = 0; t < NT; ++t) isum[t] = _mm512_setzero_si512();
      for (int h = 0; h < 2; ++h) {
        __m512i lo, hi;
        q6k_unpack_half(blk, h, lo, hi);
        const __m512i scw =
            _mm512_broadcast_i32x4(h == 0 ? _mm256_castsi256_si128(scs) : _mm256_extracti128_si256(scs, 1));
        const __m512i s_lo = _mm512_shuffle_epi8(scw, idx_lo);
        const __m512i s_hi = _mm512_shuffle_epi8(scw, idx_hi);
        dot_128(isum, lo, hi, s_lo, s_hi, a.q + b * 256 + 128 * h, cols);
      }
      for (int t = 0; t < NT; ++t) {
        // Σ sc_j Σ (q - 32) a = Σ sc_j Σ q a - 32 Σ sc_j bsum_j
        const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsum + t * (cols / 16) + b * 16));
        const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(scs, bs), 5);
        const __m512i tot = _mm512_sub_epi32(isum[t], _mm512_zextsi256_si512(off));
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(tot), _mm512_set1_ps(d * a.d[static_cast<size_t>(t * nb + b)]), acc[t]);
      }
    }
    for (int t = 0; t < NT; ++t) y[t * ldy + r] = _mm512_reduce_add_ps(acc[t]);
  }
}

// The 32-block types (Q8_0, Q4_0, Q5_0) on rows of any whole number of 32s, activations in
// element order (the last 256-chunk may be shorter): per pair of blocks one register of values u
// (block32_unpack.h), vpdpbusd with 64 activation bytes gives each block's integer sum in 8 lanes,
// scaled by the blocks' d in float, a chunk's sum by the activation d. The offsets (w = d · (u −
// offset)) meet the activations' per-block sums d_a × Σ q (dsum32): one 8-float product per chunk.
template <int NT, class Values>
void block32_rows(const uint8_t* w, size_t rb, int64_t nr, int64_t cols, const QActsView& a, float* y, int64_t ldy) {
  const int64_t nsub = cols / 32, nb = quant::act_q8k_blocks(cols);
  constexpr size_t bb = Values::kBytes;
  constexpr Values u32{};
  alignas(64) int32_t ix[4][16];
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 16; ++i) ix[k][i] = 2 * k + i / 8;
  const __m512i idx[4] = {_mm512_load_si512(ix[0]), _mm512_load_si512(ix[1]), _mm512_load_si512(ix[2]),
                          _mm512_load_si512(ix[3])};
  const __m512i zero = _mm512_setzero_si512();
  for (int64_t r = 0; r < nr; ++r) {
    const uint8_t* row = w + static_cast<size_t>(r) * rb;
    __m512 acc[NT];
    __m256 acco[NT];  // Σ over blocks of d_w × (d_a × Σ q)
    for (int t = 0; t < NT; ++t) {
      acc[t] = _mm512_setzero_ps();
      acco[t] = _mm256_setzero_ps();
    }
    for (int64_t c = 0; c < nb; ++c) {
      const int64_t nblk = std::min<int64_t>(8, nsub - 8 * c);
      const uint8_t* blk = row + static_cast<size_t>(8 * c) * bb;
      prefetch_block(blk, static_cast<size_t>(nblk) * bb);
      const __m256 dw8 = block_scales8(blk, bb, nblk);
      const __m512 dw = _mm512_castps256_ps512(dw8);
      __m512 part[NT];
      for (int t = 0; t < NT; ++t) part[t] = _mm512_setzero_ps();
      // Blocks 2k and 2k + 1 (`pair`; else 2k alone, a row's last block: 32 bytes of activations).
      const auto pair_step = [&](int64_t k, bool pair) {
        const __m256i lo = u32(blk + 2 * k * bb), hi = pair ? u32(blk + (2 * k + 1) * bb) : _mm256_setzero_si256();
        const __m512i u = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
        const __m512 sc = _mm512_permutexvar_ps(idx[k], dw);
        for (int t = 0; t < NT; ++t) {
          const int8_t* x = a.q + t * cols + c * 256 + 64 * k;
          const __m512i xv = pair ? _mm512_loadu_si512(x)
                                  : _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)));
          part[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, u, xv)), sc, part[t]);
        }
      };
      if (nblk == 8) {  // a whole chunk: a fixed loop the compiler unrolls
        for (int64_t k = 0; k < 4; ++k) pair_step(k, true);
      } else {
        for (int64_t k = 0; 2 * k < nblk; ++k) pair_step(k, 2 * k + 1 < nblk);
      }
      const auto m8 = static_cast<__mmask8>((1u << nblk) - 1u);
      for (int t = 0; t < NT; ++t) {
        acc[t] = _mm512_fmadd_ps(part[t], _mm512_set1_ps(a.d[t * nb + c]), acc[t]);
        acco[t] = _mm256_fmadd_ps(dw8, _mm256_maskz_loadu_ps(m8, a.dsum32 + t * nsub + 8 * c), acco[t]);
      }
    }
    for (int t = 0; t < NT; ++t) {
      alignas(32) float o[8];
      _mm256_store_ps(o, acco[t]);
      float os = 0.0f;
      for (float v : o) os += v;
      y[t * ldy + r] = _mm512_reduce_add_ps(acc[t]) - Values::kOffset * os;
    }
  }
}

// Q4_K repacked in groups of 16 rows (q4k_x16.h) x NT tokens (1..4), the 16 rows in the 16
// lanes. Each 64-byte register of qs gives sub-block 2p's values (low nibbles) and 16 x sub-block
// 2p + 1's (the high nibbles masked in place: one instruction instead of a shift and a mask; the
// 16 leaves the sub-block's sum by one shift), each multiplied with 4 activation bytes broadcast
// by one vpdpbusd; per sub-block the 16 rows' 32-bit sums are scaled lane-wise by their 6-bit
// scales (vpmulld) into one exact integer per row and block, converted to float once per block.
// The mins meet the activations' per-sub-block sums (dsum32) as in q4k_rows, also lane-wise.
// No software prefetch: each item is one contiguous run, which the hardware prefetchers follow;
// from memory (2 threads, matmul_bench) prefetching 2, 4, 8 or 16 KiB ahead was 10-30 % slower
// than none on a Zen 4 EPYC.
constexpr int kK4Slot[8] = {0, 2, 1, 3, 4, 6, 5, 7};  // sub-block -> its 32 bytes' slot in the activations

template <int NT>
void q4k_x16_rows(const uint8_t* w, int64_t nr, int64_t cols, const QActsView& a, float* y, int64_t ldy) {
  const int64_t nb = cols / 256, n32 = cols / 32;
  // One token has two chains per sub-block pair, too few to hide vpdpbusd's latency: split each.
  constexpr int kChains = NT == 1 ? 2 : 1;
  const __m512i lo4 = _mm512_set1_epi8(0x0F), hi4 = _mm512_set1_epi8(static_cast<char>(0xF0));
  for (int64_t g = 0; g < nr / kQ4kX16Rows; ++g) {
    const uint8_t* gp = w + static_cast<size_t>(g * nb) * kQ4kX16BlockBytes;
    __m512 acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* blk = gp + static_cast<size_t>(b) * kQ4kX16BlockBytes;
      const Q4kX16Scales k4 = load_q4k_x16_scales(blk);
      const int8_t* aq = a.q + b * 256;
      __m512i tot[NT];
      for (int t = 0; t < NT; ++t) tot[t] = _mm512_setzero_si512();
      for (int p = 0; p < 4; ++p) {
        const int8_t* ae = aq + 32 * kK4Slot[2 * p];
        const int8_t* ao = aq + 32 * kK4Slot[2 * p + 1];
        __m512i se[kChains][NT], so[kChains][NT];
        for (int c = 0; c < kChains; ++c)
          for (int t = 0; t < NT; ++t) se[c][t] = so[c][t] = _mm512_setzero_si512();
        for (int q = 0; q < 8; ++q) {
          const __m512i v = _mm512_loadu_si512(blk + kQ4kX16Qs + 64 * (8 * p + q));
          const __m512i lo = _mm512_and_si512(v, lo4), hi = _mm512_and_si512(v, hi4);
          const int c = q % kChains;
          for (int t = 0; t < NT; ++t) {
            int32_t ve, vo;
            std::memcpy(&ve, ae + t * cols + 4 * q, 4);
            std::memcpy(&vo, ao + t * cols + 4 * q, 4);
            se[c][t] = _mm512_dpbusd_epi32(se[c][t], lo, _mm512_set1_epi32(ve));
            so[c][t] = _mm512_dpbusd_epi32(so[c][t], hi, _mm512_set1_epi32(vo));
          }
        }
        const __m512i s_even = byte_lanes(k4.sc[p / 2], (2 * p) % 4);
        const __m512i s_odd = byte_lanes(k4.sc[p / 2], (2 * p + 1) % 4);
        for (int t = 0; t < NT; ++t) {
          __m512i e = se[0][t], o = so[0][t];
          if constexpr (kChains == 2) {
            e = _mm512_add_epi32(e, se[1][t]);
            o = _mm512_add_epi32(o, so[1][t]);
          }
          tot[t] = _mm512_add_epi32(tot[t], _mm512_add_epi32(_mm512_mullo_epi32(e, s_even),
                                                             _mm512_mullo_epi32(_mm512_srai_epi32(o, 4), s_odd)));
        }
      }
      __m512 msum[NT];  // Σ_s min_s × (d_a × Σ q of sub-block s), per row
      for (int t = 0; t < NT; ++t) msum[t] = _mm512_setzero_ps();
      for (int s = 0; s < 8; ++s) {
        const __m512 m = _mm512_cvtepi32_ps(byte_lanes(k4.mn[s / 4], s % 4));
        for (int t = 0; t < NT; ++t)
          msum[t] = _mm512_fmadd_ps(m, _mm512_set1_ps(a.dsum32[t * n32 + b * 8 + s]), msum[t]);
      }
      for (int t = 0; t < NT; ++t) {
        const __m512 dd = _mm512_mul_ps(k4.d, _mm512_set1_ps(a.d[t * nb + b]));
        acc[t] = _mm512_fnmadd_ps(k4.dmin, msum[t], _mm512_fmadd_ps(_mm512_cvtepi32_ps(tot[t]), dd, acc[t]));
      }
    }
    for (int t = 0; t < NT; ++t) _mm512_storeu_ps(y + t * ldy + g * kQ4kX16Rows, acc[t]);
  }
}

void gemv_q4k_x16(const uint8_t* w, int64_t nr, int64_t cols, const QActsView& a, float* y, int64_t ldy) {
  for (int64_t t0 = 0; t0 < a.n; t0 += 4) {
    QActsView part = a;
    part.q += t0 * cols;
    part.d += t0 * (cols / 256);
    part.dsum32 += t0 * (cols / 32);
    part.bsum += t0 * (cols / 16);
    part.n = std::min<int64_t>(4, a.n - t0);
    float* yt = y + t0 * ldy;
    switch (part.n) {
      case 1: q4k_x16_rows<1>(w, nr, cols, part, yt, ldy); break;
      case 2: q4k_x16_rows<2>(w, nr, cols, part, yt, ldy); break;
      case 3: q4k_x16_rows<3>(w, nr, cols, part, yt, ldy); break;
      default: q4k_x16_rows<4>(w, nr, cols, part, yt, ldy); break;
    }
  }
}

bool has_gemv_q8(TensorType type) {
  switch (type) {
    case TensorType::Q4_K:
    case TensorType::Q6_K:
    case TensorType::Q8_0:
    case TensorType::Q4_0:
    case TensorType::Q5_0: return true;
    default: return false;
  }
}

template <int NT>
bool gemv_q8_nt(TensorType type, const uint8_t* w, size_t rb, int64_t nr, int64_t cols, const QActsView& a, float* y,
                int64_t ldy) {
  switch (type) {
    case TensorType::Q4_K: q4k_rows<NT>(w, rb, nr, cols, a, y, ldy); return true;
    case TensorType::Q6_K: q6k_rows<NT>(w, rb, nr, cols, a, y, ldy); return true;
    case TensorType::Q8_0: block32_rows<NT, Q80Values>(w, rb, nr, cols, a, y, ldy); return true;
    case TensorType::Q4_0: block32_rows<NT, Q40Values>(w, rb, nr, cols, a, y, ldy); return true;
    case TensorType::Q5_0: block32_rows<NT, Q50Values>(w, rb, nr, cols, a, y, ldy); return true;
    default: return false;
  }
}

bool gemv_q8(TensorType type, const uint8_t* w, size_t rb, int64_t nr, int64_t cols, const QActsView& a, float* y,
             int64_t ldy) {
  switch (a.n) {
    case 1: return gemv_q8_nt<1>(type, w, rb, nr, cols, a, y, ldy);
    case 2: return gemv_q8_nt<2>(type, w, rb, nr, cols, a, y, ldy);
    case 3: return gemv_q8_nt<3>(type, w, rb, nr, cols, a, y, ldy);
    case 4: return gemv_q8_nt<4>(type, w, rb, nr, cols, a, y, ldy);
    case 8: return gemv_q8_nt<8>(type, w, rb, nr, cols, a, y, ldy);
    default: return false;
  }
}

}  // namespace

const KernelTable* avx512_vnni_kernel_table() {
  static const KernelTable t = [] {
    KernelTable k = *avx512_kernel_table();
    k.isa = Isa::Avx512Vnni;
    k.has_gemv_q8 = has_gemv_q8;
    k.gemv_q8 = gemv_q8;
    k.gemv_q4k_x16 = gemv_q4k_x16;
    add_vnni_panel_gemm(k);
    k.quantize_act = act_quantizer_avx512();
    return k;
  }();
  return &t;
}

// The previous prefill path of the quantized-activations mode (gemv_q8 8 tokens at a time): the
// peer of bench/matmul_bench's ratios and a second implementation for the parity test.
const KernelTable* avx512_vnni_peer_kernel_table() {
  static const KernelTable t = [] {
    KernelTable k = *avx512_vnni_kernel_table();
    k.has_gemm_q8 = nullptr;
    k.gemm_q8 = nullptr;
    k.gemv_q4k_x16 = nullptr;
    k.gemm_q4k_x16 = nullptr;
    return k;
  }();
  return &t;
}

}  // namespace schwarm::cpu

#include "backend/cpu/isa_target_pop.h"  // NOLINT(build/include)
#else
namespace schwarm::cpu {
const KernelTable* avx512_vnni_kernel_table() { return nullptr; }
const KernelTable* avx512_vnni_peer_kernel_table() { return nullptr; }
}  // namespace schwarm::cpu
#endif

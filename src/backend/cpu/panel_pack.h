#pragma once
// The 8-bit weight panels of the quantized-activations GEMM, shared by its two micro-kernels
// (kernels_vnni_panel.cpp: AVX-512 VNNI; kernels_amx_panel.cpp: AMX-INT8 tiles). A group of 16
// weight rows is unpacked once per call into an 8-bit panel laid out for vpdpbusd — for every 4
// consecutive columns one 64-byte row holds the 16 rows' 4 values, which is also the layout of an
// AMX B tile (K/4 rows of 16 columns x 4 bytes) — with a float scale and offset per row and
// sub-block (32 columns; 16 for Q6_K), so that w = scale · u − offset (u in 0..255):
//   Q4_K: u = the 4-bit value, scale = d · sc, offset = dmin · m (sub-blocks in the activations'
//         order 0 2 1 3 4 6 5 7, which is the order of low and high nibbles in 64-byte loads;
//         the mins in element order)
//   Q5_K: as Q4_K with the 5th bit from qh
//   Q6_K: u = the 6-bit value, scale = d · sc, offset = 32 · scale (16-column sub-blocks)
//   Q8_0: u = q + 128, scale = d, offset = 128 · d;  Q5_0: u = q, offset 16 · d;  Q4_0: offset 8 · d
// The 32-block types take rows of any whole number of 32s (the activations' last block of 256
// is then shorter, quant/act_q8k.h).
//
// Include it inside an ISA target region with AVX-512 VNNI (isa_target_push.h), after the
// intrinsics and unpack headers; everything here has internal linkage, so each kernel file gets
// its own copy compiled for its own target (no ODR clash between the two targets).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "backend/cpu/block32_unpack.h"
#include "backend/cpu/k4_scales.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/q4k_x16.h"
#include "backend/cpu/q4k_x16_unpack.h"
#include "backend/cpu/q6k_unpack.h"
#include "core/tensor_type.h"
#include "quant/act_q8k.h"
#include "quant/block_io.h"

namespace schwarm::cpu {
namespace {  // NOLINT(build/namespaces): one copy per including file, see above

constexpr int kGroup = 16;  // weight rows per panel: one register's 32-bit lanes

// One group's panel: q [column quads][16 rows][4 bytes], in 64-column pairs (16 quads, the unit
// of packing); scale [sub-blocks][16 rows] (sub-blocks in the activations' order). Q4_K / Q5_K
// also: mins [blocks][4 pairs][16 rows] as int16 pairs (m 2p, m 2p + 1: element order) and dmin
// [blocks][16 rows].
struct Panel {
  uint8_t* q;
  float* scale;
  int32_t* mins;
  float* dmin;
};

// Transposes a 16 x 16 matrix of 32-bit elements held as 16 rows: r[i] lane c -> r[c] lane i.
inline void transpose16(__m512i (&r)[16]) {
  __m512i t[4], u[16];
  for (int g = 0; g < 4; ++g) {  // rows 4g .. 4g + 3
    const __m512i t0 = _mm512_unpacklo_epi32(r[4 * g], r[4 * g + 1]);
    const __m512i t1 = _mm512_unpackhi_epi32(r[4 * g], r[4 * g + 1]);
    const __m512i t2 = _mm512_unpacklo_epi32(r[4 * g + 2], r[4 * g + 3]);
    const __m512i t3 = _mm512_unpackhi_epi32(r[4 * g + 2], r[4 * g + 3]);
    // u[4g + m], 128-bit lane L: rows 4g .. 4g + 3 of column 4L + m.
    u[4 * g + 0] = _mm512_unpacklo_epi64(t0, t2);
    u[4 * g + 1] = _mm512_unpackhi_epi64(t0, t2);
    u[4 * g + 2] = _mm512_unpacklo_epi64(t1, t3);
    u[4 * g + 3] = _mm512_unpackhi_epi64(t1, t3);
  }
  for (int m = 0; m < 4; ++m) {  // column 4L + m gathers lane L of u[m], u[4 + m], u[8 + m], u[12 + m]
    t[0] = _mm512_shuffle_i32x4(u[m], u[4 + m], 0x44);
    t[1] = _mm512_shuffle_i32x4(u[m], u[4 + m], 0xEE);
    t[2] = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0x44);
    t[3] = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0xEE);
    r[0 + m] = _mm512_shuffle_i32x4(t[0], t[2], 0x88);
    r[4 + m] = _mm512_shuffle_i32x4(t[0], t[2], 0xDD);
    r[8 + m] = _mm512_shuffle_i32x4(t[1], t[3], 0x88);
    r[12 + m] = _mm512_shuffle_i32x4(t[1], t[3], 0xDD);
  }
}

// Packs 64-column pair `pair` of the group: unpack(row, pair) gives one row's 64 values u in
// panel order; rows past `rows` are zero.
template <class Unpack>
inline void pack_pair(int64_t rows, int64_t pair, const Panel& p, Unpack&& unpack) {
  __m512i v[kGroup];
  for (int i = 0; i < kGroup; ++i) v[i] = i < rows ? unpack(i, pair) : _mm512_setzero_si512();
  transpose16(v);
  uint8_t* dst = p.q + pair * 16 * 64;
  for (int c = 0; c < 16; ++c) _mm512_store_si512(dst + 64 * c, v[c]);
}

// One 256-column block of a group with 32-column sub-blocks: v[i] = row i's 16 words (zero for
// rows past the group's), lanes 0-7 its 8 float scales (slot order), for Q4_K / Q5_K lanes 8-11
// its mins pairs and lane 12 its dmin; stored per lane for the 16 rows by one transpose.
inline void store_block_scales(__m512i (&v)[kGroup], const Panel& p, int64_t b, bool mins) {
  transpose16(v);
  for (int s = 0; s < 8; ++s) _mm512_store_ps(p.scale + (b * 8 + s) * kGroup, _mm512_castsi512_ps(v[s]));
  if (!mins) return;
  for (int j = 0; j < 4; ++j) _mm512_store_si512(p.mins + (b * 4 + j) * kGroup, v[8 + j]);
  _mm512_store_si512(p.dmin + b * kGroup, v[12]);
}

constexpr int kK4Order[8] = {0, 2, 1, 3, 4, 6, 5, 7};  // Q4_K panel slot -> sub-block

// Q4_K and Q5_K (rows of whole 256-blocks): pairs 4b + j = low nibbles of bytes 0-63 of qs,
// high, then of 64-127; Q5_K adds bit s of qh[l] as the 5th bit of sub-block s's element l.
template <bool kQh>
void pack_k4(const uint8_t* w, size_t rb, int64_t rows, int64_t cols, const Panel& p) {
  constexpr int64_t kBytes = kQh ? 176 : 144, kQs = kQh ? 48 : 16;
  const __m512i m4 = _mm512_set1_epi8(0x0F), one = _mm512_set1_epi8(1);
  for (int64_t b = 0; b < cols / 256; ++b) {
    // Row i: [d · sc per slot (the sub-blocks in kK4Order) | mins pairs | dmin | 0 0 0].
    const __m256i order = _mm256_setr_epi32(0, 2, 1, 3, 4, 6, 5, 7);
    __m512i v[kGroup];
    for (int i = 0; i < kGroup; ++i) {
      if (i >= rows) {
        v[i] = _mm512_setzero_si512();
        continue;
      }
      const uint8_t* blk = w + static_cast<size_t>(i) * rb + b * kBytes;
      const __m128 dd = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(quant::load_u32(blk))));  // d, dmin
      uint64_t sc8, mn8;
      unpack_k4_scales_u64(blk + 4, sc8, mn8);
      const __m256 sc = _mm256_mul_ps(
          _mm256_cvtepi32_ps(_mm256_permutevar8x32_epi32(
              _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(sc8))), order)),
          _mm256_broadcastss_ps(dd));
      const __m128i mins = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(mn8)));  // 4 pairs
      const __m128i dmin = _mm_castps_si128(_mm_insert_ps(_mm_setzero_ps(), dd, 0x40));      // [dmin 0 0 0]
      v[i] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_castps_si256(sc)),
                                _mm256_inserti128_si256(_mm256_castsi128_si256(mins), dmin, 1), 1);
    }
    store_block_scales(v, p, b, true);
    for (int j = 0; j < 4; ++j) {
      // Register j holds sub-blocks s and s + 2 (s = 4 (j / 2) + j % 2): their qh bits per half.
      const int s = 4 * (j / 2) + j % 2;
      const __m512i qh_shift = _mm512_inserti64x4(_mm512_set1_epi16(static_cast<int16_t>(s)),
                                                  _mm256_set1_epi16(static_cast<int16_t>(s + 2)), 1);
      pack_pair(rows, 4 * b + j, p, [&](int i, int64_t) {
        const uint8_t* blk = w + static_cast<size_t>(i) * rb + b * kBytes;
        const __m512i q = _mm512_loadu_si512(blk + kQs + 64 * (j / 2));
        __m512i u = (j % 2 == 0) ? _mm512_and_si512(q, m4) : _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
        if constexpr (kQh) {
          const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16)));
          u = _mm512_or_si512(u, _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, qh_shift), one), 4));
        }
        return u;
      });
    }
  }
}

// Q4_K repacked (q4k_x16.h), one whole group (rows = 16, rb the stored row bytes): the rows are
// already in the lanes, so per register of qs the low nibbles are sub-block 2p's column quad and
// the high nibbles 2p + 1's; scales and mins are unpacked for the 16 rows at once.
void pack_k4_x16(const uint8_t* w, size_t, int64_t, int64_t cols, const Panel& p) {
  const __m512i lo4 = _mm512_set1_epi8(0x0F);
  for (int64_t b = 0; b < cols / 256; ++b) {
    const uint8_t* blk = w + static_cast<size_t>(b) * kQ4kX16BlockBytes;
    const Q4kX16Scales k4 = load_q4k_x16_scales(blk);
    for (int s = 0; s < 8; ++s) {  // sub-block s goes to slot kK4Order[s] (the order is its own inverse)
      const __m512 sc = _mm512_cvtepi32_ps(byte_lanes(k4.sc[s / 4], s % 4));
      _mm512_store_ps(p.scale + (b * 8 + kK4Order[s]) * kGroup, _mm512_mul_ps(sc, k4.d));
    }
    // Mins pair j: bytes 2 (j % 2) and 2 (j % 2) + 1 of each lane of mn[j / 2] zero-extended to
    // its two halves (vpshufb indexes within 128 bits: lane k's bytes start at 4 (k % 4)).
    const __m512i lane_byte0 = _mm512_setr_epi32(0, 0x40004, 0x80008, 0xC000C, 0, 0x40004, 0x80008, 0xC000C, 0,
                                                 0x40004, 0x80008, 0xC000C, 0, 0x40004, 0x80008, 0xC000C);
    const __m512i lo_pair = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int32_t>(0x80018000u)), lane_byte0),
                  hi_pair = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int32_t>(0x80038002u)), lane_byte0);
    for (int j = 0; j < 4; ++j)
      _mm512_store_si512(p.mins + (b * 4 + j) * kGroup,
                         _mm512_shuffle_epi8(k4.mn[j / 2], j % 2 == 0 ? lo_pair : hi_pair));
    _mm512_store_ps(p.dmin + b * kGroup, k4.dmin);
    for (int k = 0; k < 32; ++k) {  // sub-blocks 2 (k / 8) and 2 (k / 8) + 1, column quad k % 8
      const __m512i v = _mm512_loadu_si512(blk + kQ4kX16Qs + 64 * k);
      const int64_t even = b * 8 + kK4Order[2 * (k / 8)], odd = b * 8 + kK4Order[2 * (k / 8) + 1];
      _mm512_store_si512(p.q + (even * 8 + k % 8) * 64, _mm512_and_si512(v, lo4));
      _mm512_store_si512(p.q + (odd * 8 + k % 8) * 64, _mm512_and_si512(_mm512_srli_epi16(v, 4), lo4));
    }
  }
}

constexpr int kQ6kOffset = 32;  // Q6_K: w = scale · (u - 32)

// Q6_K (rows of whole 256-blocks): pairs in element order, 16 sub-blocks of 16 per block.
void pack_q6k(const uint8_t* w, size_t rb, int64_t rows, int64_t cols, const Panel& p) {
  for (int64_t b = 0; b < cols / 256; ++b) {
    // Row i: d · sc for its 16 sub-blocks; transposed to 16 rows per sub-block.
    __m512i v[kGroup];
    for (int i = 0; i < kGroup; ++i) {
      if (i >= rows) {
        v[i] = _mm512_setzero_si512();
        continue;
      }
      const uint8_t* blk = w + static_cast<size_t>(i) * rb + b * 210;
      const __m512i sc = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192)));
      v[i] = _mm512_castps_si512(_mm512_mul_ps(_mm512_cvtepi32_ps(sc), _mm512_set1_ps(_cvtsh_ss(quant::load_u16(blk + 208)))));
    }
    transpose16(v);
    for (int s = 0; s < 16; ++s) _mm512_store_ps(p.scale + (b * 16 + s) * kGroup, _mm512_castsi512_ps(v[s]));
    for (int j = 0; j < 4; ++j)  // elements 64 j .. 64 j + 63: half j / 2, low or high nibbles
      pack_pair(rows, 4 * b + j, p, [&](int i, int64_t) {
        __m512i lo, hi;
        q6k_unpack_half(w + static_cast<size_t>(i) * rb + b * 210, j / 2, lo, hi);
        return j % 2 == 0 ? lo : hi;
      });
  }
}

// The 32-block types (Values: block32_unpack.h): block k of a row holds columns 32 k .. 32 k + 31,
// its values u as one 256-bit register, its scale the block's d.
template <class Values>
void pack_block32(const uint8_t* w, size_t rb, int64_t rows, int64_t cols, const Panel& p) {
  constexpr size_t bb = Values::kBytes;
  constexpr Values u32{};
  const int64_t nsub = cols / 32;
  for (int64_t b = 0; b * 8 < nsub; ++b) {  // per 256 columns, row i: [d per block | 0]
    __m512i v[kGroup];
    for (int i = 0; i < kGroup; ++i) {
      const __m256 d = i < rows ? block_scales8(w + static_cast<size_t>(i) * rb + static_cast<size_t>(8 * b) * bb, bb,
                                                std::min<int64_t>(8, nsub - 8 * b))
                                : _mm256_setzero_ps();
      v[i] = _mm512_zextsi256_si512(_mm256_castps_si256(d));  // no offsets: Values::kOffset enters the integer sums
    }
    store_block_scales(v, p, b, false);
  }
  for (int64_t pair = 0; pair < (nsub + 1) / 2; ++pair)
    pack_pair(rows, pair, p, [&](int i, int64_t pr) {
      const uint8_t* row = w + static_cast<size_t>(i) * rb;
      const __m256i lo = u32(row + 2 * pr * bb);
      const __m256i hi = 2 * pr + 1 < nsub ? u32(row + (2 * pr + 1) * bb) : _mm256_setzero_si256();
      return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    });
}

// The activations' sums of token t's block b as the int16 pairs of the mins (element order):
// pair j = (Σ q of sub-block 2 j, of 2 j + 1), each |Σ| <= 32 · 127, broadcast.
inline void act_pairs(const QActsView& a, int64_t t, int64_t b, int64_t n16, __m512i (&pairs)[4]) {
  const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsum + t * n16 + b * 16));
  const __m256i s32 = _mm256_madd_epi16(bs, _mm256_set1_epi16(1));  // the 8 sub-blocks' sums
  // 128-bit lane L of the pack: sums 4 L .. 4 L + 3 as int16, twice; dwords 0, 1, 4, 5 = pairs 0-3.
  const __m512i packed = _mm512_castsi256_si512(_mm256_packs_epi32(s32, s32));
  for (int j = 0; j < 4; ++j) pairs[j] = _mm512_permutexvar_epi32(_mm512_set1_epi32(j / 2 * 4 + j % 2), packed);
}

bool has_gemm_q8(TensorType type) {
  switch (type) {
    case TensorType::Q4_K:
    case TensorType::Q5_K:
    case TensorType::Q6_K:
    case TensorType::Q8_0:
    case TensorType::Q4_0:
    case TensorType::Q5_0: return true;
    default: return false;
  }
}

// Q4_K / Q5_K: a block's 16 row sums of one token less the block's offsets: the rows' mins dotted
// with the token's activation sums of block b (pairs: act_pairs) as integers, times dmin.
inline __m512 minus_block_mins(const Panel& p, int64_t b, const __m512i (&pairs)[4], __m512 sums) {
  __m512i m = _mm512_setzero_si512();
  for (int j = 0; j < 4; ++j) m = _mm512_dpwssd_epi32(m, _mm512_load_si512(p.mins + (b * 4 + j) * kGroup), pairs[j]);
  return _mm512_fnmadd_ps(_mm512_cvtepi32_ps(m), _mm512_load_ps(p.dmin + b * kGroup), sums);
}

// The types whose offset is C scales (C != 0): the integer sums of token t's sub-block sb start at
// -C × Σ q_a over it (the activations' 16-element sums, element order: SQ / 4 per sub-block).
template <int SQ, int C>
inline __m512i offset_start(const QActsView& a, int64_t t, int64_t sb, int64_t n16) {
  const int16_t* bs = a.bsum + t * n16 + sb * (SQ / 4);
  return _mm512_set1_epi32(-C * (SQ == 8 ? int32_t{bs[0]} + bs[1] : int32_t{bs[0]}));
}

// The panels' pack functions: pack(w, rb, rows, cols, panel) for rows <= 16 rows at w.
using PackFn = void (*)(const uint8_t*, size_t, int64_t, int64_t, const Panel&);

// Two groups' panels in one 64-byte aligned buffer per thread, then for every 32 rows of the nr
// at w: both groups packed (the second only where there are more than 16 rows) and
// tile(p, rows, g0) called with the rows' count (1..32) and first row.
template <class Tile>
void for_each_panel_pair(PackFn pack, const uint8_t* w, size_t rb, int64_t nr, int64_t cols, Tile&& tile) {
  // Columns rounded up to a block (the last pair of a 32-block row may be half empty). Per group:
  // q, scales (16-column sub-blocks at most), then per block 4 mins pairs and dmin for 16 rows.
  const int64_t blocks = quant::act_q8k_blocks(cols), cols_up = blocks * quant::kActBlock;
  const size_t qbytes = static_cast<size_t>(cols_up) * kGroup;
  const size_t sbytes = static_cast<size_t>(cols_up / 16) * kGroup * sizeof(float);
  const size_t mbytes = static_cast<size_t>(blocks) * 4 * kGroup * sizeof(int32_t);
  const size_t dbytes = static_cast<size_t>(blocks) * kGroup * sizeof(float);
  const size_t group_bytes = qbytes + sbytes + mbytes + dbytes;  // multiples of 64
  thread_local std::vector<uint8_t> buf;
  if (buf.size() < 2 * group_bytes + 64) buf.resize(2 * group_bytes + 64);
  uint8_t* base = buf.data() + ((64 - reinterpret_cast<uintptr_t>(buf.data()) % 64) % 64);
  Panel p[2];
  for (int r = 0; r < 2; ++r) {
    uint8_t* g = base + r * group_bytes;
    p[r] = {g, reinterpret_cast<float*>(g + qbytes), reinterpret_cast<int32_t*>(g + qbytes + sbytes),
            reinterpret_cast<float*>(g + qbytes + sbytes + mbytes)};
  }
  for (int64_t g0 = 0; g0 < nr; g0 += 2 * kGroup) {
    const int64_t rows = std::min<int64_t>(2 * kGroup, nr - g0);
    const uint8_t* src = w + static_cast<size_t>(g0) * rb;
    pack(src, rb, std::min<int64_t>(kGroup, rows), cols, p[0]);
    if (rows > kGroup) pack(src + kGroup * rb, rb, rows - kGroup, cols, p[1]);
    tile(p, rows, g0);
  }
}

// Calls gemm.template operator()<SQ, C>(pack) with `type`'s pack function, SQ (column quads per
// sub-block: 8 for 32 columns, 4 for 16) and C (the type's offset in units of its scale: Q6_K 32,
// Q8_0 128, Q4_0 8, Q5_0 16; 0 for Q4_K / Q5_K, whose mins are independent of the scales); false
// (nothing called) where the type has no panel form or the columns do not fit it.
template <class Gemm>
bool dispatch_panel_gemm(TensorType type, int64_t cols, Gemm&& gemm) {
  const bool k_quant = type == TensorType::Q4_K || type == TensorType::Q5_K || type == TensorType::Q6_K;
  if (!has_gemm_q8(type) || cols % (k_quant ? 256 : 32) != 0) return false;
  switch (type) {
    case TensorType::Q4_K: gemm.template operator()<8, 0>(pack_k4<false>); break;
    case TensorType::Q5_K: gemm.template operator()<8, 0>(pack_k4<true>); break;
    case TensorType::Q6_K: gemm.template operator()<4, kQ6kOffset>(pack_q6k); break;
    case TensorType::Q8_0: gemm.template operator()<8, static_cast<int>(Q80Values::kOffset)>(pack_block32<Q80Values>); break;
    case TensorType::Q4_0: gemm.template operator()<8, static_cast<int>(Q40Values::kOffset)>(pack_block32<Q40Values>); break;
    case TensorType::Q5_0: gemm.template operator()<8, static_cast<int>(Q50Values::kOffset)>(pack_block32<Q50Values>); break;
    default: return false;
  }
  return true;
}

// Q4_K repacked (q4k_x16.h) rows' bytes in the stored layout, for the pack function's rb.
inline size_t q4k_x16_row_bytes(int64_t cols) { return static_cast<size_t>(cols / 256) * 144; }

}  // namespace
}  // namespace schwarm::cpu

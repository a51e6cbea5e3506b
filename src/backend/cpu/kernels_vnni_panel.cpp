// Prefill GEMM for the quantized-activations mode (AVX-512 VNNI): weights times many tokens'
// 8-bit activations. A group of 16 weight rows is unpacked once per call into an 8-bit panel laid
// out for vpdpbusd — for every 4 consecutive columns one 64-byte register holds the 16 rows' 4
// values — with a float scale and offset per row and 32-column sub-block, so that
// w = scale · u − offset (u in 0..255). The micro-kernel broadcasts 4 activation bytes of a token
// and multiplies them with 16 rows in one instruction (64 multiply-adds; the gemv kernels of
// kernels_vnni.cpp need two instructions for as many, to apply integer sub-block scales), and
// flushes each sub-block's 32-bit sums through its float scale; the offsets meet the
// activations' per-sub-block sums (dsum32). Rows are packed once and reused by every token.
//   Q4_K: u = the 4-bit value, scale = d · sc, offset = dmin · m (sub-blocks in the activations'
//         order 0 2 1 3 4 6 5 7, which is the order of low and high nibbles in 64-byte loads)
//   Q8_0: u = q + 128, scale = d, offset = 128 · d (element order)
// Compiled for that target by a pragma after every header is included (see kernels_avx512.cpp).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "backend/cpu/k4_scales.h"
#include "backend/cpu/kernels.h"
#include "quant/block_io.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define SCHWARM_TARGET_AVX512VNNI
#include "backend/cpu/isa_target_push.h"  // NOLINT(build/include)

namespace schwarm::cpu {
namespace {

constexpr int kGroup = 16;  // weight rows per panel: one register's 32-bit lanes

// One group's panel: q [cols / 32 sub-blocks][8 column quads][16 rows][4 bytes]; scale and
// offset [cols / 32][16 rows]. Sub-blocks in the activations' order for the weight type.
struct Panel {
  uint8_t* q;
  float* scale;
  float* offset;
};

// Transposes a 16 x 16 matrix of 32-bit elements held as 16 rows: r[i] lane c -> r[c] lane i.
inline void transpose16(__m512i (&r)[16]) {
  __m512i t[16], u[16];
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

// Writes one 256-column block of a group: v[j][i] = row i's bytes of sub-blocks 2j, 2j + 1
// (32 each, in panel order); rows past `rows` are zero.
inline void store_block(__m512i (&v)[16], uint8_t* dst) {
  transpose16(v);
  for (int c = 0; c < 16; ++c) _mm512_store_si512(dst + 64 * c, v[c]);
}

constexpr int kK4Order[8] = {0, 2, 1, 3, 4, 6, 5, 7};  // panel slot -> Q4_K sub-block
constexpr int kIdentity[8] = {0, 1, 2, 3, 4, 5, 6, 7};

void pack_q4k(const uint8_t* w, size_t rb, int64_t rows, int64_t nb, const Panel& p) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    float* sc = p.scale + b * 8 * kGroup;
    float* of = p.offset + b * 8 * kGroup;
    for (int i = 0; i < kGroup; ++i) {
      if (i >= rows) {
        for (int s = 0; s < 8; ++s) sc[s * kGroup + i] = of[s * kGroup + i] = 0.0f;
        continue;
      }
      const uint8_t* blk = w + static_cast<size_t>(i) * rb + b * 144;
      const float d = quant::load_fp16(blk), dmin = quant::load_fp16(blk + 2);
      uint64_t sc8, mn8;
      unpack_k4_scales_u64(blk + 4, sc8, mn8);
      for (int s = 0; s < 8; ++s) {
        const int sub = kK4Order[s];
        sc[s * kGroup + i] = d * static_cast<float>((sc8 >> (8 * sub)) & 0xFF);
        of[s * kGroup + i] = dmin * static_cast<float>((mn8 >> (8 * sub)) & 0xFF);
      }
    }
    for (int j = 0; j < 4; ++j) {  // low nibbles of bytes 0-63, high, then of bytes 64-127
      __m512i v[16];
      for (int i = 0; i < kGroup; ++i) {
        if (i >= rows) {
          v[i] = _mm512_setzero_si512();
          continue;
        }
        const __m512i q = _mm512_loadu_si512(w + static_cast<size_t>(i) * rb + b * 144 + 16 + 64 * (j / 2));
        v[i] = (j % 2 == 0) ? _mm512_and_si512(q, m4) : _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
      }
      store_block(v, p.q + (b * 64 + 16 * j) * 64);
    }
  }
}

void pack_q80(const uint8_t* w, size_t rb, int64_t rows, int64_t nb, const Panel& p) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int64_t b = 0; b < nb; ++b) {
    float* sc = p.scale + b * 8 * kGroup;
    float* of = p.offset + b * 8 * kGroup;
    for (int i = 0; i < kGroup; ++i)
      for (int s = 0; s < 8; ++s) {
        const float d = i < rows ? quant::load_fp16(w + static_cast<size_t>(i) * rb + (b * 8 + s) * 34) : 0.0f;
        sc[s * kGroup + i] = d;
        of[s * kGroup + i] = 128.0f * d;
      }
    for (int j = 0; j < 4; ++j) {  // Q8_0 blocks 2j and 2j + 1 of the 256 columns
      __m512i v[16];
      for (int i = 0; i < kGroup; ++i) {
        if (i >= rows) {
          v[i] = _mm512_setzero_si512();
          continue;
        }
        const uint8_t* b0 = w + static_cast<size_t>(i) * rb + (b * 8 + 2 * j) * 34;
        const __m512i q = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0 + 2))),
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0 + 36)), 1);
        v[i] = _mm512_xor_si512(q, flip);
      }
      store_block(v, p.q + (b * 64 + 16 * j) * 64);
    }
  }
}

inline __m512i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// R groups (1 or 2) x T tokens (1..4) from token t0: y[t * ldy + 16 r + i] for i < rows - 16 r.
template <int R, int T>
void panel_tile(const Panel (&p)[2], int64_t nb, int64_t cols, const QActsView& a, int64_t t0, const int* order,
                int64_t rows, float* y, int64_t ldy) {
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  const int64_t n32 = cols / 32;
  for (int64_t b = 0; b < nb; ++b) {
    __m512 bacc[R][T];  // this block's Σ scale · isum, times the activations' d at its end
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) bacc[r][t] = _mm512_setzero_ps();
    for (int s = 0; s < 8; ++s) {
      const int64_t sb = b * 8 + s;
      __m512i isum[R][T];
      for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) isum[r][t] = _mm512_setzero_si512();
      const int8_t* aq = a.q + t0 * cols + sb * 32;
      for (int k = 0; k < 8; ++k) {
        __m512i wv[R];
        for (int r = 0; r < R; ++r) wv[r] = _mm512_load_si512(p[r].q + (sb * 8 + k) * 64);
        for (int t = 0; t < T; ++t) {
          const __m512i av = broadcast4(aq + t * cols + 4 * k);
          for (int r = 0; r < R; ++r) isum[r][t] = _mm512_dpbusd_epi32(isum[r][t], wv[r], av);
        }
      }
      const int64_t ds = b * 8 + order[s];
      for (int r = 0; r < R; ++r) {
        const __m512 sc = _mm512_load_ps(p[r].scale + sb * kGroup);
        const __m512 of = _mm512_load_ps(p[r].offset + sb * kGroup);
        for (int t = 0; t < T; ++t) {
          bacc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r][t]), sc, bacc[r][t]);
          acc[r][t] = _mm512_fnmadd_ps(of, _mm512_set1_ps(a.dsum32[(t0 + t) * n32 + ds]), acc[r][t]);
        }
      }
    }
    for (int t = 0; t < T; ++t) {
      const __m512 da = _mm512_set1_ps(a.d[(t0 + t) * nb + b]);
      for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(bacc[r][t], da, acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r) {
    const int64_t valid = std::min<int64_t>(kGroup, rows - kGroup * r);
    const auto mask = static_cast<__mmask16>((1u << valid) - 1u);
    for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + (t0 + t) * ldy + kGroup * r, mask, acc[r][t]);
  }
}

template <int R>
void panel_tokens(const Panel (&p)[2], int64_t nb, int64_t cols, const QActsView& a, const int* order, int64_t rows,
                  float* y, int64_t ldy) {
  int64_t t0 = 0;
  for (; t0 + 4 <= a.n; t0 += 4) panel_tile<R, 4>(p, nb, cols, a, t0, order, rows, y, ldy);
  switch (a.n - t0) {
    case 1: panel_tile<R, 1>(p, nb, cols, a, t0, order, rows, y, ldy); break;
    case 2: panel_tile<R, 2>(p, nb, cols, a, t0, order, rows, y, ldy); break;
    case 3: panel_tile<R, 3>(p, nb, cols, a, t0, order, rows, y, ldy); break;
    default: break;
  }
}

bool has_gemm_q8(TensorType type) { return type == TensorType::Q4_K || type == TensorType::Q8_0; }

bool gemm_q8(TensorType type, const uint8_t* w, size_t rb, int64_t nr, int64_t cols, const QActsView& a, float* y,
             int64_t ldy) {
  void (*pack)(const uint8_t*, size_t, int64_t, int64_t, const Panel&) = nullptr;
  const int* order = kIdentity;
  switch (type) {
    case TensorType::Q4_K: pack = pack_q4k; order = kK4Order; break;
    case TensorType::Q8_0: pack = pack_q80; break;
    default: return false;
  }
  if (cols % 256 != 0) return false;
  const int64_t nb = cols / 256;
  // Two groups' panels in one 64-byte aligned buffer per thread.
  const size_t qbytes = static_cast<size_t>(cols) * kGroup, fbytes = static_cast<size_t>(cols / 32) * kGroup * 4;
  const size_t group_bytes = qbytes + 2 * fbytes;  // multiples of 64
  thread_local std::vector<uint8_t> buf;
  if (buf.size() < 2 * group_bytes + 64) buf.resize(2 * group_bytes + 64);
  uint8_t* base = buf.data() + ((64 - reinterpret_cast<uintptr_t>(buf.data()) % 64) % 64);
  Panel p[2];
  for (int r = 0; r < 2; ++r) {
    uint8_t* g = base + r * group_bytes;
    p[r] = {g, reinterpret_cast<float*>(g + qbytes), reinterpret_cast<float*>(g + qbytes + fbytes)};
  }
  for (int64_t g0 = 0; g0 < nr; g0 += 2 * kGroup) {
    const int64_t rows = std::min<int64_t>(2 * kGroup, nr - g0);
    const uint8_t* src = w + static_cast<size_t>(g0) * rb;
    pack(src, rb, std::min<int64_t>(kGroup, rows), nb, p[0]);
    if (rows > kGroup) {
      pack(src + kGroup * rb, rb, rows - kGroup, nb, p[1]);
      panel_tokens<2>(p, nb, cols, a, order, rows, y + g0, ldy);
    } else {
      panel_tokens<1>(p, nb, cols, a, order, rows, y + g0, ldy);
    }
  }
  return true;
}

}  // namespace

void add_vnni_panel_gemm(KernelTable& k) {
  k.has_gemm_q8 = has_gemm_q8;
  k.gemm_q8 = gemm_q8;
}

}  // namespace schwarm::cpu

#include "backend/cpu/isa_target_pop.h"  // NOLINT(build/include)
#else
namespace schwarm::cpu {
void add_vnni_panel_gemm(KernelTable&) {}
}  // namespace schwarm::cpu
#endif

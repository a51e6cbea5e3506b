// Prefill GEMM for the quantized-activations mode on AMX-INT8 tiles (Intel Xeon since Sapphire
// Rapids, Xeon W workstations): the same 8-bit weight panels as the AVX-512 VNNI GEMM
// (panel_pack.h), whose layout — for every 4 columns, 16 rows x 4 bytes — is an AMX B tile, times
// up to 16 tokens' activation bytes loaded as an A tile straight from the quantized rows. One
// tdpbsud per group of 16 rows and sub-block (16 tokens x 16 rows x 32 columns: 8192 multiply-adds)
// replaces 128 vpdpbusd; each sub-block's 32-bit sums are stored and flushed through its float
// scale in the VNNI micro-kernel's order of float operations, so both give the same floats, bit
// for bit.
//
// The micro-kernel is written over a Tiles policy: HardwareTiles issues the instructions;
// EmulatedTiles computes the same products in scalar C++ from the instructions' definition (Intel
// SDM, TDPBSUD), so that the kernel's addressing, scales, offsets and tails are tested on any
// AVX-512 VNNI machine (amx_emulated_kernel_table) while the hardware path runs only where the CPU
// has AMX and the kernel grants the tile state (amx_tiles_usable).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "backend/cpu/k4_scales.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/q4k_x16.h"
#include "quant/block_io.h"
#include "quant/act_q8k.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace schwarm::cpu {

bool amx_tiles_usable() {
  static const bool usable = [] {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    if (!(d & (1u << 24)) || !(d & (1u << 25))) return false;  // AMX-TILE, AMX-INT8
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return false;  // OSXSAVE
    uint32_t lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    if ((lo & (3u << 17)) != (3u << 17)) return false;  // XTILECFG and XTILEDATA enabled by the OS
#if defined(__linux__)
    // Linux hands out the 8 KiB tile state only on request (once per process, for all threads);
    // a refusal (older kernel, seccomp) leaves the VNNI kernels in charge.
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) return false;
    return true;
#else
    return false;
#endif
  }();
  return usable;
}

}  // namespace schwarm::cpu

#define SCHWARM_TARGET_AMX
#include "backend/cpu/isa_target_push.h"  // NOLINT(build/include)
#include "backend/cpu/panel_pack.h"

namespace schwarm::cpu {
namespace {

constexpr int kTileTokens = 16;  // rows of the A and C tiles

// Tiles: 0 and 1 = C (the two groups' int32 sums: tokens x 16 rows), 2 = A (tokens x one
// sub-block's 4·SQ activation bytes), 3 and 4 = B (each group's panel of that sub-block: SQ
// column quads x 16 rows x 4 bytes).
struct HardwareTiles {
  struct alignas(64) Config {
    uint8_t palette = 1, start_row = 0, reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};
  };
  static_assert(sizeof(Config) == 64);
  int height = 0;  // the tiles' configured rows (0: none yet); sq is fixed per call

  void configure(int tokens, int sq) {
    if (tokens == height) return;
    height = tokens;
    Config c;
    c.rows[0] = c.rows[1] = c.rows[2] = static_cast<uint8_t>(tokens);
    c.colsb[0] = c.colsb[1] = 64;
    c.colsb[2] = static_cast<uint16_t>(4 * sq);
    c.rows[3] = c.rows[4] = static_cast<uint8_t>(sq);
    c.colsb[3] = c.colsb[4] = 64;
    _tile_loadconfig(&c);
  }
  void release() { _tile_release(); }
  // c_r[t * 16 + i] = Σ_k a[t * lda + k] · b_r[(k / 4) * 64 + 4 i + k % 4] (a signed, b unsigned),
  // for group 1 only where b1 is given.
  void multiply(const int8_t* a, int64_t lda, const uint8_t* b0, const uint8_t* b1, int32_t* c0, int32_t* c1) {
    _tile_zero(0);
    _tile_loadd(2, a, lda);
    _tile_loadd(3, b0, 64);
    _tile_dpbsud(0, 2, 3);
    if (b1) {
      _tile_zero(1);
      _tile_loadd(4, b1, 64);
      _tile_dpbsud(1, 2, 4);
      _tile_stored(1, c1, 64);
    }
    _tile_stored(0, c0, 64);
  }
};

// The same products from TDPBSUD's definition: C[m][n] += Σ_k Σ_i A.s8[m][4k + i] · B.u8[k][4n + i].
struct EmulatedTiles {
  int tokens = 0, sq = 0;
  void configure(int t, int s) { tokens = t, sq = s; }
  void release() {}
  void multiply(const int8_t* a, int64_t lda, const uint8_t* b0, const uint8_t* b1, int32_t* c0, int32_t* c1) const {
    product(a, lda, b0, c0);
    if (b1) product(a, lda, b1, c1);
  }
  void product(const int8_t* a, int64_t lda, const uint8_t* b, int32_t* c) const {
    for (int m = 0; m < tokens; ++m)
      for (int n = 0; n < kGroup; ++n) {
        int32_t s = 0;
        for (int k = 0; k < sq; ++k)
          for (int i = 0; i < 4; ++i)
            s += int32_t{a[m * lda + 4 * k + i]} * int32_t{b[k * 64 + 4 * n + i]};
        c[m * kGroup + n] = s;
      }
  }
};

// Tokens t0 .. t0 + T (T <= 16, the tiles configured for T) x the pair's rows (1..32):
// y[t * ldy + i] for i < rows. Per sub-block the tiles give the integer sums; the rest is
// panel_tile of kernels_vnni_panel.cpp, operation for operation: the sums start at -C × Σ q_a,
// are converted and multiply-added with the sub-block's scale, the mins (C = 0) meet the
// activations' sums per block, and each block's total is multiply-added with the activations' d.
template <int SQ, int C, class Tiles>
void amx_tile(Tiles& tiles, const Panel (&p)[2], int64_t cols, const QActsView& a, int64_t t0, int T, int64_t rows,
              float* y, int64_t ldy) {
  constexpr int64_t kSubPerBlock = 64 / SQ;
  const int64_t nsub = cols / (4 * SQ), nbd = quant::act_q8k_blocks(cols), n16 = cols / 16;
  const int R = rows > kGroup ? 2 : 1;
  alignas(64) int32_t sums[2][kTileTokens * kGroup];
  alignas(64) float acc[2][kTileTokens][kGroup], bacc[2][kTileTokens][kGroup];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) _mm512_store_ps(acc[r][t], _mm512_setzero_ps());
  for (int64_t b = 0; b < nbd; ++b) {
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) _mm512_store_ps(bacc[r][t], _mm512_setzero_ps());
    const int64_t ns = std::min(kSubPerBlock, nsub - b * kSubPerBlock);
    for (int64_t s = 0; s < ns; ++s) {
      const int64_t sb = b * kSubPerBlock + s;
      tiles.multiply(a.q + t0 * cols + sb * 4 * SQ, cols, p[0].q + sb * SQ * 64,
                     R == 2 ? p[1].q + sb * SQ * 64 : nullptr, sums[0], sums[1]);
      for (int t = 0; t < T; ++t) {
        __m512i start = _mm512_setzero_si512();
        if constexpr (C != 0) start = offset_start<SQ, C>(a, t0 + t, sb, n16);
        for (int r = 0; r < R; ++r) {
          const __m512i isum = _mm512_add_epi32(start, _mm512_load_si512(sums[r] + t * kGroup));
          _mm512_store_ps(bacc[r][t], _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_load_ps(p[r].scale + sb * kGroup),
                                                      _mm512_load_ps(bacc[r][t])));
        }
      }
    }
    if constexpr (C == 0) {  // Q4_K / Q5_K: rows of whole blocks, so the block has its 8 sub-blocks
      for (int t = 0; t < T; ++t) {
        __m512i pairs[4];
        act_pairs(a, t0 + t, b, n16, pairs);
        for (int r = 0; r < R; ++r) _mm512_store_ps(bacc[r][t], minus_block_mins(p[r], b, pairs, _mm512_load_ps(bacc[r][t])));
      }
    }
    for (int t = 0; t < T; ++t) {
      const __m512 da = _mm512_set1_ps(a.d[(t0 + t) * nbd + b]);
      for (int r = 0; r < R; ++r)
        _mm512_store_ps(acc[r][t], _mm512_fmadd_ps(_mm512_load_ps(bacc[r][t]), da, _mm512_load_ps(acc[r][t])));
    }
  }
  for (int r = 0; r < R; ++r) {
    const int64_t valid = std::min<int64_t>(kGroup, rows - kGroup * r);
    const auto mask = static_cast<__mmask16>((1u << valid) - 1u);
    for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + (t0 + t) * ldy + kGroup * r, mask, _mm512_load_ps(acc[r][t]));
  }
}

// Every pair of row groups x the tokens in tiles of 16 (the last one shorter); the tile state is
// configured when the tile height changes and released at the end, so a thread holds it only
// inside the call.
template <int SQ, int C, class Tiles>
void amx_groups(PackFn pack, const uint8_t* w, size_t rb, int64_t nr, int64_t cols, const QActsView& a, float* y,
                int64_t ldy) {
  Tiles tiles;
  const int64_t whole = a.n / kTileTokens * kTileTokens;
  const int tail = static_cast<int>(a.n - whole);
  for_each_panel_pair(pack, w, rb, nr, cols, [&](const Panel (&p)[2], int64_t rows, int64_t g0) {
    if (whole > 0) {
      tiles.configure(kTileTokens, SQ);
      for (int64_t t0 = 0; t0 < whole; t0 += kTileTokens)
        amx_tile<SQ, C>(tiles, p, cols, a, t0, kTileTokens, rows, y + g0, ldy);
    }
    if (tail > 0) {
      tiles.configure(tail, SQ);
      amx_tile<SQ, C>(tiles, p, cols, a, whole, tail, rows, y + g0, ldy);
    }
  });
  tiles.release();
}

template <class Tiles>
bool gemm_q8(TensorType type, const uint8_t* w, size_t rb, int64_t nr, int64_t cols, const QActsView& a, float* y,
             int64_t ldy) {
  return dispatch_panel_gemm(type, cols, [&]<int SQ, int C>(PackFn pack) {
    amx_groups<SQ, C, Tiles>(pack, w, rb, nr, cols, a, y, ldy);
  });
}

template <class Tiles>
void gemm_q4k_x16(const uint8_t* w, int64_t nr, int64_t cols, const QActsView& a, float* y, int64_t ldy) {
  amx_groups<8, 0, Tiles>(pack_k4_x16, w, q4k_x16_row_bytes(cols), nr, cols, a, y, ldy);
}

template <class Tiles>
KernelTable amx_table(Isa isa) {
  KernelTable k = *avx512_vnni_kernel_table();
  k.isa = isa;
  k.has_gemm_q8 = has_gemm_q8;
  k.gemm_q8 = gemm_q8<Tiles>;
  k.gemm_q4k_x16 = gemm_q4k_x16<Tiles>;
  return k;
}

}  // namespace

const KernelTable* amx_kernel_table() {
  static const KernelTable t = amx_table<HardwareTiles>(Isa::Amx);
  return &t;
}

const KernelTable* amx_emulated_kernel_table() {
  if (!kernel_table(Isa::Avx512Vnni)) return nullptr;  // this CPU cannot run the rest of it
  static const KernelTable t = amx_table<EmulatedTiles>(Isa::Avx512Vnni);
  return &t;
}

}  // namespace schwarm::cpu

#include "backend/cpu/isa_target_pop.h"  // NOLINT(build/include)
#else
namespace schwarm::cpu {
bool amx_tiles_usable() { return false; }
const KernelTable* amx_kernel_table() { return nullptr; }
const KernelTable* amx_emulated_kernel_table() { return nullptr; }
}  // namespace schwarm::cpu
#endif

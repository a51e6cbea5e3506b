#pragma once
// The CPU matmul kernels behind one table per instruction set, chosen once at start-up.
//
// Each ISA's kernels live in their own translation unit compiled with that ISA's flags
// (kernels_avx2.cpp: -mavx2 -mfma -mf16c; kernels_avx512.cpp: -mavx512f -mavx512bw -mavx512vl),
// from one template (kernels_simd.h), so the library still runs on any x86-64 and builds on other
// CPUs (scalar table only). `kernels()` picks the widest table the CPU runs; SCHWARM_CPU_ISA=
// scalar|avx2|avx512|avx512vnni|amx forces one (an unsupported choice falls back to the best one and says so on
// stderr). avx512vnni (kernels_vnni.cpp) adds integer gemv kernels for K-quant weights times
// 8-bit activations (the quantized-activations mode, quant/act_q8k.h). amx (kernels_amx_panel.cpp)
// is avx512vnni with the prefill GEMM on AMX-INT8 tiles, where the CPU has them and the OS grants
// the tile state; until its parity suite has run on such a CPU it is chosen only by
// SCHWARM_CPU_ISA=amx, never by default.
//
// Two regimes (the cpu matmul picks by token count, see cpu_linear.cpp):
// - gemv (decode, few tokens): each weight vector is decoded in registers and multiplied at once
//   into up to kGemvMaxTokens activation rows, so the weight streams from memory exactly once and
//   is never written anywhere.
// - prefill (many tokens): a panel of weight rows is decoded to f32 once, then a register-blocked
//   micro-kernel (4 rows x 4 tokens) multiplies it with every activation row.
// Every decoder produces the registry's dequantized value bit for bit (the same float operations;
// a product that is exact in float may be fused), so the only difference to `ref` is the order of
// the float accumulation.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tensor_type.h"
#include "quant/act_q8k.h"

namespace schwarm::cpu {

enum class Isa { Scalar, Avx2, Avx512, Avx512Vnni, Amx };
const char* isa_name(Isa isa);

constexpr int64_t kGemvMaxTokens = 4;
// From 8 tokens the integer GEMM beat the gemv kernels by 8-34 % on a Zen 4 EPYC (matmul_bench n = 8;
// on the Xeon of earlier sessions they were level there, and the threshold was 12).
constexpr int64_t kGemmQ8MinTokens = 8;

// n rows of activations quantized by quant::quantize_act_q8k, laid out for one weight type's
// integer kernel (prepare_q8_acts): q [n, cols] (for Q4_K / Q5_K each 256-block's 32-element
// sub-blocks in the order 0 2 1 3 4 6 5 7, else in element order), d [n, cols / 256 rounded up],
// bsum [n, cols / 16] (Σ q over 16 elements, in element order), and dsum32 [n, cols / 32]
// (d of the block × Σ q over 32 elements, in element order: what a sub-block's min or offset
// multiplies, precomputed once per call instead of per weight row).
struct QActsView {  // rows t0 .. t0 + n of a QActs
  const int8_t* q;
  const float* d;
  const int16_t* bsum;
  const float* dsum32;
  int64_t n;
};
struct QActs {
  int64_t n = 0, cols = 0;
  std::vector<int8_t> q;
  std::vector<float> d;
  std::vector<int16_t> bsum;
  std::vector<float> dsum32;
  QActsView view(int64_t t0, int64_t nt) const {
    return {q.data() + t0 * cols, d.data() + t0 * quant::act_q8k_blocks(cols), bsum.data() + t0 * (cols / 16),
            dsum32.data() + t0 * (cols / 32), nt};
  }
};
// quant::quantize_act_q8k's signature; act_quantizer_avx512() is the AVX-512 version (bit-exact;
// nullptr where not compiled in), which the avx512vnni table uses.
using ActQuantizeFn = void (*)(const float* x, int64_t cols, int8_t* q, float* d, int16_t* bsum16);
ActQuantizeFn act_quantizer_avx512();

// Quantizes rows x[t * cols ...] (t < n; cols a multiple of 32, of 256 for the K-quants) for
// weights of `type`.
void prepare_q8_acts(TensorType type, const float* x, int64_t n, int64_t cols, QActs& out,
                     ActQuantizeFn quantize = nullptr);
// The same in parts (threads may fill disjoint row ranges): size `out` for n rows, then fill
// rows [t0, t1) from x (row t at x + t * cols).
void size_q8_acts(int64_t n, int64_t cols, QActs& out);
// quantize: the row quantizer (nullptr: quant::quantize_act_q8k).
void prepare_q8_act_rows(TensorType type, const float* x, int64_t t0, int64_t t1, QActs& out,
                         ActQuantizeFn quantize = nullptr);

// Row t of `out` (already sized: size_q8_acts) = row rows[t] of src, for t in [t0, t1): the MoE
// layer quantizes each token once and gathers the rows of every expert's tokens.
void gather_q8_act_rows(const QActs& src, const int64_t* rows, int64_t t0, int64_t t1, QActs& out);

// The portable element-wise kernels (std::exp), the defaults of every table.
void scalar_swiglu(const float* g, const float* u, float* h, int64_t n);
void scalar_softmax(float* s, int64_t n, float scale);

struct KernelTable {
  Isa isa;
  // Whether gemv has a fused kernel for `type`.
  bool (*has_gemv)(TensorType type);
  // y[t * ldy + r] = Σ_k W[r, k] · x[t * cols + k] for r < nr, t < nt (nt <= kGemvMaxTokens);
  // row r of W starts at w + r * row_bytes. False (nothing written) when this table has no fused
  // kernel for `type` (see has_gemv): the caller decodes and uses gemm_f32 instead.
  bool (*gemv)(TensorType type, const uint8_t* w, size_t row_bytes, int64_t nr, int64_t cols, const float* x,
               int64_t nt, float* y, int64_t ldy);
  // dst[n] = the n elements (whole blocks) at src, dequantized; false when not handled here.
  bool (*decode)(TensorType type, const uint8_t* src, int64_t n, float* dst);
  // y[t * ldy + r] = Σ_k w[r * cols + k] · x[t * cols + k] for r < nr, t < nt (any sizes).
  void (*gemm_f32)(const float* w, int64_t nr, int64_t cols, const float* x, int64_t nt, float* y, int64_t ldy);
  // c[i * ldc + j] = Σ_p a[i * lda + p] · b[p * ldb + j] for i < m, j < n, p < k (any sizes): the
  // product with B's rows along C's columns (attention: scores = Q·Kᵀ from Kᵀ, out = P·V from V).
  void (*gemm_nn)(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t m, int64_t n, int64_t k,
                  float* c, int64_t ldc);
  // Integer gemv for the quantized-activations mode (nullptr where the table has none): whether
  // there is one for `type`, and y[t * ldy + r] = Σ_k W[r, k] · x̂[t, k] for t < a.n (1..4, or 8), x̂ the
  // activations `a` stand for (prepared for `type`), on rows quant::act_q8k_applies to; false
  // (nothing written) where there is none.
  bool (*has_gemv_q8)(TensorType type) = nullptr;
  bool (*gemv_q8)(TensorType type, const uint8_t* w, size_t row_bytes, int64_t nr, int64_t cols, const QActsView& a,
                  float* y, int64_t ldy) = nullptr;
  // Integer GEMM for the same mode, for many tokens (nullptr where none): whether there is one for
  // `type`, and y[t * ldy + r] = Σ_k W[r, k] · x̂[t, k] for r < nr, t < a.n (any counts); weight
  // rows are repacked once per call, so it pays from about kGemmQ8MinTokens tokens on.
  bool (*has_gemm_q8)(TensorType type) = nullptr;
  bool (*gemm_q8)(TensorType type, const uint8_t* w, size_t row_bytes, int64_t nr, int64_t cols, const QActsView& a,
                  float* y, int64_t ldy) = nullptr;
  // The same for Q4_K weights repacked in groups of 16 rows (q4k_x16.h; nullptr where none): nr a
  // multiple of 16; the gemv for a.n = 1..4 tokens, the GEMM for any count (the panel is the
  // nibbles split, no transpose).
  void (*gemv_q4k_x16)(const uint8_t* w, int64_t nr, int64_t cols, const QActsView& a, float* y,
                       int64_t ldy) = nullptr;
  void (*gemm_q4k_x16)(const uint8_t* w, int64_t nr, int64_t cols, const QActsView& a, float* y,
                       int64_t ldy) = nullptr;
  // The activation quantizer of the integer kernels' inputs (nullptr: quant::quantize_act_q8k).
  ActQuantizeFn quantize_act = nullptr;
  // h[i] = silu(g[i]) · u[i] = g / (1 + e^-g) · u (SwiGLU), i < n.
  void (*swiglu)(const float* g, const float* u, float* h, int64_t n) = scalar_swiglu;
  // s[0..n) = softmax(s · scale), in place.
  void (*softmax)(float* s, int64_t n, float scale) = scalar_softmax;
};

// The table for `isa`, or nullptr when this build or this CPU cannot run it.
const KernelTable* kernel_table(Isa isa);
// The table chosen once per process (best supported, or SCHWARM_CPU_ISA).
const KernelTable& kernels();

// The table for `isa` with the previous generation of its gemv kernels (the generic fused
// decode + dot for every type), kept as the same-run peer of bench/matmul_bench's ratios and as
// a second implementation for the parity test; nullptr as kernel_table. Equal to kernel_table(isa)
// where that ISA has no newer gemv.
const KernelTable* peer_gemv_table(Isa isa);

// Per-ISA tables (nullptr where not compiled in); defined in kernels_<isa>.cpp.
const KernelTable* avx2_kernel_table();
const KernelTable* avx512_kernel_table();
const KernelTable* avx512_peer_kernel_table();
const KernelTable* avx512_vnni_kernel_table();
const KernelTable* avx512_vnni_peer_kernel_table();  // avx512vnni without gemm_q8
// Sets gemm_q8 (kernels_vnni_panel.cpp).
void add_vnni_panel_gemm(KernelTable& k);
// kernels_amx_panel.cpp: whether the CPU has AMX-TILE and AMX-INT8 and the OS enabled and granted
// the tile state (arch_prctl ARCH_REQ_XCOMP_PERM, asked once per process); the amx table; and,
// for tests, the same GEMM over a scalar emulation of the tile instructions (an avx512vnni table
// that runs wherever that one does; nullptr elsewhere).
bool amx_tiles_usable();
const KernelTable* amx_kernel_table();
const KernelTable* amx_emulated_kernel_table();

}  // namespace schwarm::cpu

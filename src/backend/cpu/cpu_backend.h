#pragma once
// The CPU backend: the ref ops' semantics (shared checks, routing and slot arithmetic from
// ref/op_common.h), computed in float with a thread pool and SIMD kernels picked once per
// process (kernels.h). Weights are used as stored (memory-mapped): matmul decodes them in
// registers (decode) or a panel of rows at a time into a per-thread buffer (prefill), so no f32
// copy of any weight is kept.
#include <memory>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/repacked_weights.h"
#include "backend/cpu/thread_pool.h"

namespace schwarm {

class CpuBackend final : public Backend {
 public:
  // kernels: the kernel table to use (tests and benchmarks pin one); default cpu::kernels().
  explicit CpuBackend(int n_threads, const cpu::KernelTable* kernels = nullptr)
      : pool_(n_threads), k_(kernels ? *kernels : cpu::kernels()) {}
  std::string name() const override { return "cpu"; }
  const cpu::KernelTable& kernel_table() const { return k_; }
  // In the quantized-activations mode, with integer kernels for repacked Q4_K (kernels.h), copies
  // each Q4_K matrix into that layout (q4k_x16.h); SCHWARM_CPU_REPACK=0 turns it off.
  void prepare_weights(std::span<const TensorView> weights, const CopiedWeightFn& copied) override;
  void embed(const TensorView& table, std::span<const int32_t> ids, std::span<float> y) override;
  void matmul(const TensorView& w, std::span<const float> x, int64_t n, std::span<float> y) override;
  void rms_norm(std::span<const float> x, const TensorView& gain, float eps, std::span<float> y) override;
  void add(std::span<const float> x, std::span<float> y) override;
  void rope(std::span<float> x, int64_t n_heads, int64_t head_dim, std::span<const int32_t> pos,
            const RopeSpec& rope) override;
  void ffn(const FfnWeights& w, std::span<const float> x, int64_t n, std::span<float> y) override;
  void moe(const MoeWeights& w, const MoeSpec& spec, std::span<const float> x, int64_t n,
           std::span<float> y) override;
  void attention(std::span<const float> q, std::span<const float> k, std::span<const float> v, int64_t n_heads,
                 int64_t n_kv_heads, int64_t head_dim, float scale, const BatchLayout& batch, KvLayerCache& cache,
                 std::span<float> out) override;
  void mla_attention(std::span<const float> q_nope, std::span<const float> q_pe, std::span<const float> latent,
                     std::span<const float> k_pe, const MlaKvB& kv_b, int64_t n_heads, int64_t d_nope,
                     int64_t d_rope, int64_t d_v, float scale, const BatchLayout& batch, KvLayerCache& cache,
                     std::span<float> out) override;

 private:
  // One SwiGLU FFN applied to m rows: the unit of the grouped FFN below (an expert and the tokens
  // routed to it, a shared expert and all tokens, or a plain ffn).
  struct FfnGroup {
    const FfnWeights* w;
    int64_t inter;
    const float* x;  // [m, hidden]
    int64_t m;
    float* h;        // [m, inter] scratch: silu(gate x) * (up x)
    float* y;        // [m, hidden] output
    // Optional: x already as gate's and up's kernels read it, rows xq_row0 .. xq_row0 + m of xq
    // (the MoE layer quantizes each token once); x is then unused.
    const cpu::QActs* xq = nullptr;
    int64_t xq_row0 = 0;
  };
  // All groups in two pool jobs: (group, row block) items of gate+up+SwiGLU, then of down, so
  // every thread stays busy however unevenly the tokens spread over the experts.
  void ffn_groups(std::span<const FfnGroup> groups, int64_t hidden);
  // A matmul's input rows as the kernels read them: x itself, or in the quantized-activations
  // mode (Backend::set_quantized_activations) for a K-quant weight either its 8-bit form for the
  // integer kernels (q, decode) or x̂ = x rounded through it, in floats (prefill, or no kernel).
  struct Input {
    const float* x;
    const cpu::QActs* q;
    int64_t q_row0 = 0;  // the input's first row in q
  };
  struct InputScratch {
    std::vector<float> xhat;
    cpu::QActs q;
  };
  Input prepare_input(TensorType type, const float* x, int64_t n, int64_t cols, InputScratch& s);
  // Whether prepare_input gives n rows of `cols` for a weight of `type` their 8-bit form.
  bool int8_input(TensorType type, int64_t n, int64_t cols) const;
  // y[t * ldy + i] = row r0 + i of w · x[t] for i < nr, t < n: one work item, run on this thread.
  void matmul_rows(const TensorView& w, int64_t cols, int64_t r0, int64_t nr, const Input& x, int64_t n, float* y,
                   int64_t ldy) const;
  // Rows per work item for a weight of `cols` columns multiplied with n tokens.
  int64_t rows_per_item(const TensorView& w, int64_t cols, int64_t n) const;
  void matmul_unchecked(const TensorView& w, int64_t rows, int64_t cols, const float* x, int64_t n, float* y);

  cpu::ThreadPool pool_;
  cpu::RepackedWeights repacked_;
  const cpu::KernelTable& k_;
  // Scratch reused between calls (ops are not reentrant; one caller at a time).
  std::vector<float> moe_x_, moe_h_, moe_y_, logits_;
  InputScratch moe_in_;       // MoE: each token's input quantized once (prepare_input) ...
  cpu::QActs moe_xq_rows_;    // ... and its rows gathered per expert
  std::vector<float> attn_kt_, attn_v_;  // GQA: keys (rows or transposed) and values per (kv head, sequence)
  std::vector<float> mla_q_, mla_o_;  // MLA: [n, H, rank + d_rope] queries, [n, H, rank] outputs
  std::vector<float> mla_kc_;  // MLA: key rows [latent, k_pe] of each sequence in the batch
  InputScratch matmul_in_;
  std::vector<InputScratch> ffn_in_;  // 3 per FFN group: gate, up, down
};

}  // namespace schwarm

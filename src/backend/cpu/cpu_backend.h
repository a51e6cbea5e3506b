#pragma once
// The CPU backend: the ref ops' semantics (shared checks, routing and slot arithmetic from
// ref/op_common.h), computed in float with a thread pool and loops the compiler vectorises.
// Weights are never dequantized whole: matmul decodes blocks of rows into a per-thread buffer
// as it goes (F32 rows are read in place), so no f32 copy of any weight is kept.
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/thread_pool.h"

namespace schwarm {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int n_threads) : pool_(n_threads) {}
  std::string name() const override { return "cpu"; }
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
  // SwiGLU FFN without shape checks (ffn/moe check first); `gate`/`up` are scratch of n*inter.
  void ffn_unchecked(const FfnWeights& w, const float* x, int64_t n, int64_t inter, float* y);
  void matmul_unchecked(const TensorView& w, int64_t rows, int64_t cols, const float* x, int64_t n, float* y);

  cpu::ThreadPool pool_;
  // Scratch reused between calls (ops are not reentrant; one caller at a time).
  std::vector<float> gate_, up_, moe_x_, moe_y_, moe_acc_, logits_;
};

}  // namespace schwarm

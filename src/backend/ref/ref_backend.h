#pragma once
// The reference backend: plain scalar loops, double accumulation, every weight dequantized to f32
// with the registry's routine at each call. Slow, single-threaded and meant to be obviously right:
// it defines what every other backend must compute (parity suite). It keeps no weight cache on
// purpose: a cache keyed by data pointer goes stale when a test frees a weight and the next one is
// allocated at the same address, and ref must never be the thing that is wrong.
#include <cstdint>
#include <vector>

#include "backend/backend.h"

namespace schwarm {

class RefBackend final : public Backend {
 public:
  std::string name() const override { return "ref"; }
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
  // The whole weight as f32 (numel values).
  static std::vector<float> dense(const TensorView& w);
};

}  // namespace schwarm

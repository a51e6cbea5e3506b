#pragma once
// The reference backend: plain scalar loops, double accumulation, every weight dequantized once to
// f32 with the registry's routine and cached by its data pointer. Slow, single-threaded and meant
// to be obviously right: it defines what every other backend must compute (parity suite).
#include <cstdint>
#include <map>
#include <mutex>
#include <tuple>
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
  // The whole weight [rows, cols] as f32, dequantized on first use. Keyed by (data pointer, bytes,
  // type): a weight never changes while the backend lives.
  const std::vector<float>& dense(const TensorView& w);

  std::mutex mu_;
  std::map<std::tuple<const uint8_t*, size_t, TensorType>, std::vector<float>> dense_;
};

}  // namespace schwarm

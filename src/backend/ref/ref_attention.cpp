// ref: GQA and MLA attention over the paged cache. Store the batch's rows first, then for each
// token and head a plain softmax over its sequence's positions [0, pos[t]], all in double.
#include <cmath>
#include <limits>
#include <vector>

#include "backend/ref/op_common.h"
#include "backend/ref/ref_backend.h"

namespace schwarm {

using namespace backend_detail;

namespace {
// In-place softmax of s.
void softmax(std::vector<double>& s) {
  double mx = -std::numeric_limits<double>::infinity();
  for (double v : s) mx = std::max(mx, v);
  double sum = 0;
  for (double& v : s) sum += v = std::exp(v - mx);
  for (double& v : s) v /= sum;
}
}  // namespace

void RefBackend::attention(std::span<const float> q, std::span<const float> k, std::span<const float> v,
                           int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale,
                           const BatchLayout& batch, KvLayerCache& cache, std::span<float> out) {
  check_attention(q, k, v, n_heads, n_kv_heads, head_dim, batch, cache, out);
  const int64_t n = batch.n_tokens, kvw = n_kv_heads * head_dim, qw = n_heads * head_dim;
  for (int64_t t = 0; t < n; ++t) {
    const int64_t slot = cache_slot(batch, batch.seq[static_cast<size_t>(t)], batch.pos[static_cast<size_t>(t)]);
    for (int64_t i = 0; i < kvw; ++i) {
      cache.k[static_cast<size_t>(slot * kvw + i)] = k[static_cast<size_t>(t * kvw + i)];
      cache.v[static_cast<size_t>(slot * kvw + i)] = v[static_cast<size_t>(t * kvw + i)];
    }
  }
  const int64_t group = n_heads / n_kv_heads;
  for (int64_t t = 0; t < n; ++t) {
    const int32_t s = batch.seq[static_cast<size_t>(t)], p = batch.pos[static_cast<size_t>(t)];
    for (int64_t h = 0; h < n_heads; ++h) {
      const float* qh = q.data() + t * qw + h * head_dim;
      const int64_t off = (h / group) * head_dim;
      std::vector<double> sc(static_cast<size_t>(p) + 1);
      for (int32_t j = 0; j <= p; ++j) {
        const float* kj = cache.k.data() + cache_slot(batch, s, j) * kvw + off;
        double dot = 0;
        for (int64_t i = 0; i < head_dim; ++i) dot += static_cast<double>(qh[i]) * kj[i];
        sc[static_cast<size_t>(j)] = dot * scale;
      }
      softmax(sc);
      for (int64_t i = 0; i < head_dim; ++i) {
        double acc = 0;
        for (int32_t j = 0; j <= p; ++j)
          acc += sc[static_cast<size_t>(j)] * cache.v[static_cast<size_t>(cache_slot(batch, s, j) * kvw + off + i)];
        out[static_cast<size_t>(t * qw + h * head_dim + i)] = static_cast<float>(acc);
      }
    }
  }
}

void RefBackend::mla_attention(std::span<const float> q_nope, std::span<const float> q_pe,
                               std::span<const float> latent, std::span<const float> k_pe, const MlaKvB& kv_b,
                               int64_t n_heads, int64_t d_nope, int64_t d_rope, int64_t d_v, float scale,
                               const BatchLayout& batch, KvLayerCache& cache, std::span<float> out) {
  const int64_t n = batch.n_tokens;
  const int64_t rank = check_mla(q_nope, q_pe, latent, k_pe, kv_b, n_heads, d_nope, d_rope, d_v, batch, cache, out);
  for (int64_t t = 0; t < n; ++t) {
    const int64_t slot = cache_slot(batch, batch.seq[static_cast<size_t>(t)], batch.pos[static_cast<size_t>(t)]);
    for (int64_t i = 0; i < rank; ++i)
      cache.k[static_cast<size_t>(slot * rank + i)] = latent[static_cast<size_t>(t * rank + i)];
    for (int64_t i = 0; i < d_rope; ++i)
      cache.v[static_cast<size_t>(slot * d_rope + i)] = k_pe[static_cast<size_t>(t * d_rope + i)];
  }
  std::vector<float> w_uk(static_cast<size_t>(d_nope * rank)), w_uv(static_cast<size_t>(d_v * rank)), scratch;
  std::vector<double> q_lat(static_cast<size_t>(rank)), o_lat(static_cast<size_t>(rank));
  for (int64_t h = 0; h < n_heads; ++h) {
    mla_head_weights(kv_b, h, d_nope, d_v, rank, w_uk.data(), w_uv.data(), scratch);
    for (int64_t t = 0; t < n; ++t) {
      const int32_t s = batch.seq[static_cast<size_t>(t)], p = batch.pos[static_cast<size_t>(t)];
      const float* qn = q_nope.data() + (t * n_heads + h) * d_nope;
      const float* qp = q_pe.data() + (t * n_heads + h) * d_rope;
      // q_lat = W_ukᵀ q_nope: the key's nope part, absorbed into the query.
      std::fill(q_lat.begin(), q_lat.end(), 0.0);
      for (int64_t i = 0; i < d_nope; ++i)
        for (int64_t r = 0; r < rank; ++r)
          q_lat[static_cast<size_t>(r)] += static_cast<double>(qn[i]) * w_uk[static_cast<size_t>(i * rank + r)];
      std::vector<double> sc(static_cast<size_t>(p) + 1);
      for (int32_t j = 0; j <= p; ++j) {
        const int64_t slot = cache_slot(batch, s, j);
        const float* c = cache.k.data() + slot * rank;
        const float* kp = cache.v.data() + slot * d_rope;
        double dot = 0;
        for (int64_t r = 0; r < rank; ++r) dot += q_lat[static_cast<size_t>(r)] * c[r];
        for (int64_t i = 0; i < d_rope; ++i) dot += static_cast<double>(qp[i]) * kp[i];
        sc[static_cast<size_t>(j)] = dot * scale;
      }
      softmax(sc);
      std::fill(o_lat.begin(), o_lat.end(), 0.0);
      for (int32_t j = 0; j <= p; ++j) {
        const float* c = cache.k.data() + cache_slot(batch, s, j) * rank;
        for (int64_t r = 0; r < rank; ++r) o_lat[static_cast<size_t>(r)] += sc[static_cast<size_t>(j)] * c[r];
      }
      for (int64_t i = 0; i < d_v; ++i) {
        double acc = 0;
        for (int64_t r = 0; r < rank; ++r)
          acc += static_cast<double>(w_uv[static_cast<size_t>(i * rank + r)]) * o_lat[static_cast<size_t>(r)];
        out[static_cast<size_t>((t * n_heads + h) * d_v + i)] = static_cast<float>(acc);
      }
    }
  }
}

}  // namespace schwarm

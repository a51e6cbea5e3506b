// cpu: GQA and MLA attention over the paged cache. The batch's rows are stored first (serially:
// a few KiB), then GQA runs one task per (token, head) and MLA one task per head (its up-projection
// decoded once into a per-thread buffer, then reused for every token). Scores and softmax in float.
#include <algorithm>
#include <cmath>
#include <limits>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/row_decode.h"
#include "backend/cpu/vec.h"
#include "backend/ref/op_common.h"

namespace schwarm {

using namespace backend_detail;

namespace {
// In-place softmax of s[0..n).
void softmax(float* s, int64_t n) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n; ++j) mx = std::max(mx, s[j]);
  float sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += s[j] = std::exp(s[j] - mx);
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < n; ++j) s[j] *= inv;
}

// Slot of each position [0, p] of sequence s, precomputed per token (the page-table walk).
void slots_of(const BatchLayout& b, int32_t s, int32_t p, std::vector<int64_t>& out) {
  out.resize(static_cast<size_t>(p) + 1);
  for (int32_t j = 0; j <= p; ++j) out[static_cast<size_t>(j)] = cache_slot(b, s, j);
}
}  // namespace

void CpuBackend::attention(std::span<const float> q, std::span<const float> k, std::span<const float> v,
                           int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale,
                           const BatchLayout& batch, KvLayerCache& cache, std::span<float> out) {
  check_attention(q, k, v, n_heads, n_kv_heads, head_dim, batch, cache, out);
  const int64_t n = batch.n_tokens, kvw = n_kv_heads * head_dim, qw = n_heads * head_dim;
  for (int64_t t = 0; t < n; ++t) {
    const int64_t slot = cache_slot(batch, batch.seq[static_cast<size_t>(t)], batch.pos[static_cast<size_t>(t)]);
    std::copy_n(k.data() + t * kvw, kvw, cache.k.data() + slot * kvw);
    std::copy_n(v.data() + t * kvw, kvw, cache.v.data() + slot * kvw);
  }
  const int64_t group = n_heads / n_kv_heads;
  // One task per (token, kv head): the group's query heads share the walk over the keys.
  pool_.parallel_for(n * n_kv_heads, 1, [&](int64_t b, int64_t e) {
    thread_local std::vector<float> sc;
    thread_local std::vector<int64_t> slots;
    for (int64_t task = b; task < e; ++task) {
      const int64_t t = task / n_kv_heads, kvh = task % n_kv_heads;
      const int32_t p = batch.pos[static_cast<size_t>(t)];
      slots_of(batch, batch.seq[static_cast<size_t>(t)], p, slots);
      sc.resize(static_cast<size_t>(p) + 1);
      for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
        const float* qh = q.data() + t * qw + h * head_dim;
        for (int32_t j = 0; j <= p; ++j)
          sc[static_cast<size_t>(j)] =
              cpu::dot(qh, cache.k.data() + slots[static_cast<size_t>(j)] * kvw + kvh * head_dim, head_dim) * scale;
        softmax(sc.data(), p + 1);
        float* oh = out.data() + t * qw + h * head_dim;
        std::fill_n(oh, head_dim, 0.0f);
        for (int32_t j = 0; j <= p; ++j)
          cpu::axpy(sc[static_cast<size_t>(j)], cache.v.data() + slots[static_cast<size_t>(j)] * kvw + kvh * head_dim,
                    oh, head_dim);
      }
    }
  });
}

void CpuBackend::mla_attention(std::span<const float> q_nope, std::span<const float> q_pe,
                               std::span<const float> latent, std::span<const float> k_pe, const MlaKvB& kv_b,
                               int64_t n_heads, int64_t d_nope, int64_t d_rope, int64_t d_v, float scale,
                               const BatchLayout& batch, KvLayerCache& cache, std::span<float> out) {
  const int64_t n = batch.n_tokens;
  const int64_t rank = check_mla(q_nope, q_pe, latent, k_pe, kv_b, n_heads, d_nope, d_rope, d_v, batch, cache, out);
  for (int64_t t = 0; t < n; ++t) {
    const int64_t slot = cache_slot(batch, batch.seq[static_cast<size_t>(t)], batch.pos[static_cast<size_t>(t)]);
    std::copy_n(latent.data() + t * rank, rank, cache.k.data() + slot * rank);
    std::copy_n(k_pe.data() + t * d_rope, d_rope, cache.v.data() + slot * d_rope);
  }
  // Per head: W_uk and W_uv are applied to all tokens at once with the matmul kernels, straight
  // from the stored rows (no f32 copy), except the joint kv_b's W_uk, whose product is by its
  // transpose: those d_nope rows are decoded once per head and call.
  const bool split = kv_b.is_split();
  pool_.parallel_for(n_heads, 1, [&](int64_t b, int64_t e) {
    thread_local std::vector<float> w_uk, qn_h, q_lat, o_lat, o_h, sc;
    thread_local std::vector<int64_t> slots;
    q_lat.resize(static_cast<size_t>(n * rank));
    o_lat.resize(static_cast<size_t>(n * rank));
    o_h.resize(static_cast<size_t>(n * d_v));
    for (int64_t h = b; h < e; ++h) {
      // q_lat[t] = W_ukᵀ q_nope[t, h] (rank): the nope key absorbed into the query.
      if (split) {
        qn_h.resize(static_cast<size_t>(n * d_nope));
        for (int64_t t = 0; t < n; ++t)
          std::copy_n(q_nope.data() + (t * n_heads + h) * d_nope, d_nope, qn_h.data() + t * d_nope);
        matmul_rows(kv_b.k_b, d_nope, h * rank, rank, Input{qn_h.data(), nullptr}, n, q_lat.data(), rank);
      } else {
        w_uk.resize(static_cast<size_t>(d_nope * rank));
        cpu::decode_rows(kv_b.kv_b, h * (d_nope + d_v), d_nope, rank, w_uk.data());
        for (int64_t t = 0; t < n; ++t) {
          const float* qn = q_nope.data() + (t * n_heads + h) * d_nope;
          float* ql = q_lat.data() + t * rank;
          std::fill_n(ql, rank, 0.0f);
          for (int64_t i = 0; i < d_nope; ++i) cpu::axpy(qn[i], w_uk.data() + i * rank, ql, rank);
        }
      }
      for (int64_t t = 0; t < n; ++t) {
        const int32_t p = batch.pos[static_cast<size_t>(t)];
        slots_of(batch, batch.seq[static_cast<size_t>(t)], p, slots);
        const float* qp = q_pe.data() + (t * n_heads + h) * d_rope;
        const float* ql = q_lat.data() + t * rank;
        sc.resize(static_cast<size_t>(p) + 1);
        for (int32_t j = 0; j <= p; ++j) {
          const int64_t slot = slots[static_cast<size_t>(j)];
          sc[static_cast<size_t>(j)] =
              (cpu::dot(ql, cache.k.data() + slot * rank, rank) + cpu::dot(qp, cache.v.data() + slot * d_rope, d_rope)) *
              scale;
        }
        softmax(sc.data(), p + 1);
        float* ol = o_lat.data() + t * rank;
        std::fill_n(ol, rank, 0.0f);
        for (int32_t j = 0; j <= p; ++j)
          cpu::axpy(sc[static_cast<size_t>(j)], cache.k.data() + slots[static_cast<size_t>(j)] * rank, ol, rank);
      }
      // out[t, h] = W_uv o_lat[t]
      if (split)
        matmul_rows(kv_b.v_b, rank, h * d_v, d_v, Input{o_lat.data(), nullptr}, n, o_h.data(), d_v);
      else
        matmul_rows(kv_b.kv_b, rank, h * (d_nope + d_v) + d_nope, d_v, Input{o_lat.data(), nullptr}, n, o_h.data(),
                    d_v);
      for (int64_t t = 0; t < n; ++t)
        std::copy_n(o_h.data() + t * d_v, d_v, out.data() + (t * n_heads + h) * d_v);
    }
  });
}

}  // namespace schwarm

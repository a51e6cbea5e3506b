#pragma once
// The math of the paged attention kernels (kernels/attention.cu) that is not CUDA-specific, as
// __host__ __device__ functions so that a host test (tests/unit/cuda_attention_host_test.cpp)
// checks it against the ref backend: the paged-cache slot of a position, the online softmax
// (running max m, running sum l, accumulator rescaled by alpha on every new maximum) and the
// merge of several partial (m, l, acc) states into the final weights.
#include <math.h>

#include <cstdint>

#include "hd.cuh"

namespace schwarm::cuda::k {

// Slot index of (seq, pos) in a paged cache whose page table is [n_seqs, max_pages] row-major:
// the same as backend_detail::cache_slot (src/backend/ref/op_common.cpp). The row of the slot
// starts at cache + slot * width.
SCHWARM_HD inline int64_t paged_slot(const int32_t* page_table, int64_t max_pages, int64_t page_tokens, int32_t seq,
                                     int32_t pos) {
  const int64_t page = page_table[static_cast<int64_t>(seq) * max_pages + pos / page_tokens];
  return page * page_tokens + pos % page_tokens;
}

// Running softmax over a stream of scores. After adding scores s_1..s_n:
//   m = max_j s_j, l = sum_j exp(s_j - m),
// and an accumulator kept as acc = acc * alpha + p * v_j (alpha, p from add) equals
// sum_j exp(s_j - m) * v_j. An empty state has m = -inf, l = 0.
struct OnlineSoftmax {
  float m = -INFINITY;
  float l = 0.0f;

  // Adds score s; alpha rescales what was accumulated so far, p weighs the new value.
  SCHWARM_HD void add(float s, float& alpha, float& p) {
    const float m_new = fmaxf(m, s);
    // exp(-inf - m_new) would be exp(nan) when m_new is -inf too; nothing was accumulated anyway.
    alpha = m == -INFINITY ? 0.0f : expf(m - m_new);
    p = m_new == -INFINITY ? 0.0f : expf(s - m_new);
    l = l * alpha + p;
    m = m_new;
  }
};

// Weight of a partial state with running max m_part in the merge over all partials with overall
// max m_all: exp(m_part - m_all), 0 for an empty partial (m_part = -inf).
SCHWARM_HD inline float merge_weight(float m_part, float m_all) {
  return m_part == -INFINITY ? 0.0f : expf(m_part - m_all);
}

// Merges n partial states (m[i], l[i]): writes w[i] = merge_weight(m[i], max m) and returns the
// total L = sum_i l[i] * w[i]. The merged result is sum_i acc_i * w[i] / L (L = 0 only when every
// partial is empty).
SCHWARM_HD inline float merge_partials(const float* m, const float* l, int n, float* w) {
  float m_all = -INFINITY;
  for (int i = 0; i < n; ++i) m_all = fmaxf(m_all, m[i]);
  float total = 0.0f;
  for (int i = 0; i < n; ++i) {
    w[i] = merge_weight(m[i], m_all);
    total += l[i] * w[i];
  }
  return total;
}

// Per-lane register chunks for a row of `width` floats spread over a warp (lane + 32 * i): the
// smallest power of two >= ceil(width / 32), 0 when width exceeds kMaxAttentionWidth.
constexpr int64_t kMaxAttentionWidth = 1024;
SCHWARM_HD constexpr int attention_chunks(int64_t width) {
  if (width <= 0 || width > kMaxAttentionWidth) return 0;
  const int64_t need = (width + 31) / 32;
  int c = 1;
  while (c < need) c *= 2;
  return c;
}

}  // namespace schwarm::cuda::k

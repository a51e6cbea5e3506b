#pragma once
// The on-device sampler's logic (kernels/sampling.cu) as __host__ __device__ code, so that a host
// test (tests/unit/cuda_route_host_test.cpp) checks it against TokenSampler::distribution and
// TokenSampler::sample (src/runtime/sampler.cpp, which defines the semantics) bit for bit.
//
// How it stays exact: every token gets a 64-bit sort key (its logit's order-preserving bits above
// the complement of its id), so that descending key order is exactly TokenSampler's candidate
// order (logit descending, smaller id first on ties; NaN counts as -inf, -0 as +0) and the keys
// are distinct. Once the keys are sorted (the device sorts them with CUB's radix sort), each step
// works on a prefix of them:
//   the candidates are the keys whose logit is not -inf (a prefix: -inf sorts last);
//   top_k keeps the first k; top_p and min_p the prefixes TokenSampler keeps; the draw walks the
//   rest. Softmax sums and the cumulative sums run sequentially in one thread in that same
//   descending order, the operations TokenSampler performs, one by one; only the exp() terms are
//   computed in parallel (each is independent of the others).
// Differences from the host: none in the host build of this header; on the device, exp() is
// CUDA's double exp (within 1 ulp of the exact value, glibc's too), so a probability may differ
// from the host's in its last bits, and a token can differ only where u or top_p falls within
// such a rounding of a cumulative boundary.
#include <math.h>

#include <cstdint>

#include "sampling_params.h"

#include "device_float.cuh"
#include "hd.cuh"

namespace schwarm::cuda::k {

// ---- sort keys ---------------------------------------------------------------------------------

// Bits the id takes in a key: the smallest b >= 1 with 2^b >= vocab (vocab <= 2^31 - 1).
SCHWARM_HD inline int sample_id_bits(int64_t vocab) {
  int b = 1;
  while ((int64_t{1} << b) < vocab) ++b;
  return b;
}

// The key of token id with this logit: larger key = earlier in TokenSampler's order.
SCHWARM_HD inline uint64_t sample_key(float logit, int32_t id, int id_bits) {
  if (logit != logit) logit = -INFINITY;  // NaN counts as -inf
  if (logit == 0.0f) logit = 0.0f;        // -0 == +0 for the comparisons, so one key for both
  const uint32_t b = f32_bits(logit);
  const uint32_t ordered = (b & 0x80000000u) ? ~b : (b | 0x80000000u);  // unsigned order = float order
  const uint64_t id_mask = (uint64_t{1} << id_bits) - 1;
  return (static_cast<uint64_t>(ordered) << id_bits) | (id_mask - static_cast<uint64_t>(id));
}

SCHWARM_HD inline int32_t sample_key_id(uint64_t key, int id_bits) {
  const uint64_t id_mask = (uint64_t{1} << id_bits) - 1;
  return static_cast<int32_t>(id_mask - (key & id_mask));
}

// The logit the key was made from (NaN as -inf, -0 as +0).
SCHWARM_HD inline float sample_key_logit(uint64_t key, int id_bits) {
  const auto ordered = static_cast<uint32_t>(key >> id_bits);
  return f32_from_bits((ordered & 0x80000000u) ? (ordered & 0x7fffffffu) : ~ordered);
}

// ---- the steps, on keys sorted in descending order ---------------------------------------------

// How many of the sorted keys[0, vocab) are candidates (logit > -inf): they form a prefix.
SCHWARM_HD inline int64_t sample_candidates(const uint64_t* keys, int64_t vocab, int id_bits) {
  int64_t lo = 0, hi = vocab;  // keys[0, lo) are candidates, keys[hi, vocab) are not
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (sample_key_logit(keys[mid], id_bits) != -INFINITY)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

// TokenSampler's softmax numerator: exp((logit - max logit) / t).
SCHWARM_HD inline double sample_softmax_term(float logit, float max_logit, double t) {
  return exp((static_cast<double>(logit) - static_cast<double>(max_logit)) / t);
}

// Calls visit(i, e[i]) for i = 0, 1, ... in order until it returns true; returns that i, or n if
// it never does. The same as a plain loop; the batching is for the device, where this runs in one
// thread over up to a whole vocabulary: the loads of a batch are independent (one wait per batch,
// not per element), and the line a few batches ahead is prefetched into L1.
constexpr int kSampleScanBatch = 16;  // 16 doubles: one 128-byte line; 32 registers

template <class Visit>
SCHWARM_HD int64_t sample_scan(const double* e, int64_t n, Visit visit) {
  int64_t i = 0;
  for (; i + kSampleScanBatch <= n; i += kSampleScanBatch) {
#if defined(__CUDA_ARCH__)
    if (i + 4 * kSampleScanBatch < n) asm volatile("prefetch.L1 [%0];" ::"l"(e + i + 4 * kSampleScanBatch));
#endif
    double batch[kSampleScanBatch];
    SCHWARM_UNROLL
    for (int j = 0; j < kSampleScanBatch; ++j) batch[j] = e[i + j];
    SCHWARM_UNROLL
    for (int j = 0; j < kSampleScanBatch; ++j)
      if (visit(i + j, batch[j])) return i + j;
  }
  for (; i < n; ++i)
    if (visit(i, e[i])) return i;
  return n;
}

// The sum of e[0, n) in order: TokenSampler's softmax denominator.
SCHWARM_HD inline double sample_sum(const double* e, int64_t n) {
  double sum = 0;
  sample_scan(e, n, [&](int64_t, double x) {
    sum += x;
    return false;
  });
  return sum;
}

// top_p over the softmax terms e[0, n) (temperature 1): the shortest prefix whose mass reaches
// top_p, n if none does.
SCHWARM_HD inline int64_t sample_top_p_keep(const double* e, int64_t n, float top_p) {
  const double sum = sample_sum(e, n);
  double cum = 0;
  const int64_t last = sample_scan(e, n, [&](int64_t, double x) {
    cum += x / sum;
    return cum >= top_p;
  });
  return last < n ? last + 1 : n;
}

// min_p over the softmax terms e[0, n) (temperature 1): the prefix with p >= min_p * p_max (>= 1).
SCHWARM_HD inline int64_t sample_min_p_keep(const double* e, int64_t n, float min_p) {
  const double sum = sample_sum(e, n);
  const double p_floor = static_cast<double>(min_p) * (e[0] / sum);
  const int64_t first_out = sample_scan(e, n, [&](int64_t i, double x) { return i > 0 && !(x / sum >= p_floor); });
  return first_out;
}

// The draw over the softmax terms e[0, n) (at the temperature): the first index whose cumulative
// probability exceeds u, else the last.
SCHWARM_HD inline int64_t sample_draw(const double* e, int64_t n, double u) {
  const double sum = sample_sum(e, n);
  double cum = 0;
  const int64_t chosen = sample_scan(e, n, [&](int64_t, double x) {
    cum += x / sum;
    return u < cum;
  });
  return chosen < n ? chosen : n - 1;
}

// ---- the whole chain ---------------------------------------------------------------------------

// A team of threads running sample_sorted together. The host's is one thread; the device's
// (sampling.cu) is a block: for_each spreads the indices over its threads and ends with a
// barrier, one runs f on thread 0 and hands its result to every thread.
struct HostTeam {
  template <class F>
  void for_each(int64_t n, F f) {
    for (int64_t i = 0; i < n; ++i) f(i);
  }
  template <class F>
  int64_t one(F f) {
    return f();
  }
};

// TokenSampler's chain (less the penalty) over keys[0, vocab) sorted in descending order, with
// the caller's uniform u in [0, 1); e: scratch for vocab doubles. Returns the chosen id and sets
// *kept to the size of the final distribution: 1 means TokenSampler::sample would not have
// drawn u from its RNG. Every thread of the team returns the same.
template <class Team>
SCHWARM_HD int32_t sample_sorted(Team& team, const uint64_t* keys, int64_t vocab, int id_bits, const SampleParams& p,
                                 double u, double* e, int64_t* kept) {
  const int64_t m = team.one([&] { return sample_candidates(keys, vocab, id_bits); });
  *kept = 1;
  // Greedy, or nothing but -inf: the first argmax, which is the largest key (id 0 if all -inf).
  if (p.temperature == 0.0f || m == 0) return sample_key_id(keys[0], id_bits);
  int64_t k = p.top_k > 0 && p.top_k < m ? int64_t{p.top_k} : m;
  const float mx = sample_key_logit(keys[0], id_bits);
  auto fill = [&](int64_t n, double t) {
    team.for_each(n, [&](int64_t i) { e[i] = sample_softmax_term(sample_key_logit(keys[i], id_bits), mx, t); });
  };
  bool filled_at_1 = false;  // e[0, k) holds the terms at temperature 1
  if (p.top_p < 1.0f) {
    fill(k, 1.0);
    filled_at_1 = true;
    k = team.one([&] { return sample_top_p_keep(e, k, p.top_p); });
  }
  if (p.min_p > 0.0f) {
    if (!filled_at_1) fill(k, 1.0);
    k = team.one([&] { return sample_min_p_keep(e, k, p.min_p); });
  }
  fill(k, static_cast<double>(p.temperature));
  const int64_t chosen = team.one([&] { return k == 1 ? int64_t{0} : sample_draw(e, k, u); });
  *kept = k;
  return sample_key_id(keys[chosen], id_bits);
}

}  // namespace schwarm::cuda::k

#pragma once
// MoE routing of one token as a __host__ __device__ function: the same selection and weights as
// backend_detail::route_token (src/backend/ref/op_common.cpp, which defines them; rules in
// backend.h, MoeSpec), step by step in the same double arithmetic, without std::vector/std::sort:
// fixed-size arrays in a caller-provided RouteWorkspace (shared memory on the device), and top-k
// by repeated selection in the order a stable descending sort gives (value descending, ties to
// the lower index). tests/unit/cuda_route_host_test.cpp checks it against route_token on the host
// bit for bit. On the device, exp() is CUDA's double exp (within 1 ulp, not always glibc's
// result), so a weight can differ in the last bit of the double before its rounding to float.
// None of the arithmetic below has the a*b+c shape, so FMA contraction cannot change it.
// NaN logits: which experts are picked is unspecified (route_token sorts them with
// std::stable_sort, which has no order for NaN either), but they are always top_k distinct valid
// expert ids.
#include <math.h>

#include <cstdint>

#include "moe_route_params.h"

#include "hd.cuh"

namespace schwarm::cuda::k {

// Scratch of one token's routing: about 8.7 KiB.
struct RouteWorkspace {
  double scores[kMaxRouteExperts];      // softmax / sigmoid of the logits (weights come from these)
  double choice[kMaxRouteExperts];      // scores + bias, -inf outside the kept groups (selection)
  double group_score[kMaxRouteGroups];
  int32_t group_sel[kMaxRouteGroups];   // the kept groups
  bool keep_group[kMaxRouteGroups];
  int32_t sel[kMaxRouteTopK];           // the selected experts, best first
};

// out[0..k) = indices of the k largest of v[0..n), largest first, ties to the lower index: the
// first k of a stable sort by descending value (route_token's top_k_indices). Each pick is the
// best element that comes strictly after the previous pick in that order. O(n k).
SCHWARM_HD inline void route_top_k(const double* v, int32_t n, int32_t k, int32_t* out) {
  for (int32_t i = 0; i < k; ++i) {
    int32_t best = -1;
    for (int32_t e = 0; e < n; ++e) {
      if (i > 0) {
        const int32_t prev = out[i - 1];
        const bool after_prev = v[e] < v[prev] || (v[e] == v[prev] && e > prev);
        if (!after_prev) continue;
      }
      if (best < 0 || v[e] > v[best]) best = e;
    }
    if (best < 0) {  // only with NaN in v (unordered): the lowest index not picked yet, so ids stay valid
      for (int32_t e = 0; e < n && best < 0; ++e) {
        bool taken = false;
        for (int32_t j = 0; j < i; ++j) taken = taken || out[j] == e;
        if (!taken) best = e;
      }
    }
    out[i] = best;
  }
}

// Routes one token: logits[p.n_experts] (and bias[p.n_experts] or nullptr) to ids[p.top_k] and
// weights[p.top_k]. p must pass route_params_error (the launcher checks it).
SCHWARM_HD inline void route_token_hd(const RouteParams& p, const float* logits, const float* bias, int32_t* ids,
                                      float* weights, RouteWorkspace& ws) {
  const int32_t n = p.n_experts;
  double* scores = ws.scores;
  double* choice = ws.choice;
  if (p.scoring == kRouteSoftmax) {
    double mx = -INFINITY;
    for (int32_t e = 0; e < n; ++e) {
      const double x = logits[e];
      mx = mx < x ? x : mx;  // std::max(mx, x)
    }
    double sum = 0;
    for (int32_t e = 0; e < n; ++e) {
      scores[e] = exp(static_cast<double>(logits[e]) - mx);
      sum += scores[e];
    }
    for (int32_t e = 0; e < n; ++e) scores[e] /= sum;
  } else {
    for (int32_t e = 0; e < n; ++e) scores[e] = 1.0 / (1.0 + exp(-static_cast<double>(logits[e])));
  }
  // Selection uses the biased scores (V3's e_score_correction_bias); the weights the unbiased ones.
  for (int32_t e = 0; e < n; ++e) {
    choice[e] = scores[e];
    if (bias) choice[e] += bias[e];
  }
  if (p.group_rule != kRouteGroupNone) {
    const int32_t n_group = p.n_group, gsize = n / n_group;
    for (int32_t g = 0; g < n_group; ++g) {
      // The two largest of the group, as the first two of its descending sort (equal values count twice).
      double m1 = -INFINITY, m2 = -INFINITY;
      for (int32_t j = 0; j < gsize; ++j) {
        const double x = choice[g * gsize + j];
        if (x > m1) {
          m2 = m1;
          m1 = x;
        } else if (x > m2) {
          m2 = x;
        }
      }
      ws.group_score[g] = p.group_rule == kRouteGroupMax ? m1 : m1 + m2;
    }
    for (int32_t g = 0; g < n_group; ++g) ws.keep_group[g] = false;
    route_top_k(ws.group_score, n_group, p.topk_group, ws.group_sel);
    for (int32_t i = 0; i < p.topk_group; ++i) ws.keep_group[ws.group_sel[i]] = true;
    for (int32_t e = 0; e < n; ++e)
      if (!ws.keep_group[e / gsize]) choice[e] = -INFINITY;
  }
  route_top_k(choice, n, p.top_k, ws.sel);
  double sum = 0;
  for (int32_t i = 0; i < p.top_k; ++i) sum += scores[ws.sel[i]];
  const double norm = p.norm_topk_prob ? 1.0 / (sum + 1e-20) : 1.0;
  for (int32_t i = 0; i < p.top_k; ++i) {
    ids[i] = ws.sel[i];
    weights[i] = static_cast<float>(scores[ws.sel[i]] * norm * static_cast<double>(p.routed_scaling_factor));
  }
}

}  // namespace schwarm::cuda::k

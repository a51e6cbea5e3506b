// cpu: the MoE layer grouped by expert. Router logits for all tokens in one matmul, routing per
// token (route_token, the same rule as ref); then every selected expert (over the gathered rows
// of the tokens that chose it) and every shared expert (over all tokens) run together as one
// grouped FFN (ffn_groups: two pool jobs of (expert, row block) items; in the quantized-activations
// mode each token's input is quantized once and its 8-bit row gathered per expert); last, each token's
// output is the weighted sum of its experts' rows plus the shared experts' rows. For decode
// (n = 1) this is the fused step: only the k selected experts' weights are read, each once.
#include <algorithm>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/vec.h"
#include "backend/ref/op_common.h"

namespace schwarm {

using namespace backend_detail;

void CpuBackend::moe(const MoeWeights& w, const MoeSpec& spec, std::span<const float> x, int64_t n,
                     std::span<float> y) {
  const int64_t hidden = check_moe_args(w, spec, x, n, y);
  const std::vector<float> bias = selection_bias(w, spec);
  const int64_t E = spec.n_experts, K = spec.top_k;
  logits_.resize(static_cast<size_t>(n * E));
  matmul_unchecked(w.router, E, hidden, x.data(), n, logits_.data());
  std::vector<int32_t> ids(static_cast<size_t>(n * K));
  std::vector<float> wts(static_cast<size_t>(n * K));
  pool_.parallel_for(n, 16, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      route_token(spec, logits_.data() + t * E, bias.empty() ? nullptr : bias.data(), ids.data() + t * K,
                  wts.data() + t * K);
  });
  // Rows of each expert, in token order: first[e] .. first[e + 1] index `slot` (token, choice i).
  std::vector<int64_t> first(static_cast<size_t>(E + 1), 0), slot(static_cast<size_t>(n * K));
  for (int32_t e : ids) ++first[static_cast<size_t>(e) + 1];
  for (int64_t e = 0; e < E; ++e) first[static_cast<size_t>(e + 1)] += first[static_cast<size_t>(e)];
  {
    std::vector<int64_t> fill(first.begin(), first.end() - 1);
    for (int64_t s = 0; s < n * K; ++s) slot[static_cast<size_t>(fill[static_cast<size_t>(ids[static_cast<size_t>(s)])]++)] = s;
  }
  // Scratch: gathered inputs [n*K, hidden]; outputs [n*K + n*n_shared, hidden]; h likewise by inter.
  const auto n_shared = static_cast<int64_t>(w.shared.size());
  std::vector<FfnGroup> groups;
  int64_t h_size = 0;
  for (int64_t e = 0; e < E; ++e) {
    const int64_t m = first[static_cast<size_t>(e + 1)] - first[static_cast<size_t>(e)];
    if (m > 0) h_size += m * w.experts[static_cast<size_t>(e)].gate.shape[0];
  }
  for (const FfnWeights& f : w.shared) h_size += n * f.gate.shape[0];
  moe_h_.resize(static_cast<size_t>(h_size));
  moe_y_.resize(static_cast<size_t>((n * K + n * n_shared) * hidden));
  // The experts' input rows, gathered in slot order (row s belongs to slot[s]'s token). Where the
  // routed experts' gate and up read 8-bit activations whatever their token counts (int8_input at
  // one token: the gemv kernels), each token is quantized once and its 8-bit row gathered K times,
  // instead of gathering K float copies and quantizing each.
  const TensorType gate_type = w.experts[0].gate.type;
  bool quantize_once = int8_input(gate_type, 1, hidden);
  for (const FfnWeights& f : w.experts) quantize_once = quantize_once && f.gate.type == gate_type && f.up.type == gate_type;
  std::vector<int64_t> token_of(static_cast<size_t>(n * K));
  for (int64_t s = 0; s < n * K; ++s) token_of[static_cast<size_t>(s)] = slot[static_cast<size_t>(s)] / K;
  const cpu::QActs* xq = quantize_once ? prepare_input(gate_type, x.data(), n, hidden, moe_in_).q : nullptr;
  if (xq) {
    cpu::size_q8_acts(n * K, hidden, moe_xq_rows_);
    pool_.parallel_for(n * K, 64, [&](int64_t s0, int64_t s1) {
      cpu::gather_q8_act_rows(*xq, token_of.data(), s0, s1, moe_xq_rows_);
    });
  } else {
    moe_x_.resize(static_cast<size_t>(n * K * hidden));
    pool_.parallel_for(n * K, 64, [&](int64_t s0, int64_t s1) {
      for (int64_t s = s0; s < s1; ++s)
        std::copy_n(x.data() + token_of[static_cast<size_t>(s)] * hidden, hidden, moe_x_.data() + s * hidden);
    });
  }
  float* h = moe_h_.data();
  for (int64_t e = 0; e < E; ++e) {
    const int64_t b = first[static_cast<size_t>(e)], m = first[static_cast<size_t>(e + 1)] - b;
    if (m == 0) continue;
    const FfnWeights& f = w.experts[static_cast<size_t>(e)];
    FfnGroup g{&f, f.gate.shape[0], xq ? nullptr : moe_x_.data() + b * hidden, m, h, moe_y_.data() + b * hidden};
    if (xq) g.xq = &moe_xq_rows_, g.xq_row0 = b;
    groups.push_back(g);
    h += m * f.gate.shape[0];
  }
  float* ys = moe_y_.data() + n * K * hidden;
  for (const FfnWeights& f : w.shared) {
    FfnGroup g{&f, f.gate.shape[0], x.data(), n, h, ys};
    if (xq && f.gate.type == gate_type && f.up.type == gate_type) g.xq = xq;  // all n tokens
    groups.push_back(g);
    h += n * f.gate.shape[0];
    ys += n * hidden;
  }
  ffn_groups(groups, hidden);
  // Combine: y[t] = Σ_i wt[t, i] · out[row of (t, i)] + Σ_shared out_s[t].
  std::vector<int64_t> row_of(static_cast<size_t>(n * K));
  for (int64_t r = 0; r < n * K; ++r) row_of[static_cast<size_t>(slot[static_cast<size_t>(r)])] = r;
  pool_.parallel_for(n, 4, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      float* yt = y.data() + t * hidden;
      std::fill_n(yt, hidden, 0.0f);
      for (int64_t i = 0; i < K; ++i) {
        const int64_t s = t * K + i;
        cpu::axpy(wts[static_cast<size_t>(s)], moe_y_.data() + row_of[static_cast<size_t>(s)] * hidden, yt, hidden);
      }
      for (int64_t sh = 0; sh < n_shared; ++sh) cpu::axpy(1.0f, moe_y_.data() + (n * K + sh * n + t) * hidden, yt, hidden);
    }
  });
}

}  // namespace schwarm

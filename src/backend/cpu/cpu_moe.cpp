// cpu: the MoE layer grouped by expert. Router logits for all tokens in one matmul, routing per
// token (route_token, the same rule as ref), then each selected expert runs once over the rows of
// the tokens that chose it (gathered), and its output is scattered back with the token's weight.
// The shared experts run once over all tokens.
#include <algorithm>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/vec.h"
#include "backend/ref/op_common.h"

namespace schwarm {

using namespace backend_detail;

void CpuBackend::moe(const MoeWeights& w, const MoeSpec& spec, std::span<const float> x, int64_t n,
                     std::span<float> y) {
  const int64_t hidden = check_moe_args(w, spec, x, n, y);
  std::vector<int64_t> inter_e, inter_s;  // intermediate size of each expert
  for (const FfnWeights& f : w.experts) inter_e.push_back(f.gate.shape[0]);
  for (const FfnWeights& f : w.shared) inter_s.push_back(f.gate.shape[0]);

  const std::vector<float> bias = selection_bias(w, spec);
  const int64_t E = spec.n_experts, K = spec.top_k;
  logits_.resize(static_cast<size_t>(n * E));
  matmul_unchecked(w.router, E, hidden, x.data(), n, logits_.data());
  std::vector<int32_t> ids(static_cast<size_t>(n * K));
  std::vector<float> wts(static_cast<size_t>(n * K));
  for (int64_t t = 0; t < n; ++t)
    route_token(spec, logits_.data() + t * E, bias.empty() ? nullptr : bias.data(), ids.data() + t * K,
                wts.data() + t * K);
  // Tokens per expert, in token order.
  std::vector<std::vector<std::pair<int64_t, float>>> by_expert(static_cast<size_t>(E));
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < K; ++i)
      by_expert[static_cast<size_t>(ids[static_cast<size_t>(t * K + i)])].emplace_back(t, wts[static_cast<size_t>(t * K + i)]);

  moe_acc_.assign(static_cast<size_t>(n * hidden), 0.0f);
  for (int64_t e = 0; e < E; ++e) {
    const auto& toks = by_expert[static_cast<size_t>(e)];
    if (toks.empty()) continue;
    const auto m = static_cast<int64_t>(toks.size());
    moe_x_.resize(static_cast<size_t>(m * hidden));
    moe_y_.resize(static_cast<size_t>(m * hidden));
    for (int64_t i = 0; i < m; ++i)
      std::copy_n(x.data() + toks[static_cast<size_t>(i)].first * hidden, hidden, moe_x_.data() + i * hidden);
    ffn_unchecked(w.experts[static_cast<size_t>(e)], moe_x_.data(), m, inter_e[static_cast<size_t>(e)], moe_y_.data());
    for (int64_t i = 0; i < m; ++i)
      cpu::axpy(toks[static_cast<size_t>(i)].second, moe_y_.data() + i * hidden,
                moe_acc_.data() + toks[static_cast<size_t>(i)].first * hidden, hidden);
  }
  moe_y_.resize(static_cast<size_t>(n * hidden));
  for (size_t s = 0; s < w.shared.size(); ++s) {
    ffn_unchecked(w.shared[s], x.data(), n, inter_s[s], moe_y_.data());
    cpu::axpy(1.0f, moe_y_.data(), moe_acc_.data(), n * hidden);
  }
  std::copy(moe_acc_.begin(), moe_acc_.end(), y.begin());
}

}  // namespace schwarm

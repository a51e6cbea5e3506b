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
  check_moe(w, spec, "moe");
  const Dims2 r = weight_dims(w.router, "moe");
  const int64_t hidden = r.cols;
  check(r.rows == spec.n_experts, "moe",
        "router " + shape_str(w.router.shape) + " for " + std::to_string(spec.n_experts) + " experts");
  check(n >= 0 && x.size() == static_cast<size_t>(n * hidden) && y.size() == x.size(), "moe",
        "x of " + std::to_string(x.size()) + ", y of " + std::to_string(y.size()) + " floats for n = " +
            std::to_string(n) + " and hidden " + std::to_string(hidden));
  auto check_expert = [&](const FfnWeights& f) {
    const Dims2 g = weight_dims(f.gate, "moe"), u = weight_dims(f.up, "moe"), d = weight_dims(f.down, "moe");
    check(g.cols == hidden && u.cols == hidden && g.rows == u.rows && d.rows == hidden && d.cols == g.rows, "moe",
          "expert gate " + shape_str(f.gate.shape) + ", up " + shape_str(f.up.shape) + ", down " +
              shape_str(f.down.shape) + " for hidden " + std::to_string(hidden));
    return g.rows;
  };
  std::vector<int64_t> inter_e, inter_s;
  for (const FfnWeights& f : w.experts) inter_e.push_back(check_expert(f));
  for (const FfnWeights& f : w.shared) inter_s.push_back(check_expert(f));

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

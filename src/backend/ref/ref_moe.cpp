// ref: the MoE layer, token by token: router logits, route_token (op_common), each selected
// expert's SwiGLU FFN weighted, plus the shared experts unweighted; summed in double.
#include <vector>

#include "backend/ref/op_common.h"
#include "backend/ref/ref_backend.h"

namespace schwarm {

using namespace backend_detail;

void RefBackend::moe(const MoeWeights& w, const MoeSpec& spec, std::span<const float> x, int64_t n,
                     std::span<float> y) {
  const int64_t hidden = check_moe_args(w, spec, x, n, y);
  const std::vector<float> bias = selection_bias(w, spec);
  const auto H = static_cast<size_t>(hidden);
  std::vector<float> logits(static_cast<size_t>(spec.n_experts)), e_out(H);
  std::vector<int32_t> ids(static_cast<size_t>(spec.top_k));
  std::vector<float> wt(static_cast<size_t>(spec.top_k));
  std::vector<double> acc(H);
  std::vector<float> result(static_cast<size_t>(n) * H);
  for (int64_t t = 0; t < n; ++t) {
    const std::span<const float> xt = x.subspan(static_cast<size_t>(t) * H, H);
    matmul(w.router, xt, 1, logits);
    route_token(spec, logits.data(), bias.empty() ? nullptr : bias.data(), ids.data(), wt.data());
    std::fill(acc.begin(), acc.end(), 0.0);
    for (size_t i = 0; i < ids.size(); ++i) {
      ffn(w.experts[static_cast<size_t>(ids[i])], xt, 1, e_out);
      for (size_t j = 0; j < H; ++j) acc[j] += static_cast<double>(wt[i]) * e_out[j];
    }
    for (const FfnWeights& s : w.shared) {
      ffn(s, xt, 1, e_out);
      for (size_t j = 0; j < H; ++j) acc[j] += e_out[j];
    }
    for (size_t j = 0; j < H; ++j) result[static_cast<size_t>(t) * H + j] = static_cast<float>(acc[j]);
  }
  std::copy(result.begin(), result.end(), y.begin());
}

}  // namespace schwarm

#pragma once
// The MoE router's parameters as plain data, shared by the device routing function
// (kernels/moe_route.cuh), its launcher (kernels/moe.h) and the backend, which converts MoeSpec
// (src/backend/backend.h) into it. Plain C++ (g++ and nvcc), no CUDA syntax, no backend.h.
#include <cstdint>

namespace schwarm::cuda::k {

// Fixed capacities of the routing function's workspace (RouteWorkspace): DeepSeek-V3 has 256
// experts in 8 groups with top 8; these leave room.
constexpr int32_t kMaxRouteExperts = 512;
constexpr int32_t kMaxRouteTopK = 32;
constexpr int32_t kMaxRouteGroups = 64;

// RouteParams::scoring
constexpr int32_t kRouteSoftmax = 0;
constexpr int32_t kRouteSigmoid = 1;
// RouteParams::group_rule
constexpr int32_t kRouteGroupNone = 0;
constexpr int32_t kRouteGroupMax = 1;       // DeepSeek-V2 group_limited_greedy
constexpr int32_t kRouteGroupTop2Sum = 2;   // DeepSeek-V3 noaux_tc

// MoeSpec's fields, same meaning (see backend.h).
struct RouteParams {
  int32_t n_experts = 0;
  int32_t top_k = 0;
  int32_t scoring = kRouteSoftmax;
  int32_t group_rule = kRouteGroupNone;
  int32_t n_group = 1;     // read only when group_rule != kRouteGroupNone
  int32_t topk_group = 1;  // read only when group_rule != kRouteGroupNone
  bool norm_topk_prob = false;
  float routed_scaling_factor = 1.0f;
};

// nullptr when p is routable by route_token_hd: within the capacities above and the rules
// backend_detail::check_moe enforces; else what is wrong.
inline const char* route_params_error(const RouteParams& p) {
  if (p.n_experts < 1 || p.n_experts > kMaxRouteExperts) return "n_experts must be in [1, 512]";
  if (p.top_k < 1 || p.top_k > p.n_experts || p.top_k > kMaxRouteTopK) return "top_k must be in [1, min(n_experts, 32)]";
  if (p.scoring != kRouteSoftmax && p.scoring != kRouteSigmoid) return "unknown scoring function";
  if (p.group_rule == kRouteGroupNone) return nullptr;
  if (p.group_rule != kRouteGroupMax && p.group_rule != kRouteGroupTop2Sum) return "unknown group rule";
  if (p.n_group < 1 || p.n_group > kMaxRouteGroups || p.n_experts % p.n_group != 0)
    return "n_group must be in [1, 64] and divide n_experts";
  if (p.topk_group < 1 || p.topk_group > p.n_group) return "topk_group must be in [1, n_group]";
  const int32_t gsize = p.n_experts / p.n_group;
  if (gsize * p.topk_group < p.top_k) return "the kept groups hold fewer than top_k experts";
  if (p.group_rule == kRouteGroupTop2Sum && gsize < 2) return "the top-2 group rule needs groups of >= 2 experts";
  return nullptr;
}

}  // namespace schwarm::cuda::k

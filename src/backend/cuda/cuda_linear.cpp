// cuda: matmul (decode GEMV on the stored weight; prefill dequantizes row chunks to f32 for the
// tiled GEMM), the SwiGLU FFN, and the MoE layer (routing on the device, experts grouped on the
// host from the downloaded choices, one FFN per expert over its gathered tokens, combine on the
// device in ref's order: routed experts by rank, then the shared experts).
#include <algorithm>

#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda_plans.h"
#include "backend/ref/op_common.h"
#include "elementwise.h"
#include "moe.h"
#include "quant/act_q8k.h"
#include "quant_matmul.h"

namespace schwarm::cuda {

using namespace backend_detail;

namespace {
// Elements of f32 scratch for one chunk of dequantized weight rows in prefill (64 MiB).
constexpr int64_t kDequantChunkElems = int64_t{16} << 20;
}  // namespace

void CudaBackend::matmul_dev(const TensorView& w, int64_t rows, int64_t cols, const float* x, int64_t n, float* y) {
  require_weight_type(w.type, "matmul");
  const auto* wd = static_cast<const uint8_t*>(weights_.bytes(w));
  if (quantized_activations() && quant::act_q8k_applies(w.type, cols)) {  // quant/act_q8k.h
    float* xhat = arena_.alloc<float>(n * cols, "activations rounded to 8 bits");
    k::round_trip_act_q8k(x, n, cols, xhat, stream_);
    x = xhat;
  }
  if (n <= k::kGemvMaxTokens) {
    k::gemv(w.type, wd, rows, cols, x, n, y, rows, stream_);
    return;
  }
  if (w.type == TensorType::F32) {
    k::gemm_f32(reinterpret_cast<const float*>(wd), rows, cols, x, n, y, rows, stream_);
    return;
  }
  const int64_t chunk = std::clamp<int64_t>(kDequantChunkElems / std::max<int64_t>(cols, 1), 1, rows);
  float* wf = arena_.alloc<float>(chunk * cols, "dequantized weight rows");
  const size_t rb = row_bytes(w, cols);
  for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
    const int64_t nr = std::min(chunk, rows - r0);
    k::dequantize_rows(w.type, wd + static_cast<size_t>(r0) * rb, nr, cols, wf, stream_);
    k::gemm_f32(wf, nr, cols, x, n, y + r0, rows, stream_);
  }
}

void CudaBackend::matmul(const TensorView& w, std::span<const float> x, int64_t n, std::span<float> y) {
  const Dims2 d = check_matmul(w, x, n, y);
  begin_op();
  const float* dx = upload(x, "matmul input");
  float* dy = arena_.alloc<float>(static_cast<int64_t>(y.size()), "matmul output");
  matmul_dev(w, d.rows, d.cols, dx, n, dy);
  download(dy, y);
}

void CudaBackend::ffn_dev(const FfnWeights& w, int64_t hidden, const float* x, int64_t n, float* y) {
  const int64_t inter = w.gate.shape[0];
  float* gate = arena_.alloc<float>(n * inter, "ffn gate");
  float* up = arena_.alloc<float>(n * inter, "ffn up");
  matmul_dev(w.gate, inter, hidden, x, n, gate);
  matmul_dev(w.up, inter, hidden, x, n, up);
  k::swiglu(gate, up, n * inter, gate, stream_);
  matmul_dev(w.down, hidden, inter, gate, n, y);
}

void CudaBackend::ffn(const FfnWeights& w, std::span<const float> x, int64_t n, std::span<float> y) {
  check_ffn(w, x, n, y);
  const int64_t hidden = w.gate.shape[1];
  begin_op();
  const float* dx = upload(x, "ffn input");
  float* dy = arena_.alloc<float>(static_cast<int64_t>(y.size()), "ffn output");
  ffn_dev(w, hidden, dx, n, dy);
  download(dy, y);
}

void CudaBackend::moe(const MoeWeights& w, const MoeSpec& spec, std::span<const float> x, int64_t n,
                      std::span<float> y) {
  const int64_t hidden = check_moe_args(w, spec, x, n, y);
  begin_op();
  const int64_t E = spec.n_experts, K = spec.top_k, S = static_cast<int64_t>(w.shared.size());
  const float* dx = upload(x, "moe input");

  // Routing on the device.
  float* logits = arena_.alloc<float>(n * E, "router logits");
  matmul_dev(w.router, E, hidden, dx, n, logits);
  const float* bias = w.selection_bias ? weights_.derived(*w.selection_bias, "f32", [&] {
    return selection_bias(w, spec);
  })
                                       : nullptr;
  k::RouteParams rp;
  rp.n_experts = static_cast<int32_t>(E);
  rp.top_k = static_cast<int32_t>(K);
  rp.scoring = spec.scoring == MoeScoringFn::Sigmoid ? k::kRouteSigmoid : k::kRouteSoftmax;
  rp.group_rule = spec.group_rule == MoeGroupRule::GroupMax       ? k::kRouteGroupMax
                  : spec.group_rule == MoeGroupRule::GroupTop2Sum ? k::kRouteGroupTop2Sum
                                                                  : k::kRouteGroupNone;
  rp.n_group = static_cast<int32_t>(spec.n_group);
  rp.topk_group = static_cast<int32_t>(spec.topk_group);
  rp.norm_topk_prob = spec.norm_topk_prob;
  rp.routed_scaling_factor = spec.routed_scaling_factor;
  if (const char* why = k::route_params_error(rp)) check(false, "moe", std::string("the CUDA router cannot route this: ") + why);
  int32_t* d_ids = arena_.alloc<int32_t>(n * K, "expert ids");
  float* d_wts = arena_.alloc<float>(n * K, "expert weights");
  k::route(logits, bias, n, rp, d_ids, d_wts, stream_);
  std::vector<int32_t> ids(static_cast<size_t>(n * K));
  std::vector<float> wts(static_cast<size_t>(n * K));
  SCHWARM_CUDA_CHECK(cudaMemcpyAsync(ids.data(), d_ids, ids.size() * 4, cudaMemcpyDeviceToHost, stream_));
  SCHWARM_CUDA_CHECK(cudaMemcpyAsync(wts.data(), d_wts, wts.size() * 4, cudaMemcpyDeviceToHost, stream_));
  SCHWARM_CUDA_CHECK(cudaStreamSynchronize(stream_));

  // Tokens grouped by expert, and the combine's slots in ref's order (backend/cuda_plans.h).
  const MoePlan plan = plan_moe(ids, wts, n, K, E, S);
  const int32_t* d_gather = upload(std::span<const int32_t>(plan.gather), "moe gather rows");
  const int32_t* d_slot_row = upload(std::span<const int32_t>(plan.slot_row), "moe slot rows");
  const float* d_slot_w = upload(std::span<const float>(plan.slot_w), "moe slot weights");

  float* xg = arena_.alloc<float>(n * K * hidden, "moe tokens by expert");
  float* expert_out = arena_.alloc<float>((n * K + S * n) * hidden, "moe expert outputs");
  k::gather_token_rows(dx, hidden, d_gather, n * K, xg, stream_);
  for (int64_t e = 0; e < E; ++e) {
    const int64_t m = plan.count[static_cast<size_t>(e)], r0 = plan.first[static_cast<size_t>(e)];
    if (m > 0) ffn_dev(w.experts[static_cast<size_t>(e)], hidden, xg + r0 * hidden, m, expert_out + r0 * hidden);
  }
  for (int64_t s = 0; s < S; ++s) ffn_dev(w.shared[static_cast<size_t>(s)], hidden, dx, n, expert_out + (n * K + s * n) * hidden);
  float* dy = arena_.alloc<float>(n * hidden, "moe output");
  k::moe_combine(expert_out, d_slot_row, d_slot_w, n, plan.slots, hidden, nullptr, dy, stream_);
  download(dy, y);
}

}  // namespace schwarm::cuda

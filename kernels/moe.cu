// The MoE kernels: routing (one block per token; thread 0 runs route_token_hd over a workspace in
// shared memory, so the device runs exactly the function the host test checks), the gather of
// token rows and the double-accumulated weighted combine. Simple first: routing is sequential per
// token (a few microseconds for 256 experts), plenty of tokens run side by side in a prefill.
#include "moe.h"

#include <algorithm>
#include <string>

#include "backend/cuda/cuda_check.h"
#include "moe_route.cuh"
#include "schwarm/error.h"

namespace schwarm::cuda::k {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = int64_t{1} << 20;

unsigned blocks_for(int64_t n) { return static_cast<unsigned>(std::min<int64_t>((n + kThreads - 1) / kThreads, kMaxBlocks)); }

__global__ void route_kernel(const float* __restrict__ logits, const float* __restrict__ bias, int64_t n,
                             RouteParams p, int32_t* __restrict__ ids, float* __restrict__ weights) {
  __shared__ RouteWorkspace ws;
  if (threadIdx.x != 0) return;
  for (int64_t t = blockIdx.x; t < n; t += gridDim.x)
    route_token_hd(p, logits + t * p.n_experts, bias, ids + t * p.top_k, weights + t * p.top_k, ws);
}

__global__ void gather_rows_kernel(const float* __restrict__ x, int64_t width, const int32_t* __restrict__ rows,
                                   int64_t m, float* __restrict__ out) {
  const int64_t total = m * width;
  for (int64_t idx = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; idx < total;
       idx += int64_t{gridDim.x} * blockDim.x) {
    const int64_t i = idx / width, c = idx % width;
    out[idx] = x[static_cast<int64_t>(rows[i]) * width + c];
  }
}

// One thread per output element. acc += w * e: w * e of two floats is exact in double, so an FMA
// the compiler may form gives the same double as ref's multiply-then-add.
__global__ void combine_kernel(const float* __restrict__ expert_out, const int32_t* __restrict__ slot_row,
                               const float* __restrict__ weights, int64_t n, int64_t top_k, int64_t hidden,
                               const float* shared, float* y) {
  const int64_t total = n * hidden;
  for (int64_t idx = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; idx < total;
       idx += int64_t{gridDim.x} * blockDim.x) {
    const int64_t t = idx / hidden, c = idx % hidden;
    double acc = 0;
    for (int64_t i = 0; i < top_k; ++i) {
      const int64_t j = t * top_k + i;
      acc += static_cast<double>(weights[j]) * static_cast<double>(expert_out[static_cast<int64_t>(slot_row[j]) * hidden + c]);
    }
    if (shared) acc += static_cast<double>(shared[idx]);
    y[idx] = static_cast<float>(acc);
  }
}

}  // namespace

void route(const float* logits, const float* bias, int64_t n, const RouteParams& p, int32_t* ids, float* weights,
           cudaStream_t s) {
  if (const char* err = route_params_error(p))
    throw Error(std::string("cuda moe route: ") + err + " (n_experts " + std::to_string(p.n_experts) + ", top_k " +
                std::to_string(p.top_k) + ", n_group " + std::to_string(p.n_group) + ", topk_group " +
                std::to_string(p.topk_group) + ")");
  if (n <= 0) return;
  // One thread of each block works; a block per token up to 2^20 blocks, then each loops.
  route_kernel<<<static_cast<unsigned>(std::min(n, kMaxBlocks)), 1, 0, s>>>(logits, bias, n, p, ids, weights);
  SCHWARM_CUDA_CHECK_LAUNCH("route_kernel");
}

void gather_token_rows(const float* x, int64_t width, const int32_t* rows, int64_t m, float* out, cudaStream_t s) {
  if (m <= 0 || width <= 0) return;
  gather_rows_kernel<<<blocks_for(m * width), kThreads, 0, s>>>(x, width, rows, m, out);
  SCHWARM_CUDA_CHECK_LAUNCH("gather_rows_kernel");
}

void moe_combine(const float* expert_out, const int32_t* slot_row, const float* weights, int64_t n, int64_t top_k,
                 int64_t hidden, const float* shared, float* y, cudaStream_t s) {
  if (n <= 0 || hidden <= 0) return;
  combine_kernel<<<blocks_for(n * hidden), kThreads, 0, s>>>(expert_out, slot_row, weights, n, top_k, hidden, shared, y);
  SCHWARM_CUDA_CHECK_LAUNCH("combine_kernel");
}

}  // namespace schwarm::cuda::k

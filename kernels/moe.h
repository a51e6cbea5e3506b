#pragma once
// Host-callable launchers of the MoE kernels (kernels/moe.cu): routing (the router's logits to
// each token's experts and weights, exactly as backend_detail::route_token), the gather of token
// rows into per-expert batches, and the weighted combine of the experts' outputs. Device
// pointers, no synchronisation; the semantics are the ref backend's (src/backend/ref/ref_moe.cpp).
#include <cuda_runtime_api.h>

#include <cstdint>

#include "moe_route_params.h"

namespace schwarm::cuda::k {

// ids[t * top_k + i], weights[t * top_k + i] for t < n, i < p.top_k: token t's experts (best
// first) and weights from logits[t * n_experts ...] (and bias[n_experts], V3's selection bias, or
// nullptr). One block per token, its thread 0 running route_token_hd (kernels/moe_route.cuh).
// Throws schwarm::Error when p is not routable (route_params_error).
void route(const float* logits, const float* bias, int64_t n, const RouteParams& p, int32_t* ids, float* weights,
           cudaStream_t s);

// out[i * width + c] = x[rows[i] * width + c], i < m, c < width.
void gather_token_rows(const float* x, int64_t width, const int32_t* rows, int64_t m, float* out, cudaStream_t s);

// y[t * hidden + c] = sum_{i < top_k} weights[t * top_k + i] * expert_out[slot_row[t * top_k + i] * hidden + c]
//                     (+ shared[t * hidden + c] when shared != nullptr),
// accumulated in double in that order (i ascending, then shared) and written as float, as ref
// does. y may alias shared. ref adds each shared expert's output separately in double; a caller
// with several shared FFNs that are not fused into one passes their float sum (not bit-exact).
void moe_combine(const float* expert_out, const int32_t* slot_row, const float* weights, int64_t n, int64_t top_k,
                 int64_t hidden, const float* shared, float* y, cudaStream_t s);

}  // namespace schwarm::cuda::k

#pragma once
// Weight decoding and matrix products for the CUDA backend (kernels in quant_matmul.cu, the
// per-element math in quant_decode.cuh). Every pointer is a device pointer; a weight is laid out
// exactly as stored: row r at byte r * row_bytes, row_bytes = cols / block_size * block_bytes, rows
// need no alignment. Launchers enqueue on `s` and never synchronise; zero rows / tokens launch
// nothing; a type or shape they cannot take throws schwarm::Error.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/tensor_type.h"

namespace schwarm::cuda::k {

// F32, F16, BF16, F8_E4M3, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K.
bool weight_type_supported(TensorType t);

// out[r * cols + c] = element (r, c) of the first `rows` rows of w, as f32, bit-identical to
// type_traits(t).dequantize (NaN payloads aside: see quant_decode.cuh).
void dequantize_rows(TensorType t, const void* w, int64_t rows, int64_t cols, float* out, cudaStream_t s);

// out[i * cols + c] = element (ids[i], c) of w, bit-identical likewise. ids are device int32 row
// indices the caller has validated (0 <= id < the weight's rows).
void gather_rows(TensorType t, const void* w, int64_t cols, const int32_t* ids, int64_t n, float* out,
                 cudaStream_t s);

// Decode GEMV for 1 <= n <= kGemvMaxTokens tokens:
//   y[j * ldy + r] = sum_c W[r, c] * x[j * cols + c],  r < rows, j < n  (ldy >= rows),
// W decoded on the fly, float accumulation.
constexpr int64_t kGemvMaxTokens = 8;
void gemv(TensorType t, const void* w, int64_t rows, int64_t cols, const float* x, int64_t n, float* y,
          int64_t ldy, cudaStream_t s);

// Prefill with an f32 weight (the backend dequantizes a chunk of rows into scratch first), any
// n >= 1 and any shape: y[j * ldy + r] = sum_c w[r * cols + c] * x[j * cols + c] (ldy >= rows).
// Shared-memory tiled SGEMM, float accumulation.
void gemm_f32(const float* w, int64_t rows, int64_t cols, const float* x, int64_t n, float* y, int64_t ldy,
              cudaStream_t s);

// The quantized-activations mode's rounding x -> x̂ (quant/act_q8k.h round_trip_act_q8k), for
// n_rows rows of cols activations (cols % 32 == 0; a row's last block may be shorter than 256),
// bit-identical to the host routine. xhat may alias x.
void round_trip_act_q8k(const float* x, int64_t n_rows, int64_t cols, float* xhat, cudaStream_t s);

}  // namespace schwarm::cuda::k

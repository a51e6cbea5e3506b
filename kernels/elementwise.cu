// The elementwise kernels: add, rms_norm (double sum of squares, one block per row), rope (one
// thread per rotated pair, angle in double) and the SwiGLU gate.
#include "elementwise.h"

#include <algorithm>

#include "backend/cuda/cuda_check.h"

namespace schwarm::cuda::k {
namespace {

constexpr int kThreads = 256;

int64_t blocks_for(int64_t n) { return std::min<int64_t>((n + kThreads - 1) / kThreads, int64_t{1} << 20); }

__global__ void add_kernel(const float* __restrict__ x, int64_t n, float* __restrict__ y) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    y[i] += x[i];
}

// One block per row. x and y may alias: every element is read before the block's barrier and
// written after it, by the same thread.
__global__ void rms_norm_kernel(const float* x, const float* __restrict__ gain, int64_t dim, float eps, float* y) {
  __shared__ double partial[kThreads / 32];
  const float* xr = x + blockIdx.x * dim;
  float* yr = y + blockIdx.x * dim;
  double ss = 0;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) ss += static_cast<double>(xr[i]) * xr[i];
  for (int off = 16; off > 0; off >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, off);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = ss;
  __syncthreads();
  double total = 0;
  for (int w = 0; w < kThreads / 32; ++w) total += partial[w];
  const double inv = 1.0 / sqrt(total / static_cast<double>(dim) + eps);
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x)
    yr[i] = static_cast<float>(xr[i] * inv * gain[i]);
}

// One thread per (token, head, pair).
__global__ void rope_kernel(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int32_t* pos,
                            const float* inv_freq, int64_t half, float attention_factor, bool interleaved) {
  const int64_t total = n_tokens * n_heads * half;
  for (int64_t idx = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; idx < total;
       idx += int64_t{gridDim.x} * blockDim.x) {
    const int64_t i = idx % half, th = idx / half, t = th / n_heads;
    const double angle = static_cast<double>(pos[t]) * static_cast<double>(inv_freq[i]);
    double sn, cs;
    sincos(angle, &sn, &cs);
    cs *= attention_factor;
    sn *= attention_factor;
    float* xh = x + th * head_dim;
    const int64_t a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + half;
    const double x0 = xh[a], x1 = xh[b];
    xh[a] = static_cast<float>(x0 * cs - x1 * sn);
    xh[b] = static_cast<float>(x0 * sn + x1 * cs);
  }
}

__global__ void swiglu_kernel(const float* gate, const float* __restrict__ up, int64_t n, float* h) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const double a = gate[i];
    h[i] = static_cast<float>(a / (1.0 + exp(-a)) * up[i]);
  }
}

}  // namespace

void add(const float* x, int64_t n, float* y, cudaStream_t s) {
  if (n <= 0) return;
  add_kernel<<<blocks_for(n), kThreads, 0, s>>>(x, n, y);
  SCHWARM_CUDA_CHECK_LAUNCH("add_kernel");
}

void rms_norm(const float* x, const float* gain, int64_t rows, int64_t dim, float eps, float* y, cudaStream_t s) {
  if (rows <= 0 || dim <= 0) return;
  for (int64_t r0 = 0; r0 < rows; r0 += 65535) {  // grid.x is unbounded, but keep row offsets explicit
    const int64_t nr = std::min<int64_t>(rows - r0, 65535);
    rms_norm_kernel<<<static_cast<unsigned>(nr), kThreads, 0, s>>>(x + r0 * dim, gain, dim, eps, y + r0 * dim);
    SCHWARM_CUDA_CHECK_LAUNCH("rms_norm_kernel");
  }
}

void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int32_t* pos, const float* inv_freq,
          int64_t rot_dim, float attention_factor, bool interleaved, cudaStream_t s) {
  const int64_t half = rot_dim / 2;
  if (n_tokens <= 0 || n_heads <= 0 || half <= 0) return;
  rope_kernel<<<blocks_for(n_tokens * n_heads * half), kThreads, 0, s>>>(x, n_tokens, n_heads, head_dim, pos, inv_freq,
                                                                          half, attention_factor, interleaved);
  SCHWARM_CUDA_CHECK_LAUNCH("rope_kernel");
}

void swiglu(const float* gate, const float* up, int64_t n, float* h, cudaStream_t s) {
  if (n <= 0) return;
  swiglu_kernel<<<blocks_for(n), kThreads, 0, s>>>(gate, up, n, h);
  SCHWARM_CUDA_CHECK_LAUNCH("swiglu_kernel");
}

}  // namespace schwarm::cuda::k

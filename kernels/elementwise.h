#pragma once
// Host-callable launchers of the elementwise kernels (kernels/elementwise.cu): the CUDA forms of
// the Backend ops add, rms_norm, rope and the SwiGLU gate. Device pointers, no synchronisation;
// the semantics are the ref backend's (src/backend/ref/ref_backend.cpp, ref_linear.cpp).
#include <cuda_runtime_api.h>

#include <cstdint>

namespace schwarm::cuda::k {

// y[i] += x[i], i < n.
void add(const float* x, int64_t n, float* y, cudaStream_t s);

// y[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * gain, rows of dim; y may alias x.
void rms_norm(const float* x, const float* gain, int64_t rows, int64_t dim, float eps, float* y, cudaStream_t s);

// Rotates the first rot_dim dims of each head of x[n_tokens, n_heads, head_dim] in place by the
// angle pos[t] * inv_freq[i] (computed in double, as ref does), cos and sin times
// attention_factor. interleaved: pairs (2i, 2i+1); else halves (i, i + rot_dim / 2).
void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int32_t* pos, const float* inv_freq,
          int64_t rot_dim, float attention_factor, bool interleaved, cudaStream_t s);

// h[i] = silu(gate[i]) * up[i] (computed in double as ref does), i < n; h may alias gate.
void swiglu(const float* gate, const float* up, int64_t n, float* h, cudaStream_t s);

}  // namespace schwarm::cuda::k

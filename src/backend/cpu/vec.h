#pragma once
// Inner loops written so that GCC/Clang vectorise them at -O3 without -ffast-math: a reduction is
// spread over 16 independent partial sums (the compiler maps them onto SIMD lanes), so no
// reassociation permission is needed. Float accumulation: 16 partial sums keep the error near
// sqrt(n/16) ulps of the terms' magnitude (parity tolerance 1e-5 relative; see the parity suite).
#include <cstdint>

namespace schwarm::cpu {

inline float dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  constexpr int L = 16;
  float acc[L] = {};
  int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int j = 0; j < L; ++j) acc[j] += a[i + j] * b[i + j];
  float tail = 0;
  for (; i < n; ++i) tail += a[i] * b[i];
  for (int w = L / 2; w > 0; w /= 2)
    for (int j = 0; j < w; ++j) acc[j] += acc[j + w];
  return acc[0] + tail;
}

// y += a * x
inline void axpy(float a, const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

inline float sum_squares(const float* x, int64_t n) { return dot(x, x, n); }

}  // namespace schwarm::cpu

#pragma once
// The on-device sampler's options as plain data (kernels/sampling.h, kernels/sampling.cuh):
// SamplingOptions (include/schwarm/sampling.h) less the repetition penalty, which the caller has
// applied to the logits already, and less the seed: the host draws the uniform u itself.
#include <cmath>
#include <cstdint>

namespace schwarm::cuda::k {

struct SampleParams {
  float temperature = 0.0f;  // >= 0; 0 = greedy
  int32_t top_k = 0;         // >= 0; 0 = off
  float top_p = 1.0f;        // (0, 1]; 1 = off
  float min_p = 0.0f;        // [0, 1]; 0 = off
};

// nullptr when p is valid (the ranges validate(SamplingOptions) enforces), else what is wrong.
inline const char* sample_params_error(const SampleParams& p) {
  if (!(p.temperature >= 0.0f) || !std::isfinite(p.temperature)) return "temperature must be finite and >= 0";
  if (p.top_k < 0) return "top_k must be >= 0";
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) return "top_p must be in (0, 1]";
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) return "min_p must be in [0, 1]";
  return nullptr;
}

}  // namespace schwarm::cuda::k

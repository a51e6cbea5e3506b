#pragma once
// Host-callable launchers of the on-device token sampler (kernels/sampling.cu), so that only the
// chosen token id crosses to the host. Semantics: TokenSampler::distribution + sample
// (src/runtime/sampler.cpp) less the repetition penalty, which the caller has applied to the
// logits: NaN counts as -inf; temperature 0 or nothing but -inf: the first argmax; else top_k
// (ties to the smaller id), top_p, min_p, softmax at the temperature and one draw with the
// caller's u. Device pointers, no synchronisation.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "sampling_params.h"

namespace schwarm::cuda::k {

// Bytes of the scratch sample() needs for this vocabulary (0 for vocab <= 0). Asks CUB for its
// sort's temporary storage on the current device, so call it on the device that samples.
size_t sample_scratch_bytes(int64_t vocab);

// Writes the chosen id of logits[vocab] to *out_id (device). u in [0, 1) is the uniform the host
// draws exactly as TokenSampler::sample does: (rng() >> 11) * 2^-53 of its std::mt19937_64.
// scratch: sample_scratch_bytes(vocab) bytes of device memory. Throws schwarm::Error for vocab
// <= 0 or > 2^31 - 1 (TokenSampler throws for empty logits too) or options out of range.
void sample(const float* logits, int64_t vocab, const SampleParams& p, double u, void* scratch, int32_t* out_id,
            cudaStream_t s);

// The same, and *out_kept (device) = the number of tokens in the final distribution.
// TokenSampler::sample draws u from its RNG only when that number is > 1 (temperature 0, top_k 1,
// nothing but -inf, or a top_p / min_p that keeps one token: no draw). A caller that must keep
// its RNG in step with TokenSampler saves the RNG before drawing u and restores it when
// *out_kept == 1 (the id is the same either way).
void sample(const float* logits, int64_t vocab, const SampleParams& p, double u, void* scratch, int32_t* out_id,
            int32_t* out_kept, cudaStream_t s);

}  // namespace schwarm::cuda::k

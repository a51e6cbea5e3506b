#pragma once
// Token sampling: repetition penalty, top-k, top-p, min-p, temperature, drawn with a per-request
// RNG. The order is llama.cpp's default chain (common_sampler: penalties -> top_k -> top_p ->
// min_p -> temperature -> dist), so top-p and min-p see the distribution *before* temperature:
//   1. repetition penalty (HF / llama.cpp "repeat_penalty"): every distinct token id among the
//      last `repetition_window` ids of the sequence -- prompt and generated together; 0 = the whole
//      sequence, as HF does -- gets its logit divided by the penalty when positive and multiplied
//      by it when negative (once per id, however often it occurs).
//   2. temperature 0: greedy, the argmax of the penalised logits (first on ties). Nothing else runs.
//   3. top_k (0 = off): the k largest logits (ties broken by the smaller id).
//   4. top_p (1 = off): the smallest prefix, by descending probability, whose mass reaches top_p.
//   5. min_p (0 = off): tokens with probability >= min_p * the largest probability.
//   6. temperature: softmax(logits / T) over what is left, one draw from the RNG.
// The RNG is std::mt19937_64 seeded with `seed`, one per TokenSampler (one per request in the
// Engine), and the uniform draw is computed from its raw 64-bit output (not
// std::uniform_real_distribution, whose algorithm is implementation-defined), so the same seed and
// the same logits give the same tokens on every platform and whatever else shares the batch.
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "schwarm/sampling.h"

namespace schwarm {

// SamplingOptions is public (schwarm/sampling.h): the API hands it through unchanged.

// Throws schwarm::Error naming the first out-of-range option.
void validate(const SamplingOptions& options);

struct TokenProb {
  int32_t id;
  double p;
};

class TokenSampler {
 public:
  explicit TokenSampler(SamplingOptions options = {});  // validates

  const SamplingOptions& options() const { return opt_; }

  // The next token given logits[vocab] and the sequence so far (prompt, then generated ids).
  int32_t sample(std::span<const float> logits, std::span<const int32_t> prompt = {},
                 std::span<const int32_t> generated = {});

  // The tokens that survive steps 1-5 with their final probabilities (after temperature), in
  // descending probability (smaller id first on ties). Temperature 0: the argmax with p = 1.
  std::vector<TokenProb> distribution(std::span<const float> logits, std::span<const int32_t> prompt = {},
                                      std::span<const int32_t> generated = {}) const;

 private:
  SamplingOptions opt_;
  std::mt19937_64 rng_;
};

}  // namespace schwarm

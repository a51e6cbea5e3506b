#pragma once
// Rotary position embedding parameters computed once per model: inv_freq (plain, YaRN, llama3,
// linear scaling) and the YaRN attention factors. Backends only apply them (Backend::rope).
#include <cstdint>

#include "backend/backend.h"
#include "model/model_config.h"

namespace schwarm {

// DeepSeek's / YaRN's mscale: 0.1 * m * ln(scale) + 1 for scale > 1, else 1.
double yarn_get_mscale(double scale, double m);

// inv_freq[i] = theta^(-2i/rot_dim), then scaled per config.rope_scaling, computed in f32 like the
// published code (an inv_freq rounded to bf16 moves logits by ~1e-3: keep f32). attention_factor is
// YaRN's cos/sin multiplier: mscale(factor, mscale) / mscale(factor, mscale_all_dim) when both are
// set, else mscale(factor, 1). Throws Error for a scaling type it does not know ("dynamic").
RopeSpec make_rope_spec(const ModelConfig& c, int64_t rot_dim, RopeStyle style);

// DeepSeek MLA softmax scale: (qk_nope + qk_rope)^-0.5, times mscale(factor, mscale_all_dim)^2
// under YaRN with mscale_all_dim set.
float mla_softmax_scale(const ModelConfig& c);

}  // namespace schwarm

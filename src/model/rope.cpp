// RoPE frequencies: plain, linear, YaRN (DeepSeek-V2/V3) and llama3 scaling.
#include "model/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "schwarm/error.h"

namespace schwarm {

double yarn_get_mscale(double scale, double m) {
  return scale <= 1.0 ? 1.0 : 0.1 * m * std::log(scale) + 1.0;
}

namespace {

// YaRN: dims rotating more than beta_fast times over the original context keep their frequency
// (extrapolation), dims rotating fewer than beta_slow times are interpolated (divided by factor); a
// linear ramp in between. corr_dim gives the (fractional) dim index for a number of rotations.
void apply_yarn(const ModelConfig& c, int64_t rot_dim, std::vector<float>& inv) {
  const RopeScaling& rs = c.rope_scaling;
  const double theta = c.rope_theta;
  const double orig = static_cast<double>(rs.original_max_position_embeddings);
  if (orig <= 0) throw Error("rope_scaling yarn: original_max_position_embeddings must be > 0");
  auto corr_dim = [&](double rotations) {
    return static_cast<double>(rot_dim) * std::log(orig / (rotations * 2.0 * std::numbers::pi)) /
           (2.0 * std::log(theta));
  };
  const double low = std::max(std::floor(corr_dim(rs.beta_fast)), 0.0);
  double high = std::min(std::ceil(corr_dim(rs.beta_slow)), static_cast<double>(rot_dim - 1));
  if (low == high) high += 0.001;  // avoids a division by zero, as the published code does
  const float factor = static_cast<float>(rs.factor);
  for (size_t i = 0; i < inv.size(); ++i) {
    const float ramp = std::clamp(static_cast<float>((static_cast<double>(i) - low) / (high - low)), 0.0f, 1.0f);
    const float extrapolate = 1.0f - ramp;
    inv[i] = inv[i] / factor * (1.0f - extrapolate) + inv[i] * extrapolate;
  }
}

void apply_llama3(const ModelConfig& c, std::vector<float>& inv) {
  const RopeScaling& rs = c.rope_scaling;
  const double orig = static_cast<double>(rs.original_max_position_embeddings);
  const double lo = rs.low_freq_factor, hi = rs.high_freq_factor, f = rs.factor;
  for (float& x : inv) {
    const double wavelen = 2.0 * std::numbers::pi / x;
    if (wavelen > orig / lo) {
      x = static_cast<float>(x / f);
    } else if (wavelen >= orig / hi) {  // between the two cut-offs: blend
      const double smooth = (orig / wavelen - lo) / (hi - lo);
      x = static_cast<float>((1.0 - smooth) * x / f + smooth * x);
    }
  }
}

}  // namespace

RopeSpec make_rope_spec(const ModelConfig& c, int64_t rot_dim, RopeStyle style) {
  if (rot_dim <= 0 || rot_dim % 2 != 0)
    throw Error("rope: rotary dim " + std::to_string(rot_dim) + " must be positive and even");
  RopeSpec spec;
  spec.style = style;
  spec.rot_dim = rot_dim;
  spec.inv_freq.resize(static_cast<size_t>(rot_dim / 2));
  const float theta = static_cast<float>(c.rope_theta);
  for (int64_t i = 0; i < rot_dim / 2; ++i) {
    const float expo = static_cast<float>(2 * i) / static_cast<float>(rot_dim);
    spec.inv_freq[static_cast<size_t>(i)] = 1.0f / std::pow(theta, expo);
  }
  const RopeScaling& rs = c.rope_scaling;
  if (rs.type == "none" || rs.type.empty() || rs.type == "default") {
  } else if (rs.type == "linear") {
    for (float& x : spec.inv_freq) x = static_cast<float>(x / rs.factor);
  } else if (rs.type == "yarn") {
    apply_yarn(c, rot_dim, spec.inv_freq);
    const double att = (rs.mscale != 0.0 && rs.mscale_all_dim != 0.0)
                           ? yarn_get_mscale(rs.factor, rs.mscale) / yarn_get_mscale(rs.factor, rs.mscale_all_dim)
                           : yarn_get_mscale(rs.factor, 1.0);
    spec.attention_factor = static_cast<float>(att);
  } else if (rs.type == "llama3") {
    apply_llama3(c, spec.inv_freq);
  } else {
    throw Error("rope_scaling type '" + rs.type + "' is not supported (known: none, linear, yarn, llama3)");
  }
  return spec;
}

float mla_softmax_scale(const ModelConfig& c) {
  double scale = 1.0 / std::sqrt(static_cast<double>(c.qk_nope_head_dim + c.qk_rope_head_dim));
  if (c.rope_scaling.type == "yarn" && c.rope_scaling.mscale_all_dim != 0.0) {
    const double m = yarn_get_mscale(c.rope_scaling.factor, c.rope_scaling.mscale_all_dim);
    scale *= m * m;
  }
  return static_cast<float>(scale);
}

}  // namespace schwarm

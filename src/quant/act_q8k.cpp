// The 8-bit activation quantizer of the quantized-activations mode (see act_q8k.h).
#include "quant/act_q8k.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace schwarm::quant {

bool act_q8k_applies(TensorType type, int64_t cols) {
  const bool k_quant = type == TensorType::Q4_K || type == TensorType::Q5_K || type == TensorType::Q6_K;
  const bool block32 = type == TensorType::Q8_0 || type == TensorType::Q4_0 || type == TensorType::Q5_0;
  return (k_quant && cols % kActBlock == 0) || (block32 && cols % 32 == 0);
}

void quantize_act_q8k(const float* x, int64_t cols, int8_t* q, float* d, int16_t* bsum16) {
  for (int64_t b = 0; b < act_q8k_blocks(cols); ++b) {
    const float* xb = x + b * kActBlock;
    int8_t* qb = q + b * kActBlock;
    const int64_t len = std::min(kActBlock, cols - b * kActBlock);  // the last block may be shorter
    float amax = 0.0f;
    bool finite = true;
    for (int64_t i = 0; i < len; ++i) {
      amax = std::max(amax, std::fabs(xb[i]));
      finite &= std::isfinite(xb[i]);
    }
    // A NaN or infinite activation poisons its block (d = NaN) instead of being clamped away.
    if (!finite) {
      std::fill_n(qb, len, int8_t{0});
      d[b] = std::numeric_limits<float>::quiet_NaN();
    } else if (amax == 0.0f) {
      std::fill_n(qb, len, int8_t{0});
      d[b] = 0.0f;
    } else {
      const float inv = 127.0f / amax;
      // Round half to even as nearbyint does in the default rounding mode, but inline: adding
      // 1.5 * 2^23 leaves no fraction bits for |v| < 2^22 (here |v| <= 127), so the sum rounds.
      constexpr float kMagic = 12582912.0f;
      for (int64_t i = 0; i < len; ++i) {
        const float r = (xb[i] * inv + kMagic) - kMagic;
        // r is NaN only where 127 / amax overflowed (amax < ~3.7e-37) and x = 0: that q is 0 (a
        // NaN must not reach the integer cast). kernels/quant_decode.cuh does the same.
        qb[i] = r != r ? int8_t{0} : static_cast<int8_t>(std::clamp(r, -127.0f, 127.0f));
      }
      d[b] = amax / 127.0f;
    }
    for (int64_t j = 0; j < len / 16; ++j) {
      int s = 0;
      for (int64_t i = 0; i < 16; ++i) s += qb[16 * j + i];
      bsum16[b * (kActBlock / 16) + j] = static_cast<int16_t>(s);
    }
  }
}

void round_trip_act_q8k(const float* x, int64_t cols, float* xhat) {
  int8_t q[kActBlock];
  int16_t bs[kActBlock / 16];
  for (int64_t b = 0; b < act_q8k_blocks(cols); ++b) {
    const int64_t len = std::min(kActBlock, cols - b * kActBlock);
    float d;
    quantize_act_q8k(x + b * kActBlock, len, q, &d, bs);
    for (int64_t i = 0; i < len; ++i) xhat[b * kActBlock + i] = d * static_cast<float>(q[i]);
  }
}

}  // namespace schwarm::quant

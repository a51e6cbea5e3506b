// Quantize f32 into K-quant super-blocks (Q4_K, Q5_K, Q6_K, Q8_K).
//
// These are min/max quantizers, not ggml's weighted scale search: every sub-block's range is
// covered exactly (scales and mins are rounded UP to the 6/8-bit grid and the f16 super-scales are
// nudged up until 63 * d covers the largest sub-scale), so no element is ever clamped and the
// per-element error is at most half a sub-block step:
//   Q4_K/Q5_K: |x - y| <= ((range_j + dmin) / nmax + d) / 2,  nmax = 15 / 31
//   Q6_K:      |x - y| <= (absmax_j / 31 + d) / 2
// Starting from those covering scales, nearby smaller (and for Q6_K negative) sub-block scales are
// tried and the least-squares one kept if its largest error stays within that bound.
//   Q8_K:      ggml's reference (d = -max / 127, round to nearest even), |x - y| <= |d| / 2.
// The result is a valid ggml block; ggml's quantizer may reach a lower RMS error.
#include <algorithm>
#include <cmath>

#include "quant/block_io.h"
#include "quant/k_scales.h"
#include "quant/kernels.h"

namespace schwarm::quant {

namespace {
constexpr int kQK = 256;

// The smallest non-negative f16 value h with h * steps >= need (need >= 0, finite).
uint16_t fp16_covering(float need, int steps) {
  uint16_t h = f32_to_fp16(need / static_cast<float>(steps));
  while (static_cast<double>(fp16_to_f32(h)) * steps < static_cast<double>(need) && h < 0x7BFFu)
    ++h;  // positive f16 bit patterns are ordered like their values
  return h;
}

// ceil(v / unit) clamped to [0, hi]; 0 when unit or v is 0 or NaN.
int ceil_steps(float v, float unit, int hi) {
  if (!(unit > 0.0f) || !(v > 0.0f)) return 0;
  const double steps = std::ceil(static_cast<double>(v) / unit);
  return steps < hi ? static_cast<int>(steps) : hi;  // inf / inf = NaN lands on hi
}

// Codes q in [lo, hi] for x[0..count) under y = dl * q - ml, computed the way the dequantizer
// computes y; returns the sum of squared errors and the largest error.
struct Fit {
  double sse = 0, max_err = 0;
};
Fit fit_codes(const float* x, int count, float dl, float ml, int lo, int hi, int* q) {
  Fit f;
  const float idl = dl != 0.0f ? 1.0f / dl : 0.0f;
  for (int l = 0; l < count; ++l) {
    q[l] = round_clamped((x[l] + ml) * idl, lo, hi);
    const double err = std::fabs(static_cast<double>(dl * static_cast<float>(q[l]) - ml) - x[l]);
    f.sse += err * err;
    f.max_err = std::max(f.max_err, err);
  }
  return f;
}

// Q4_K (nmax 15) and Q5_K (nmax 31): 8 sub-blocks of 32, scale and min 6 bits each.
// Each sub-block starts from the covering (rounded-up) scale/min pair; nearby smaller pairs are
// then tried and the one with the least squared error kept, as long as its largest error stays
// within half the covering step (so the bound above still holds).
void quantize_k_affine(const float* src, uint8_t* b, int64_t n, int nmax, size_t block_bytes) {
  for (int64_t blk = 0; blk < n / kQK; ++blk, src += kQK, b += block_bytes) {
    float minv[8], top[8];
    float max_min = 0.0f;
    for (int j = 0; j < 8; ++j) {
      const float* x = src + 32 * j;
      float mn = 0.0f, mx = x[0];  // the min is clamped to <= 0, so the stored min m6 is >= 0
      for (int l = 0; l < 32; ++l) {
        mn = std::min(mn, x[l]);
        mx = std::max(mx, x[l]);
      }
      minv[j] = -mn;
      top[j] = mx;
      max_min = std::max(max_min, minv[j]);
    }
    const uint16_t dmin16 = fp16_covering(max_min, 63);
    const float dmin = fp16_to_f32(dmin16);
    uint8_t mq[8], sq[8];
    float need[8], max_need = 0.0f;
    for (int j = 0; j < 8; ++j) {
      mq[j] = static_cast<uint8_t>(ceil_steps(minv[j], dmin, 63));
      const float m = dmin * static_cast<float>(mq[j]);  // what the dequantizer subtracts
      need[j] = std::max(0.0f, (top[j] + m) / static_cast<float>(nmax));
      max_need = std::max(max_need, need[j]);
    }
    const uint16_t d16 = fp16_covering(max_need, 63);
    const float d = fp16_to_f32(d16);
    int codes[8][32];
    for (int j = 0; j < 8; ++j) {
      const float* x = src + 32 * j;
      const int ls0 = ceil_steps(need[j], d, 63), lm0 = mq[j];
      int best_ls = ls0, best_lm = lm0;
      Fit best = fit_codes(x, 32, d * static_cast<float>(ls0), dmin * static_cast<float>(lm0), 0,
                           nmax, codes[j]);
      const double limit = std::max(best.max_err, 0.5 * d * ls0);
      int q[32];
      for (int ls = std::max(1, ls0 - 4); ls <= ls0; ++ls) {
        for (int lm = std::max(0, lm0 - 2); lm <= std::min(63, lm0 + 1); ++lm) {
          if (ls == ls0 && lm == lm0) continue;
          const Fit f = fit_codes(x, 32, d * static_cast<float>(ls), dmin * static_cast<float>(lm),
                                  0, nmax, q);
          if (f.max_err <= limit && f.sse < best.sse) {
            best = f;
            best_ls = ls;
            best_lm = lm;
            std::memcpy(codes[j], q, sizeof q);
          }
        }
      }
      sq[j] = static_cast<uint8_t>(best_ls);
      mq[j] = static_cast<uint8_t>(best_lm);
    }

    store_u16(b, d16);
    store_u16(b + 2, dmin16);
    pack_k4_scales(sq, mq, b + 4);
    uint8_t* qh = nmax == 31 ? b + 16 : nullptr;
    uint8_t* qs = nmax == 31 ? b + 48 : b + 16;
    std::memset(qs, 0, 128);
    if (qh) std::memset(qh, 0, 32);
    for (int j = 0; j < 8; ++j) {
      for (int l = 0; l < 32; ++l) {
        const int c = codes[j][l];
        qs[(j / 2) * 32 + l] |= static_cast<uint8_t>((c & 0x0F) << (4 * (j % 2)));
        if (qh) qh[l] |= static_cast<uint8_t>(((c >> 4) & 1) << j);
      }
    }
  }
}
}  // namespace

void quantize_q4_k(const float* src, void* dst, int64_t n) {
  quantize_k_affine(src, static_cast<uint8_t*>(dst), n, 15, 144);
}
void quantize_q5_k(const float* src, void* dst, int64_t n) {
  quantize_k_affine(src, static_cast<uint8_t*>(dst), n, 31, 176);
}

void quantize_q6_k(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<uint8_t*>(dst);
  for (int64_t blk = 0; blk < n / kQK; ++blk, src += kQK, b += 210) {
    float need[16], max_need = 0.0f;
    for (int j = 0; j < 16; ++j) {
      float amax = 0.0f;
      for (int l = 0; l < 16; ++l) amax = std::max(amax, std::fabs(src[16 * j + l]));
      need[j] = amax / 31.0f;  // codes -31..31 cover +-amax
      max_need = std::max(max_need, need[j]);
    }
    const uint16_t d16 = fp16_covering(max_need, 127);
    const float d = fp16_to_f32(d16);
    uint8_t* ql = b;
    uint8_t* qh = b + 128;
    auto* sc = reinterpret_cast<int8_t*>(b + 192);
    std::memset(b, 0, 192);
    store_u16(b + 208, d16);
    for (int j = 0; j < 16; ++j) {
      // Start from the covering scale; also try smaller ones and negative ones (a negative scale
      // gives the sub-block's largest magnitude the 32nd step of q - 32 in [-32, 31]).
      const float* x = src + 16 * j;
      const int ls0 = ceil_steps(need[j], d, 127);
      int codes[16], q[16];
      int best_ls = ls0;
      Fit best = fit_codes(x, 16, d * static_cast<float>(ls0), 0.0f, -32, 31, codes);
      const double limit = std::max(best.max_err, 0.5 * d * ls0);
      for (int k = std::max(1, ls0 - 5); k <= ls0; ++k) {
        for (int ls : {k, -k}) {
          if (ls == ls0) continue;
          const Fit f = fit_codes(x, 16, d * static_cast<float>(ls), 0.0f, -32, 31, q);
          if (f.max_err <= limit && f.sse < best.sse) {
            best = f;
            best_ls = ls;
            std::memcpy(codes, q, sizeof q);
          }
        }
      }
      sc[j] = static_cast<int8_t>(best_ls);
      for (int l = 0; l < 16; ++l) {
        const int i = 16 * j + l, c = codes[l] + 32;
        const int half = i / 128, t = i % 128;
        ql[half * 64 + t % 64] |= static_cast<uint8_t>((c & 0x0F) << (4 * (t / 64)));
        qh[half * 32 + t % 32] |= static_cast<uint8_t>((c >> 4) << (2 * (t / 32)));
      }
    }
  }
}

void quantize_q8_k(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<uint8_t*>(dst);
  for (int64_t blk = 0; blk < n / kQK; ++blk, src += kQK, b += 292) {
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < kQK; ++i) {
      if (amax < std::fabs(src[i])) {
        amax = std::fabs(src[i]);
        max = src[i];
      }
    }
    int8_t q[kQK] = {};
    float d = 0.0f;
    if (amax != 0.0f) {
      const float iscale = -127.0f / max;
      for (int i = 0; i < kQK; ++i)
        q[i] = static_cast<int8_t>(round_clamped(iscale * src[i], -128, 127));
      d = 1.0f / iscale;
    }
    std::memcpy(b, &d, 4);
    std::memcpy(b + 4, q, kQK);
    for (int j = 0; j < 16; ++j) {
      int16_t sum = 0;
      for (int l = 0; l < 16; ++l) sum = static_cast<int16_t>(sum + q[16 * j + l]);
      std::memcpy(b + 260 + 2 * j, &sum, 2);
    }
  }
}

}  // namespace schwarm::quant

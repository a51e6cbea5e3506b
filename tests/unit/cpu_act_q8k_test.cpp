// The cpu backend's AVX-512 activation quantizer (act_q8k_avx512.cpp) against the definition,
// quant::quantize_act_q8k, bit for bit: codes, block scales (NaN for a poisoned block) and the
// 16-element sums, on fresh random rows with spread magnitudes, ties, zero / tiny / non-finite
// blocks and a last block shorter than 256. Skips where this CPU or build has no AVX-512.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/kernels.h"
#include "quant/act_q8k.h"

namespace schwarm {
namespace {

void expect_same(const std::vector<float>& x, const std::string& what) {
  const auto cols = static_cast<int64_t>(x.size());
  const int64_t nb = quant::act_q8k_blocks(cols);
  std::vector<int8_t> qw(x.size(), 99), qg(x.size(), 99);
  std::vector<float> dw(nb, 7.0f), dg(nb, 7.0f);
  std::vector<int16_t> bw(x.size() / 16, 99), bg(x.size() / 16, 99);
  quant::quantize_act_q8k(x.data(), cols, qw.data(), dw.data(), bw.data());
  cpu::act_quantizer_avx512()(x.data(), cols, qg.data(), dg.data(), bg.data());
  for (int64_t i = 0; i < cols; ++i)
    ASSERT_EQ(qg[static_cast<size_t>(i)], qw[static_cast<size_t>(i)]) << what << ": element " << i << " (x = " << x[i] << ")";
  ASSERT_EQ(0, std::memcmp(dg.data(), dw.data(), dg.size() * sizeof(float))) << what << ": block scales";
  ASSERT_EQ(bg, bw) << what << ": 16-element sums";
}

TEST(CpuActQ8k, Avx512MatchesDefinitionBitForBit) {
  if (!cpu::act_quantizer_avx512() || !cpu::kernel_table(cpu::Isa::Avx512Vnni))
    GTEST_SKIP() << "this CPU or build has no AVX-512 VNNI table";
  const uint32_t seed = std::random_device{}();
  const std::string s = "seed " + std::to_string(seed);
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int rep = 0; rep < 200; ++rep) {
    const int64_t cols = rep % 3 == 0 ? 1408 : rep % 3 == 1 ? 2048 : 32 * static_cast<int64_t>(1 + rng() % 20);
    std::vector<float> x(static_cast<size_t>(cols));
    for (int64_t b = 0; b * 256 < cols; ++b) {
      const float scale = std::ldexp(1.0f, static_cast<int>(rng() % 60) - 30);
      for (int64_t i = b * 256; i < std::min<int64_t>(cols, (b + 1) * 256); ++i) x[static_cast<size_t>(i)] = nd(rng) * scale;
    }
    expect_same(x, "random cols " + std::to_string(cols) + ", " + s);
    if (HasFatalFailure()) return;
  }
  // Ties: amax 127 and 254 make x · inv land on .5 (half to even), both signs, and one ulp beside.
  for (float amax : {127.0f, 254.0f}) {
    std::vector<float> x(256);
    const float step = amax / 127.0f;
    for (int i = 0; i < 256; ++i) {
      const float t = (static_cast<float>(i % 120) + 0.5f) * step * (i % 2 ? -1.0f : 1.0f);
      x[static_cast<size_t>(i)] = i % 3 == 0 ? t : std::nextafter(t, i % 3 == 1 ? 1e9f : -1e9f);
    }
    x[5] = amax;
    expect_same(x, "ties amax " + std::to_string(amax));
  }
  // Near-ties: x whose float product x · inv rounds to exactly k + 0.5 while the exact product does
  // not (an FMA would round differently), for random amax; found by stepping a few ulps around.
  for (int rep = 0; rep < 20; ++rep) {
    const float amax = std::uniform_real_distribution<float>(0.01f, 1000.0f)(rng);
    const float inv = 127.0f / amax;
    std::vector<float> x(256);
    x[0] = amax;
    int found = 0;
    for (int i = 1; i < 256; ++i) {
      const float half = static_cast<float>(i % 126) + 0.5f;
      float v = half / inv;
      for (int step = 0; step < 8; ++step, v = std::nextafter(v, step % 2 ? 1e30f : -1e30f)) {
        const float pf = v * inv;
        if (pf == half && static_cast<double>(v) * inv != half && std::fabs(v) <= amax) {
          ++found;
          break;
        }
      }
      x[static_cast<size_t>(i)] = i % 2 ? -v : v;
    }
    expect_same(x, "near-ties amax " + std::to_string(amax) + " (" + std::to_string(found) + " found), " + s);
    if (HasFatalFailure()) return;
  }
  // Zero blocks (+0, -0), a tiny block whose 127 / amax overflows, non-finite values, short tails.
  expect_same(std::vector<float>(512, 0.0f), "zeros");
  expect_same(std::vector<float>(288, -0.0f), "negative zeros, short tail");
  {
    std::vector<float> x(256, 0.0f);
    x[3] = 1e-38f;
    x[200] = -3e-39f;
    expect_same(x, "tiny amax");
  }
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  for (float bad : {nan, -nan, inf, -inf}) {
    std::vector<float> x(1408);
    for (float& v : x) v = nd(rng);
    x[static_cast<size_t>(rng() % 256)] = bad;   // poisons block 0 only
    x[1408 - 1 - rng() % 128] = bad;             // and the short last block
    expect_same(x, "non-finite " + std::to_string(bad) + ", " + s);
  }
}

}  // namespace
}  // namespace schwarm

// The cpu kernel tables' element-wise kernels (swiglu, softmax) against the same formulas in
// double: every table this machine runs, on fresh random inputs over a wide range, and on the
// edges (large |g|, NaN, one-element and non-multiple-of-16 lengths). The AVX-512 ones use a
// polynomial exp: within a few float ulps of the exact value.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/kernels.h"

namespace schwarm {
namespace {

std::vector<const cpu::KernelTable*> tables() {
  std::vector<const cpu::KernelTable*> t;
  for (cpu::Isa isa : {cpu::Isa::Scalar, cpu::Isa::Avx2, cpu::Isa::Avx512, cpu::Isa::Avx512Vnni})
    if (const cpu::KernelTable* k = cpu::kernel_table(isa)) t.push_back(k);
  return t;
}

// |got - want| <= 8 ulp-ish of want (relative 1e-6), or 1e-30 absolute near zero.
void expect_near_rel(float got, double want, const std::string& what) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << what;
    return;
  }
  EXPECT_LE(std::fabs(got - want), 1e-6 * std::fabs(want) + 1e-30) << what << ": got " << got << ", want " << want;
}

TEST(CpuElementwise, SwigluMatchesDouble) {
  const uint32_t seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> wide(-30.0f, 30.0f);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (const cpu::KernelTable* k : tables())
    for (int64_t n : {1, 15, 16, 37, 768}) {
      std::vector<float> g(static_cast<size_t>(n)), u(g.size()), h(g.size(), -7.0f);
      for (size_t i = 0; i < g.size(); ++i) {
        g[i] = i % 2 ? wide(rng) : nd(rng);
        u[i] = nd(rng);
      }
      if (n > 5) {
        g[1] = 95.0f;   // e^-g underflows towards 0: h = g · u
        g[2] = -95.0f;  // e^-g overflows: h -> 0
        g[3] = std::numeric_limits<float>::quiet_NaN();
        g[4] = 0.0f;
      }
      k->swiglu(g.data(), u.data(), h.data(), n);
      for (size_t i = 0; i < g.size(); ++i) {
        const double gd = g[i];
        const double want = gd / (1.0 + std::exp(-gd)) * u[i];
        if (std::fabs(want) < 1e-30) {
          EXPECT_LE(std::fabs(h[i]), 1e-30) << cpu::isa_name(k->isa) << " g=" << g[i];
          continue;
        }
        expect_near_rel(h[i], want,
                        std::string(cpu::isa_name(k->isa)) + " swiglu n=" + std::to_string(n) + " g=" +
                            std::to_string(g[i]) + " seed " + std::to_string(seed));
      }
    }
}

TEST(CpuElementwise, SoftmaxMatchesDouble) {
  const uint32_t seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 4.0f);
  for (const cpu::KernelTable* k : tables())
    for (int64_t n : {1, 7, 16, 33, 513}) {
      const float scale = 0.088f;
      std::vector<float> s(static_cast<size_t>(n));
      for (float& v : s) v = nd(rng) * 10.0f;
      std::vector<double> want(s.size());
      double mx = -1e300, sum = 0;
      for (size_t j = 0; j < s.size(); ++j) mx = std::max(mx, static_cast<double>(s[j] * scale));
      for (size_t j = 0; j < s.size(); ++j) sum += want[j] = std::exp(static_cast<double>(s[j] * scale) - mx);
      k->softmax(s.data(), n, scale);
      double total = 0;
      for (size_t j = 0; j < s.size(); ++j) {
        total += s[j];
        EXPECT_LE(std::fabs(s[j] - want[j] / sum), 2e-6 * want[j] / sum + 1e-12)
            << cpu::isa_name(k->isa) << " softmax n=" << n << " j=" << j << " seed " << seed;
      }
      EXPECT_NEAR(total, 1.0, 1e-5) << cpu::isa_name(k->isa) << " n=" << n;
    }
}

}  // namespace
}  // namespace schwarm

// The prefill GEMM on AMX tiles (kernels_amx_panel.cpp) against the AVX-512 VNNI GEMM it mirrors:
// both flush the same integer sums through the same float operations, so their outputs must be
// equal bit for bit, for every panel type, row counts with partial groups and pairs, 32-block rows
// that end inside a block of 256, and token counts around the 16-token tile (full tiles, tails,
// fewer than one tile). The emulated tiles (the instructions' definition in scalar C++) run
// wherever AVX-512 VNNI does; the hardware tiles only where the CPU has AMX and the OS grants it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/kernels.h"
#include "backend/cpu/q4k_x16.h"
#include "backend/ref/owned_weight.h"
#include "core/tensor_type.h"

namespace schwarm {
namespace {

struct Case {
  TensorType type;
  int64_t rows, cols;
};

std::vector<float> normal(size_t n, std::mt19937& rng, float sd) {
  std::normal_distribution<float> d(0.0f, sd);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// y = W x̂ by `got` and by the VNNI table, over freshly drawn weights and activations, outputs
// poisoned (NaN, with a stride wider than the rows so that writes past them would show).
void expect_same_as_vnni(const cpu::KernelTable& got, const cpu::KernelTable& vnni, std::mt19937& rng) {
  const std::vector<Case> cases = {
      {TensorType::Q4_K, 16, 256}, {TensorType::Q4_K, 45, 512}, {TensorType::Q5_K, 32, 512},
      {TensorType::Q5_K, 7, 256},  {TensorType::Q6_K, 40, 512}, {TensorType::Q6_K, 16, 256},
      {TensorType::Q8_0, 33, 288}, {TensorType::Q8_0, 64, 512}, {TensorType::Q4_0, 21, 352},
      {TensorType::Q5_0, 48, 256},
  };
  for (const Case& c : cases)
    for (int64_t n : {1, 3, 15, 16, 17, 35, 48}) {
      const OwnedWeight w = OwnedWeight::quantized("w", c.type, {c.rows, c.cols},
                                                   normal(static_cast<size_t>(c.rows * c.cols), rng, 0.5f));
      const size_t rb = w.bytes.size() / static_cast<size_t>(c.rows);
      cpu::QActs acts;
      cpu::prepare_q8_acts(c.type, normal(static_cast<size_t>(n * c.cols), rng, 1.0f).data(), n, c.cols, acts);
      const int64_t ldy = c.rows + 5;
      std::vector<float> a(static_cast<size_t>(n * ldy), std::nanf("")), b = a;
      const std::string what = std::string(type_traits(c.type).name) + " " + std::to_string(c.rows) + "x" +
                               std::to_string(c.cols) + " n=" + std::to_string(n);
      ASSERT_TRUE(got.gemm_q8(c.type, w.bytes.data(), rb, c.rows, c.cols, acts.view(0, n), a.data(), ldy)) << what;
      ASSERT_TRUE(vnni.gemm_q8(c.type, w.bytes.data(), rb, c.rows, c.cols, acts.view(0, n), b.data(), ldy)) << what;
      EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << what;
      for (int64_t t = 0; t < n; ++t)
        for (int64_t r = 0; r < c.rows; ++r)
          ASSERT_TRUE(std::isfinite(a[static_cast<size_t>(t * ldy + r)])) << what << " t=" << t << " r=" << r;
    }
  // Q4_K repacked in groups of 16 rows (q4k_x16.h), as a model load leaves it.
  for (int64_t n : {2, 16, 29}) {
    const int64_t rows = 48, cols = 512;
    const OwnedWeight w = OwnedWeight::quantized("w", TensorType::Q4_K, {rows, cols},
                                                 normal(static_cast<size_t>(rows * cols), rng, 0.5f));
    std::vector<uint8_t> x16(w.bytes.size());
    cpu::repack_q4k_x16(w.bytes.data(), rows, cols, x16.data());
    cpu::QActs acts;
    cpu::prepare_q8_acts(TensorType::Q4_K, normal(static_cast<size_t>(n * cols), rng, 1.0f).data(), n, cols, acts);
    std::vector<float> a(static_cast<size_t>(n * rows), std::nanf("")), b = a;
    got.gemm_q4k_x16(x16.data(), rows, cols, acts.view(0, n), a.data(), rows);
    vnni.gemm_q4k_x16(x16.data(), rows, cols, acts.view(0, n), b.data(), rows);
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << "Q4_K repacked n=" << n;
  }
}

TEST(AmxGemm, EmulatedTilesEqualVnniBitForBit) {
  const cpu::KernelTable* vnni = cpu::kernel_table(cpu::Isa::Avx512Vnni);
  const cpu::KernelTable* emu = cpu::amx_emulated_kernel_table();
  if (!vnni || !emu) GTEST_SKIP() << "no AVX-512 VNNI on this CPU: neither GEMM can run here";
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  expect_same_as_vnni(*emu, *vnni, rng);
}

TEST(AmxGemm, HardwareTilesEqualVnniBitForBit) {
  const cpu::KernelTable* amx = cpu::kernel_table(cpu::Isa::Amx);
  if (!amx)
    GTEST_SKIP() << "no AMX-INT8 tiles on this CPU (or the OS did not grant the tile state): the AMX "
                    "instructions are not checked here, only their emulation";
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  expect_same_as_vnni(*amx, *cpu::kernel_table(cpu::Isa::Avx512Vnni), rng);
}

}  // namespace
}  // namespace schwarm

// The cpu backend's repacked Q4_K weights (q4k_x16.h, repacked_weights.h): the layout is a
// permutation (repack then unpack gives the bytes back, and repacking moves every byte), which
// tensors are taken, how views find their copy (whole matrices of a 2-D or stacked 3-D tensor,
// nothing else), and a stacked expert tensor multiplied through its repacked copy agrees with
// the ref backend, as in a model (experts are views into one GGUF tensor).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/q4k_x16.h"
#include "backend/cpu/repacked_weights.h"
#include "backend/cpu/thread_pool.h"
#include "backend/ref/owned_weight.h"

namespace schwarm {
namespace {

OwnedWeight random_q4k(std::vector<int64_t> shape, std::mt19937& rng) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::normal_distribution<float> d(0.0f, 0.5f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(rng);
  return OwnedWeight::quantized("w", TensorType::Q4_K, std::move(shape), v);
}

TEST(CpuRepack, LayoutIsAPermutationWithAStoredTail) {
  std::mt19937 rng(std::random_device{}());
  for (int64_t rows : {16, 37, 48}) {
    const int64_t cols = 512;
    const OwnedWeight w = random_q4k({rows, cols}, rng);
    std::vector<uint8_t> x16(w.bytes.size(), 0xAB), back(w.bytes.size(), 0xCD);
    cpu::repack_q4k_x16(w.bytes.data(), rows, cols, x16.data());
    cpu::unpack_q4k_x16(x16.data(), rows, cols, back.data());
    EXPECT_EQ(back, w.bytes) << rows << " rows";
    const size_t whole = static_cast<size_t>(rows / 16 * 16) * (cols / 256) * 144;
    EXPECT_NE(0, std::memcmp(x16.data(), w.bytes.data(), whole)) << "whole groups moved";
    EXPECT_EQ(0, std::memcmp(x16.data() + whole, w.bytes.data() + whole, w.bytes.size() - whole)) << "tail as stored";
    // Spot checks against q4k_x16.h: row 3's d, its scale word 1 and its qs word 5 in group 0, block 1.
    const uint8_t* blk = x16.data() + cpu::kQ4kX16BlockBytes;
    const uint8_t* row3 = w.bytes.data() + 3 * (cols / 256) * 144 + 144;
    EXPECT_EQ(0, std::memcmp(blk + 6, row3, 2));
    EXPECT_EQ(0, std::memcmp(blk + cpu::kQ4kX16Scales + 64 + 12, row3 + 8, 4));
    EXPECT_EQ(0, std::memcmp(blk + cpu::kQ4kX16Qs + 64 * 5 + 12, row3 + 16 + 20, 4));
  }
}

TEST(CpuRepack, FindsWholeMatricesOnly) {
  std::mt19937 rng(1);
  cpu::ThreadPool pool(2);
  cpu::RepackedWeights reg;
  OwnedWeight stacked = random_q4k({3, 48, 256}, rng);  // 3 experts of [48, 256]
  OwnedWeight small = random_q4k({8, 256}, rng);        // no whole group of 16
  OwnedWeight f32 = OwnedWeight::quantized("f", TensorType::F32, {32, 256}, std::vector<float>(32 * 256, 1.0f));
  EXPECT_FALSE(cpu::RepackedWeights::eligible(small.view));
  EXPECT_FALSE(cpu::RepackedWeights::eligible(f32.view));
  EXPECT_TRUE(reg.add(stacked.view, pool));
  EXPECT_FALSE(reg.add(stacked.view, pool)) << "added twice";
  EXPECT_FALSE(reg.add(small.view, pool));
  const size_t matrix = 48 * 144;
  for (int64_t e = 0; e < 3; ++e) {
    TensorView v = stacked.view;
    v.shape = {48, 256};
    v.data = stacked.view.data.subspan(static_cast<size_t>(e) * matrix, matrix);
    const uint8_t* got = reg.find(v);
    ASSERT_NE(got, nullptr) << "expert " << e;
    std::vector<uint8_t> back(matrix);
    cpu::unpack_q4k_x16(got, 48, 256, back.data());
    EXPECT_EQ(0, std::memcmp(back.data(), v.data.data(), matrix)) << "expert " << e;
  }
  TensorView mid = stacked.view;  // rows 16.. of expert 0: not a matrix start
  mid.shape = {32, 256};
  mid.data = stacked.view.data.subspan(16 * 144, 32 * 144);
  EXPECT_EQ(reg.find(mid), nullptr);
  TensorView shorter = stacked.view;  // a matrix start, but another shape
  shorter.shape = {32, 256};
  shorter.data = stacked.view.data.subspan(0, 32 * 144);
  EXPECT_EQ(reg.find(shorter), nullptr);
  EXPECT_EQ(reg.find(small.view), nullptr);
}

TEST(CpuRepack, StackedExpertsMatchRef) {
  const cpu::KernelTable* k = cpu::kernel_table(cpu::Isa::Avx512Vnni);
  if (!k || !k->gemv_q4k_x16) GTEST_SKIP() << "no AVX-512 VNNI on this CPU: no repacked kernels to check";
  std::mt19937 rng(std::random_device{}());
  const int64_t experts = 4, rows = 80, cols = 512;
  OwnedWeight stacked = random_q4k({experts, rows, cols}, rng);
  CpuBackend cpu(2, k);
  cpu.set_quantized_activations(true);
  int copied = 0;
  cpu.prepare_weights(std::span(&stacked.view, 1), [&](const TensorView&) { ++copied; });
  ASSERT_EQ(copied, 1);
  auto ref = make_ref_backend();
  ref->set_quantized_activations(true);
  std::normal_distribution<float> d;
  const size_t matrix = static_cast<size_t>(rows) * (cols / 256) * 144;
  for (int64_t e = 0; e < experts; ++e)
    for (int64_t n : {1, 3, 5, 12}) {  // the gemv (by up to 4 tokens) and the GEMM
      TensorView v = stacked.view;
      v.shape = {rows, cols};
      v.data = stacked.view.data.subspan(static_cast<size_t>(e) * matrix, matrix);
      std::vector<float> x(static_cast<size_t>(n * cols));
      for (float& f : x) f = d(rng);
      std::vector<float> a(static_cast<size_t>(n * rows), std::nanf("")), b = a;
      cpu.matmul(v, x, n, a);
      ref->matmul(v, x, n, b);
      double num = 0, den = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
        den += double(b[i]) * b[i];
      }
      EXPECT_LE(std::sqrt(num / den), 1e-5) << "expert " << e << " n=" << n;
    }
}

}  // namespace
}  // namespace schwarm

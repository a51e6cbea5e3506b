// cpu backend matmul per weight type: decode (n = 1, a GEMV that streams the weight once) and a
// small prefill (n = 16). Reports weight bytes streamed per second and GFLOP/s. Compare types
// within one run only; thread count = hardware threads unless SCHWARM_BENCH_THREADS is set.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "backend/backend.h"
#include "backend/ref/owned_weight.h"

namespace schwarm {
namespace {

constexpr int64_t kRows = 4096, kCols = 4096;

Backend& cpu() {
  static std::unique_ptr<Backend> be = [] {
    const char* t = std::getenv("SCHWARM_BENCH_THREADS");
    return make_cpu_backend(t ? std::atoi(t) : 0);
  }();
  return *be;
}

OwnedWeight make_weight(TensorType type) {
  std::mt19937 rng(7);
  if (type == TensorType::F8_E4M3) return OwnedWeight::random_f8_e4m3("w", {kRows, kCols}, rng);
  std::normal_distribution<float> d(0.0f, 0.02f);
  std::vector<float> v(static_cast<size_t>(kRows * kCols));
  for (float& x : v) x = d(rng);
  return OwnedWeight::quantized("w", type, {kRows, kCols}, v);
}

void BM_CpuMatmul(benchmark::State& state, TensorType type) {
  const int64_t n = state.range(0);
  static std::vector<std::pair<TensorType, std::unique_ptr<OwnedWeight>>> weights;
  OwnedWeight* w = nullptr;
  for (auto& [t, ow] : weights)
    if (t == type) w = ow.get();
  if (!w) w = weights.emplace_back(type, std::make_unique<OwnedWeight>(make_weight(type))).second.get();
  std::vector<float> x(static_cast<size_t>(n * kCols), 0.5f), y(static_cast<size_t>(n * kRows));
  for (auto _ : state) {
    cpu().matmul(w->view, x, n, y);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["weight_GB/s"] = benchmark::Counter(static_cast<double>(w->bytes.size()) * state.iterations() / 1e9,
                                                     benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * kRows * kCols * n * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(BM_CpuMatmul, F32, TensorType::F32)->Arg(1)->Arg(16)->UseRealTime();
BENCHMARK_CAPTURE(BM_CpuMatmul, BF16, TensorType::BF16)->Arg(1)->Arg(16)->UseRealTime();
BENCHMARK_CAPTURE(BM_CpuMatmul, F16, TensorType::F16)->Arg(1)->Arg(16)->UseRealTime();
BENCHMARK_CAPTURE(BM_CpuMatmul, Q8_0, TensorType::Q8_0)->Arg(1)->Arg(16)->UseRealTime();
BENCHMARK_CAPTURE(BM_CpuMatmul, Q4_0, TensorType::Q4_0)->Arg(1)->Arg(16)->UseRealTime();
BENCHMARK_CAPTURE(BM_CpuMatmul, Q4_K, TensorType::Q4_K)->Arg(1)->Arg(16)->UseRealTime();
BENCHMARK_CAPTURE(BM_CpuMatmul, Q6_K, TensorType::Q6_K)->Arg(1)->Arg(16)->UseRealTime();
BENCHMARK_CAPTURE(BM_CpuMatmul, F8_E4M3, TensorType::F8_E4M3)->Arg(1)->Arg(16)->UseRealTime();

}  // namespace
}  // namespace schwarm

BENCHMARK_MAIN();

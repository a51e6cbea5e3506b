// DRAM read bandwidth, the ceiling of decode: each of 1 or 2 (or all hardware) threads sums its own
// slice of a 2 GiB buffer (far above the L3), a 64-byte line per step, with a software prefetch
// 2 KiB ahead as the matmul kernels use (without it one core here reads ~7.7 GB/s, latency-bound). docs/PERFORMANCE.md divides a model's bytes read per decode token times its tokens/s by
// this figure (the bandwidth gap), measured in the same session.
//     build/bench/memory_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace {

constexpr size_t kBytes = size_t{2} << 30;

const std::vector<uint64_t>& buffer() {
  static const std::vector<uint64_t> b = [] {
    std::vector<uint64_t> v(kBytes / 8);
    for (size_t i = 0; i < v.size(); ++i) v[i] = i * 0x9E3779B97F4A7C15ull;  // touched: real pages
    return v;
  }();
  return b;
}

void BM_ReadBandwidth(benchmark::State& state) {
  const std::vector<uint64_t>& b = buffer();
  const size_t per = b.size() / static_cast<size_t>(state.threads());
  const uint64_t* p = b.data() + per * static_cast<size_t>(state.thread_index());
  for (auto _ : state) {
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i + 8 <= per; i += 8) {
      __builtin_prefetch(p + i + 256);  // 2 KiB ahead, as the matmul kernels do
      s0 += p[i] ^ p[i + 1];
      s1 += p[i + 2] ^ p[i + 3];
      s2 += p[i + 4] ^ p[i + 5];
      s3 += p[i + 6] ^ p[i + 7];
    }
    benchmark::DoNotOptimize(s0 + s1 + s2 + s3);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * per * 8));
}

BENCHMARK(BM_ReadBandwidth)->Threads(1)->Threads(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

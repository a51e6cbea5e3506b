// GPU decode GEMV speed against the device's own copy bandwidth, measured in the same run: the
// fraction of the memory roofline each weight type's kernel reaches (issue 10's figure, per
// kernel). Weights of real decode shapes (a Qwen3-30B-A3B expert's up projection, a DeepSeek-V2
// expert's, a 4096-square attention projection), 1 token, timed with CUDA events; the peer is a
// device-to-device cudaMemcpy of the same bytes (bytes_per_second counts bytes read once).
//     build/bench/cuda_gemv_bench                 (skips, saying why, without a GPU)
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "core/tensor_type.h"

#if defined(SCHWARM_HAS_CUDA)
#include "device_util.h"
#include "quant_matmul.h"
#endif

namespace {

#if defined(SCHWARM_HAS_CUDA)
namespace k = schwarm::cuda::k;

// A device buffer of random bytes (decode speed does not depend on the values).
struct DeviceBytes {
  void* p = nullptr;
  explicit DeviceBytes(size_t n) : p(k::device_alloc(n)) {
    std::vector<uint8_t> h(n);
    std::mt19937 rng(7);
    for (auto& b : h) b = static_cast<uint8_t>(rng() & 0x3F);  // small values: no NaN/inf fp16 scales
    k::copy_to_device(p, h.data(), n);
  }
  ~DeviceBytes() { k::device_free(p); }
  DeviceBytes(const DeviceBytes&) = delete;
  DeviceBytes& operator=(const DeviceBytes&) = delete;
};

void BM_Gemv(benchmark::State& state, schwarm::TensorType t, int64_t rows, int64_t cols) {
  if (k::device_count() == 0) return state.SkipWithError("no CUDA device on this machine");
  const auto& tt = schwarm::type_traits(t);
  const size_t wbytes = static_cast<size_t>(rows * cols / tt.block_size) * tt.block_bytes;
  DeviceBytes w(wbytes), x(static_cast<size_t>(cols) * 4), y(static_cast<size_t>(rows) * 4);
  for (auto _ : state)
    state.SetIterationTime(k::time_ms([&](cudaStream_t s) {
      k::gemv(t, w.p, rows, cols, static_cast<const float*>(x.p), 1, static_cast<float*>(y.p), rows, s);
    }, 10) / 1e3);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(wbytes));
}

// The peer: a device-to-device copy of the same kind of bytes (bytes_per_second counts bytes read).
void BM_CopyPeer(benchmark::State& state, size_t bytes) {
  if (k::device_count() == 0) return state.SkipWithError("no CUDA device on this machine");
  DeviceBytes src(bytes), dst(bytes);
  for (auto _ : state)
    state.SetIterationTime(k::time_ms([&](cudaStream_t s) { k::copy_on_device(dst.p, src.p, bytes, s); }, 10) / 1e3);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
}
#endif

void register_all() {
#if defined(SCHWARM_HAS_CUDA)
  using schwarm::TensorType;
  struct Shape {
    const char* name;
    int64_t rows, cols;
  };
  for (Shape s : {Shape{"qwen3_expert_up_768x2048", 768, 2048}, Shape{"dsv2_expert_up_1408x5120", 1408, 5120},
                  Shape{"attn_4096x4096", 4096, 4096}})
    for (TensorType t : {TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K, TensorType::Q8_0, TensorType::Q4_0,
                         TensorType::BF16, TensorType::F16, TensorType::F8_E4M3}) {
      const std::string name = std::string("CudaGemv/") + s.name + "/" + std::string(schwarm::tensor_type_name(t));
      benchmark::RegisterBenchmark(name.c_str(), BM_Gemv, t, s.rows, s.cols)->UseManualTime()->Unit(benchmark::kMicrosecond);
    }
  for (size_t mib : {16, 256})
    benchmark::RegisterBenchmark(("CudaCopyPeer/" + std::to_string(mib) + "MiB").c_str(), BM_CopyPeer, mib << 20)
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
#endif
}

}  // namespace

int main(int argc, char** argv) {
#if !defined(SCHWARM_HAS_CUDA)
  std::printf("cuda_gemv_bench: this build has no CUDA backend (SCHWARM_CUDA=OFF); nothing to measure\n");
  return 0;
#endif
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

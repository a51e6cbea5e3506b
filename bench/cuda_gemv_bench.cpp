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
#include <cuda_runtime_api.h>

#include "backend/backend.h"
#include "quant_matmul.h"
#endif

namespace {

#if defined(SCHWARM_HAS_CUDA)
bool have_gpu() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return n > 0;
}

// Device buffers of random bytes (decode speed does not depend on the values).
struct DeviceBytes {
  void* p = nullptr;
  explicit DeviceBytes(size_t n) {
    std::vector<uint8_t> h(n);
    std::mt19937 rng(7);
    for (auto& b : h) b = static_cast<uint8_t>(rng() & 0x3F);  // small values: no NaN/inf fp16 scales
    if (cudaMalloc(&p, n) != cudaSuccess || cudaMemcpy(p, h.data(), n, cudaMemcpyHostToDevice) != cudaSuccess) p = nullptr;
  }
  ~DeviceBytes() { cudaFree(p); }
};

void BM_Gemv(benchmark::State& state, schwarm::TensorType t, int64_t rows, int64_t cols) {
  if (!have_gpu()) return state.SkipWithError("no CUDA device on this machine");
  const auto& tt = schwarm::type_traits(t);
  const size_t wbytes = static_cast<size_t>(rows * cols / tt.block_size) * tt.block_bytes;
  DeviceBytes w(wbytes), x(static_cast<size_t>(cols) * 4), y(static_cast<size_t>(rows) * 4);
  if (!w.p || !x.p || !y.p) return state.SkipWithError("cudaMalloc failed");
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  for (auto _ : state) {
    cudaEventRecord(a);
    for (int i = 0; i < 10; ++i)
      schwarm::cuda::k::gemv(t, w.p, rows, cols, static_cast<const float*>(x.p), 1, static_cast<float*>(y.p), rows, nullptr);
    cudaEventRecord(b);
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    state.SetIterationTime(ms / 1e3 / 10);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(wbytes));
  cudaEventDestroy(a);
  cudaEventDestroy(b);
}

void BM_CopyPeer(benchmark::State& state, size_t bytes) {
  if (!have_gpu()) return state.SkipWithError("no CUDA device on this machine");
  DeviceBytes src(bytes), dst(bytes);
  if (!src.p || !dst.p) return state.SkipWithError("cudaMalloc failed");
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  for (auto _ : state) {
    cudaEventRecord(a);
    for (int i = 0; i < 10; ++i) cudaMemcpyAsync(dst.p, src.p, bytes, cudaMemcpyDeviceToDevice);
    cudaEventRecord(b);
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    state.SetIterationTime(ms / 1e3 / 10);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));  // bytes read
  cudaEventDestroy(a);
  cudaEventDestroy(b);
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

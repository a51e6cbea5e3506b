#pragma once
// The CUDA backend, first form: every op computes on the GPU with the kernels of kernels/, over
// the same host-memory interface as the other backends (backend.h). Each op uploads its
// activations, runs its kernels on the backend's stream and downloads the result; weights are
// uploaded once, on first use, and kept (WeightCache). The KV cache stays the caller's host
// memory: attention stores the batch's rows there exactly as ref does, then uploads the pages the
// batch reads. Simple and checkable against ref by the parity suite; the device-resident
// activations, KV cache and whole-step CUDA graph come next (docs/ARCHITECTURE.md).
#include <cuda_runtime_api.h>

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda/device_memory.h"
#include "backend/cuda/weight_cache.h"

namespace schwarm::cuda {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string name() const override { return "cuda"; }
  int device() const { return device_; }
  bool upload_weights(std::span<const TensorView> weights, const WeightProgressFn& progress) override;
  size_t weight_bytes_on_device() const { return weights_.device_bytes(); }

  void embed(const TensorView& table, std::span<const int32_t> ids, std::span<float> y) override;
  void matmul(const TensorView& w, std::span<const float> x, int64_t n, std::span<float> y) override;
  void rms_norm(std::span<const float> x, const TensorView& gain, float eps, std::span<float> y) override;
  void add(std::span<const float> x, std::span<float> y) override;
  void rope(std::span<float> x, int64_t n_heads, int64_t head_dim, std::span<const int32_t> pos,
            const RopeSpec& rope) override;
  void ffn(const FfnWeights& w, std::span<const float> x, int64_t n, std::span<float> y) override;
  void moe(const MoeWeights& w, const MoeSpec& spec, std::span<const float> x, int64_t n,
           std::span<float> y) override;
  void attention(std::span<const float> q, std::span<const float> k, std::span<const float> v, int64_t n_heads,
                 int64_t n_kv_heads, int64_t head_dim, float scale, const BatchLayout& batch, KvLayerCache& cache,
                 std::span<float> out) override;
  void mla_attention(std::span<const float> q_nope, std::span<const float> q_pe, std::span<const float> latent,
                     std::span<const float> k_pe, const MlaKvB& kv_b, int64_t n_heads, int64_t d_nope,
                     int64_t d_rope, int64_t d_v, float scale, const BatchLayout& batch, KvLayerCache& cache,
                     std::span<float> out) override;

 private:
  // Every op starts here: makes the backend's device current and recycles the scratch arena (the
  // previous op ended with a synchronising download).
  void begin_op();
  template <class T>
  T* upload(std::span<const T> host, const char* what);
  void download(const float* dev, std::span<float> host);

  // Device-pointer forms the ops compose: y[n, rows] = x[n, cols] · Wᵀ; the SwiGLU FFN.
  void matmul_dev(const TensorView& w, int64_t rows, int64_t cols, const float* x, int64_t n, float* y);
  void ffn_dev(const FfnWeights& w, int64_t hidden, const float* x, int64_t n, float* y);

  // The pages of the cache that the batch reads, copied to the device in a compact pool with its
  // own page table; seq[t] renumbered to rows of that table.
  struct DevicePages {
    float* k = nullptr;
    float* v = nullptr;
    int32_t* page_table = nullptr;
    int64_t max_pages = 0;
    int32_t* seq = nullptr;
    int32_t* pos = nullptr;
  };
  DevicePages upload_pages(const BatchLayout& batch, const KvLayerCache& cache);

  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  Arena arena_;
  WeightCache weights_;
  std::vector<float> staging_;  // host gather buffer for upload_pages
};

// Throws Error("OP: weight type T is not supported by the CUDA backend") for a type the kernels
// cannot decode.
void require_weight_type(TensorType t, const char* op);

// nullptr when no CUDA device is present; throws Error for a device index that does not exist or
// a GPU older than the kernels' minimum (compute capability 8.0).
std::unique_ptr<Backend> make_backend(int device);

}  // namespace schwarm::cuda

#include "device_util.h"

#include "backend/cuda/cuda_check.h"

namespace schwarm::cuda::k {

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

void* device_alloc(size_t bytes) {
  void* p = nullptr;
  SCHWARM_CUDA_CHECK(cudaMalloc(&p, bytes));
  return p;
}

void device_free(void* p) { SCHWARM_CUDA_CHECK(cudaFree(p)); }

void copy_to_device(void* dst, const void* src, size_t bytes) {
  SCHWARM_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

void copy_on_device(void* dst, const void* src, size_t bytes, cudaStream_t s) {
  SCHWARM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s));
}

float time_ms(const std::function<void(cudaStream_t)>& launch, int reps) {
  launch(nullptr);
  cudaEvent_t a, b;
  SCHWARM_CUDA_CHECK(cudaEventCreate(&a));
  SCHWARM_CUDA_CHECK(cudaEventCreate(&b));
  SCHWARM_CUDA_CHECK(cudaEventRecord(a, nullptr));
  for (int i = 0; i < reps; ++i) launch(nullptr);
  SCHWARM_CUDA_CHECK(cudaEventRecord(b, nullptr));
  SCHWARM_CUDA_CHECK(cudaEventSynchronize(b));
  float ms = 0;
  SCHWARM_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return ms / static_cast<float>(reps);
}

}  // namespace schwarm::cuda::k

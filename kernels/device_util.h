#pragma once
// Small device utilities for programs beside the library (bench/cuda_gemv_bench): memory, copies
// and event timing through the library's own CUDA runtime, so such a program needs no runtime of
// its own (libschwarm links the static CUDA runtime; a second copy in the program would be a
// second runtime instance). Errors throw schwarm::Error.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <functional>

namespace schwarm::cuda::k {

int device_count();  // 0 without a driver or device
void* device_alloc(size_t bytes);
void device_free(void* p);
void copy_to_device(void* dst, const void* src, size_t bytes);
void copy_on_device(void* dst, const void* src, size_t bytes, cudaStream_t s);
// Milliseconds per call of `launch` (on the legacy default stream), averaged over reps calls
// between two CUDA events, after one unmeasured call.
float time_ms(const std::function<void(cudaStream_t)>& launch, int reps);

}  // namespace schwarm::cuda::k

#pragma once
// Every CUDA runtime call and kernel launch is checked: a failure throws schwarm::Error naming the
// call, where it was made and CUDA's own text, e.g.
//   "CUDA error: cudaMalloc(&p, bytes) at src/backend/cuda/device_memory.cpp:31: out of memory".
// Used by host code in src/backend/cuda/ and by the launchers in kernels/*.cu.
#include <cuda_runtime_api.h>

#include <string>

#include "schwarm/error.h"

namespace schwarm::cuda {

[[noreturn]] inline void throw_cuda_error(cudaError_t e, const char* call, const char* file, int line) {
  throw Error(std::string("CUDA error: ") + call + " at " + file + ":" + std::to_string(line) + ": " +
              cudaGetErrorString(e));
}

inline void check_cuda(cudaError_t e, const char* call, const char* file, int line) {
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear a non-sticky error so the backend stays usable after it is reported
    throw_cuda_error(e, call, file, line);
  }
}

}  // namespace schwarm::cuda

#define SCHWARM_CUDA_CHECK(call) ::schwarm::cuda::check_cuda((call), #call, __FILE__, __LINE__)
// After a <<<...>>> launch: a bad configuration (too many threads, too much shared memory) shows
// here; faults inside the kernel show at the next synchronising call.
#define SCHWARM_CUDA_CHECK_LAUNCH(name) ::schwarm::cuda::check_cuda(cudaGetLastError(), name, __FILE__, __LINE__)

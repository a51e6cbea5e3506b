#pragma once
// The two macros every kernels/*.cuh header shares, so that its math compiles both in nvcc's
// device code and in a host-only GoogleTest (g++, no CUDA):
//   SCHWARM_HD      __host__ __device__ under nvcc, nothing under g++;
//   SCHWARM_UNROLL  `#pragma unroll` in device code only (g++ and nvcc's host pass would warn).
#if defined(__CUDACC__)
#define SCHWARM_HD __host__ __device__
#else
#define SCHWARM_HD
#endif

#if defined(__CUDA_ARCH__)
#define SCHWARM_UNROLL _Pragma("unroll")
#else
#define SCHWARM_UNROLL
#endif

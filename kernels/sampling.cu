// The on-device sampler. Greedy (temperature 0): one block finds the largest sort key (the first
// argmax). Otherwise, exactly (sampling.cuh explains the keys):
//   1. keys_kernel: every token's 64-bit sort key (grid-stride);
//   2. CUB's radix sort, descending, over the 32 + id_bits key bits (~7 passes of 8 bits);
//   3. finish_kernel, one block of 1024 threads: sample_sorted (sampling.cuh), whose exp() terms
//      are spread over the block and whose sums run in thread 0, in descending order.
// Cost, for a vocabulary V: the sort is a few tens of microseconds at V ~ 160k (to be measured).
// Thread 0's sequential passes (each a sum over the candidates, then a cumulative walk that stops
// at its cut) cover the top_k survivors, nothing for top_k ~ 40, but all V candidates when top_k
// is off: estimated 0.5-2 ms per pass at V ~ 160k (one dependent double add per element, loads
// batched and prefetched by sample_scan), up to three passes (top_p, min_p, temperature): the
// price of summing in exactly the host's order. Faster exact schemes (stop summing once the
// remaining terms cannot change the double sum; stage the terms in shared memory; select the
// top_k without a full sort) are later work.
#include "sampling.h"

#include <cub/device/device_radix_sort.cuh>

#include <algorithm>
#include <string>

#include "backend/cuda/cuda_check.h"
#include "sampling.cuh"
#include "schwarm/error.h"

namespace schwarm::cuda::k {
namespace {

constexpr int kBlock = 1024;  // finish_kernel and argmax_kernel: one block
constexpr int kKeyThreads = 256;

// Where each part of the scratch lies (byte offsets, each aligned to 256).
struct ScratchLayout {
  size_t keys_in = 0, keys_out = 0, terms = 0, cub = 0, cub_bytes = 0, total = 0;
};

size_t align256(size_t x) { return (x + 255) / 256 * 256; }

size_t cub_sort_bytes(int64_t vocab, int id_bits) {
  size_t bytes = 0;
  SCHWARM_CUDA_CHECK(cub::DeviceRadixSort::SortKeysDescending(nullptr, bytes, static_cast<const uint64_t*>(nullptr),
                                                              static_cast<uint64_t*>(nullptr), static_cast<int>(vocab),
                                                              0, 32 + id_bits));
  return bytes;
}

ScratchLayout scratch_layout(int64_t vocab) {
  ScratchLayout l;
  const size_t v = static_cast<size_t>(vocab);
  l.keys_in = 0;
  l.keys_out = align256(l.keys_in + v * sizeof(uint64_t));
  l.terms = align256(l.keys_out + v * sizeof(uint64_t));
  l.cub = align256(l.terms + v * sizeof(double));
  l.cub_bytes = cub_sort_bytes(vocab, sample_id_bits(vocab));
  l.total = l.cub + align256(l.cub_bytes);
  return l;
}

__global__ void keys_kernel(const float* __restrict__ logits, int64_t vocab, int id_bits, uint64_t* __restrict__ keys) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < vocab; i += int64_t{gridDim.x} * blockDim.x)
    keys[i] = sample_key(logits[i], static_cast<int32_t>(i), id_bits);
}

// Greedy: the largest key over one block (keys are distinct, so the maximum is the first argmax).
// __launch_bounds__: the block is launched with kBlock threads, so at most 64 registers each.
__global__ void __launch_bounds__(kBlock)
    argmax_kernel(const float* __restrict__ logits, int64_t vocab, int id_bits, int32_t* out_id, int32_t* out_kept) {
  __shared__ unsigned long long warp_best[kBlock / 32];
  unsigned long long best = 0;
  for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
    const unsigned long long key = sample_key(logits[i], static_cast<int32_t>(i), id_bits);
    best = key > best ? key : best;
  }
  for (int off = 16; off > 0; off >>= 1) {
    const unsigned long long other = __shfl_xor_sync(0xffffffffu, best, off);
    best = other > best ? other : best;
  }
  if (threadIdx.x % 32 == 0) warp_best[threadIdx.x / 32] = best;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (unsigned w = 1; w < blockDim.x / 32; ++w) best = warp_best[w] > best ? warp_best[w] : best;
    *out_id = sample_key_id(best, id_bits);
    if (out_kept) *out_kept = 1;
  }
}

// sample_sorted's team on the device: the threads of one block.
struct BlockTeam {
  int64_t* slot;  // shared memory: thread 0's result for the others

  template <class F>
  __device__ void for_each(int64_t n, F f) {
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) f(i);
    __syncthreads();
  }
  template <class F>
  __device__ int64_t one(F f) {
    if (threadIdx.x == 0) *slot = f();
    __syncthreads();
    const int64_t r = *slot;
    __syncthreads();  // nobody may overwrite the slot before every thread has read it
    return r;
  }
};

__global__ void __launch_bounds__(kBlock) finish_kernel(const uint64_t* __restrict__ keys, int64_t vocab, int id_bits,
                                                        SampleParams p, double u, double* terms, int32_t* out_id,
                                                        int32_t* out_kept) {
  __shared__ int64_t slot;
  BlockTeam team{&slot};
  int64_t kept = 0;
  const int32_t id = sample_sorted(team, keys, vocab, id_bits, p, u, terms, &kept);
  if (threadIdx.x == 0) {
    *out_id = id;
    if (out_kept) *out_kept = static_cast<int32_t>(kept);
  }
}

void check_args(int64_t vocab, const SampleParams& p) {
  if (vocab <= 0 || vocab > INT32_MAX)
    throw Error("cuda sample: vocabulary of " + std::to_string(vocab) + " logits (must be in [1, 2^31 - 1])");
  if (const char* err = sample_params_error(p)) throw Error(std::string("cuda sample: ") + err);
}

}  // namespace

size_t sample_scratch_bytes(int64_t vocab) {
  if (vocab <= 0) return 0;
  check_args(vocab, SampleParams{});
  return scratch_layout(vocab).total;
}

void sample(const float* logits, int64_t vocab, const SampleParams& p, double u, void* scratch, int32_t* out_id,
            int32_t* out_kept, cudaStream_t s) {
  check_args(vocab, p);
  const int id_bits = sample_id_bits(vocab);
  if (p.temperature == 0.0f) {
    argmax_kernel<<<1, kBlock, 0, s>>>(logits, vocab, id_bits, out_id, out_kept);
    SCHWARM_CUDA_CHECK_LAUNCH("argmax_kernel");
    return;
  }
  const ScratchLayout l = scratch_layout(vocab);
  auto* base = static_cast<unsigned char*>(scratch);
  auto* keys_in = reinterpret_cast<uint64_t*>(base + l.keys_in);
  auto* keys_out = reinterpret_cast<uint64_t*>(base + l.keys_out);
  auto* terms = reinterpret_cast<double*>(base + l.terms);
  const auto key_blocks = static_cast<unsigned>(std::min<int64_t>((vocab + kKeyThreads - 1) / kKeyThreads, 1024));
  keys_kernel<<<key_blocks, kKeyThreads, 0, s>>>(logits, vocab, id_bits, keys_in);
  SCHWARM_CUDA_CHECK_LAUNCH("keys_kernel");
  size_t cub_bytes = l.cub_bytes;
  SCHWARM_CUDA_CHECK(cub::DeviceRadixSort::SortKeysDescending(base + l.cub, cub_bytes, keys_in, keys_out,
                                                              static_cast<int>(vocab), 0, 32 + id_bits, s));
  finish_kernel<<<1, kBlock, 0, s>>>(keys_out, vocab, id_bits, p, u, terms, out_id, out_kept);
  SCHWARM_CUDA_CHECK_LAUNCH("finish_kernel");
}

void sample(const float* logits, int64_t vocab, const SampleParams& p, double u, void* scratch, int32_t* out_id,
            cudaStream_t s) {
  sample(logits, vocab, p, u, scratch, out_id, nullptr, s);
}

}  // namespace schwarm::cuda::k

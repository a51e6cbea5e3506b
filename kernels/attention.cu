// The attention kernels: rows into the paged cache, GQA and MLA (absorbed) attention over it, and
// MLA's per-head projections. fp32 throughout, expf (not __expf).
//
// Attention: one block of kAttnWarps warps per (token, head). Warp w takes the keys j = w,
// w + kAttnWarps, ... of [0, pos[t]]; per key its lanes hold the dims lane + 32 * i of the query,
// the key and the accumulator (registers, kChunks of them), reduce the dot product across the
// warp (every lane gets the same score) and update an online softmax (attention.cuh). At the end
// the warps' partial (m, l, acc) meet in shared memory and are merged. No buffer grows with the
// context, so any position works.
#include "attention.h"

#include <algorithm>
#include <cstddef>
#include <string>

#include "attention.cuh"
#include "backend/cuda/cuda_check.h"
#include "schwarm/error.h"

namespace schwarm::cuda::k {
namespace {

constexpr int kThreads = 256;  // the simple kernels (store_rows, projections)
constexpr int kAttnWarps = 4;
constexpr int kAttnThreads = kAttnWarps * 32;

int64_t blocks_for(int64_t n) { return std::min<int64_t>((n + kThreads - 1) / kThreads, int64_t{1} << 20); }

void require(bool ok, const char* op, const std::string& what) {
  if (!ok) throw Error(std::string("cuda ") + op + ": " + what);
}

__device__ float warp_sum(float v) {
  // Butterfly: each step adds the same two values on both lanes of a pair, so all lanes end bitwise equal.
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// ---- store_rows: one thread per copied float --------------------------------------------------
__global__ void store_rows_kernel(const float* __restrict__ src, int64_t n_tokens, int64_t width,
                                  const int32_t* __restrict__ seq, const int32_t* __restrict__ pos,
                                  const int32_t* __restrict__ page_table, int64_t max_pages, int64_t page_tokens,
                                  float* __restrict__ cache, int64_t cache_width) {
  const int64_t total = n_tokens * width;
  for (int64_t idx = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; idx < total;
       idx += int64_t{gridDim.x} * blockDim.x) {
    const int64_t t = idx / width, c = idx % width;
    const int64_t slot = paged_slot(page_table, max_pages, page_tokens, seq[t], pos[t]);
    cache[slot * cache_width + c] = src[idx];
  }
}

// ---- attention --------------------------------------------------------------------------------
struct AttnArgs {
  const float* q;        // [n_tokens, n_heads, width]: GQA's q, MLA's q_lat
  const float* q_rope;   // MLA: q_pe [n_tokens, n_heads, rope_width]; GQA: unused
  int64_t n_heads;
  int64_t heads_per_kv;  // GQA: n_heads / n_kv_heads; MLA: n_heads (every head reads column 0 on)
  int64_t width;         // dims of q . key and of the value: head_dim (GQA), rank (MLA)
  int64_t rope_width;    // MLA: d_rope; GQA: 0
  float scale;
  const int32_t* seq;
  const int32_t* pos;
  PagedKv kv;
  float* out;  // [n_tokens, n_heads, width]
};

// kMla: the key is [latent (kv.k row), kpe (kv.v row)] and the value is the latent again (already
// in registers); otherwise key and value are the kv head's columns of the kv.k and kv.v rows.
// Dynamic shared memory: rope_width floats (MLA's q_pe), 0 for GQA.
template <int kChunks, bool kMla>
__global__ void __launch_bounds__(kAttnThreads) paged_attention_kernel(AttnArgs a) {
  __shared__ float part_m[kAttnWarps], part_l[kAttnWarps];
  __shared__ float part_acc[kAttnWarps][kChunks * 32];
  extern __shared__ float q_rope_sh[];

  const int64_t th = blockIdx.x;  // token * n_heads + head
  const int64_t t = th / a.n_heads, h = th % a.n_heads;
  const int warp = static_cast<int>(threadIdx.x / 32), lane = static_cast<int>(threadIdx.x % 32);
  const int64_t width = a.width;
  const int32_t sq = a.seq[t], last = a.pos[t];
  const int64_t col = (h / a.heads_per_kv) * width;

  if constexpr (kMla) {
    for (int64_t i = threadIdx.x; i < a.rope_width; i += blockDim.x) q_rope_sh[i] = a.q_rope[th * a.rope_width + i];
    __syncthreads();
  }

  float qr[kChunks], acc[kChunks];
  const float* qh = a.q + th * width;
#pragma unroll
  for (int i = 0; i < kChunks; ++i) {
    const int64_t d = lane + 32 * i;
    qr[i] = d < width ? qh[d] : 0.0f;
    acc[i] = 0.0f;
  }

  OnlineSoftmax sm;
  for (int32_t j = warp; j <= last; j += kAttnWarps) {
    const int64_t slot = paged_slot(a.kv.page_table, a.kv.max_pages, a.kv.page_tokens, sq, j);
    const float* krow = a.kv.k + slot * a.kv.k_width + col;
    float kr[kChunks];
    float dot = 0.0f;
#pragma unroll
    for (int i = 0; i < kChunks; ++i) {
      const int64_t d = lane + 32 * i;
      kr[i] = d < width ? krow[d] : 0.0f;
      dot += qr[i] * kr[i];
    }
    if constexpr (kMla) {
      const float* erow = a.kv.v + slot * a.kv.v_width;
      for (int64_t d = lane; d < a.rope_width; d += 32) dot += q_rope_sh[d] * erow[d];
    }
    const float score = warp_sum(dot) * a.scale;
    float alpha, p;
    sm.add(score, alpha, p);
    if constexpr (kMla) {
#pragma unroll
      for (int i = 0; i < kChunks; ++i) acc[i] = acc[i] * alpha + p * kr[i];
    } else {
      const float* vrow = a.kv.v + slot * a.kv.v_width + col;
#pragma unroll
      for (int i = 0; i < kChunks; ++i) {
        const int64_t d = lane + 32 * i;
        const float v = d < width ? vrow[d] : 0.0f;
        acc[i] = acc[i] * alpha + p * v;
      }
    }
  }

#pragma unroll
  for (int i = 0; i < kChunks; ++i) part_acc[warp][lane + 32 * i] = acc[i];
  if (lane == 0) {
    part_m[warp] = sm.m;
    part_l[warp] = sm.l;
  }
  __syncthreads();

  float w[kAttnWarps];
  const float total = merge_partials(part_m, part_l, kAttnWarps, w);
  float* oh = a.out + th * width;
  for (int64_t d = threadIdx.x; d < width; d += blockDim.x) {
    float sum = 0.0f;
#pragma unroll
    for (int i = 0; i < kAttnWarps; ++i) sum += part_acc[i][d] * w[i];
    oh[d] = total > 0.0f ? sum / total : 0.0f;  // total = 0: no key at all (pos < 0), never in a valid batch
  }
}

template <bool kMla>
void launch_attention(const AttnArgs& a, int64_t n_tokens, cudaStream_t s, const char* op) {
  const int64_t blocks = n_tokens * a.n_heads;
  require(blocks <= 0x7fffffff, op, std::to_string(n_tokens) + " tokens x " + std::to_string(a.n_heads) +
                                        " heads exceed the grid");
  const size_t smem = kMla ? static_cast<size_t>(a.rope_width) * sizeof(float) : 0;
  const dim3 grid(static_cast<unsigned>(blocks));
  switch (attention_chunks(a.width)) {
    case 1: paged_attention_kernel<1, kMla><<<grid, kAttnThreads, smem, s>>>(a); break;
    case 2: paged_attention_kernel<2, kMla><<<grid, kAttnThreads, smem, s>>>(a); break;
    case 4: paged_attention_kernel<4, kMla><<<grid, kAttnThreads, smem, s>>>(a); break;
    case 8: paged_attention_kernel<8, kMla><<<grid, kAttnThreads, smem, s>>>(a); break;
    case 16: paged_attention_kernel<16, kMla><<<grid, kAttnThreads, smem, s>>>(a); break;
    case 32: paged_attention_kernel<32, kMla><<<grid, kAttnThreads, smem, s>>>(a); break;
    default: require(false, op, "width " + std::to_string(a.width) + " not in [1, 1024]");
  }
  SCHWARM_CUDA_CHECK_LAUNCH(op);
}

void check_paged(const PagedKv& kv, const char* op) {
  require(kv.page_tokens > 0 && kv.max_pages > 0 && kv.page_table != nullptr, op,
          "bad page table (page_tokens " + std::to_string(kv.page_tokens) + ", max_pages " +
              std::to_string(kv.max_pages) + ")");
}

// ---- MLA projections --------------------------------------------------------------------------
// One thread per q_lat element; consecutive threads take consecutive r, so w_uk rows are read
// coalesced.
__global__ void mla_absorb_q_kernel(const float* __restrict__ w_uk, const float* __restrict__ q_nope,
                                    int64_t n_heads, int64_t d_nope, int64_t rank, int64_t total,
                                    float* __restrict__ q_lat) {
  for (int64_t idx = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; idx < total;
       idx += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = idx % rank, th = idx / rank, h = th % n_heads;
    const float* w = w_uk + h * d_nope * rank + r;
    const float* x = q_nope + th * d_nope;
    float acc = 0.0f;
    for (int64_t i = 0; i < d_nope; ++i) acc += w[i * rank] * x[i];
    q_lat[idx] = acc;
  }
}

// One warp per output element: lanes stride over the rank (both rows read coalesced) and reduce.
// blockDim is a multiple of 32, so each warp's loop is uniform.
__global__ void mla_project_out_kernel(const float* __restrict__ w_uv, const float* __restrict__ o_lat,
                                       int64_t n_heads, int64_t d_v, int64_t rank, int64_t total,
                                       float* __restrict__ out) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const int64_t n_warps = int64_t{gridDim.x} * (blockDim.x / 32);
  for (int64_t o = (blockIdx.x * int64_t{blockDim.x} + threadIdx.x) / 32; o < total; o += n_warps) {
    const int64_t j = o % d_v, th = o / d_v, h = th % n_heads;
    const float* w = w_uv + (h * d_v + j) * rank;
    const float* x = o_lat + th * rank;
    float acc = 0.0f;
    for (int64_t r = lane; r < rank; r += 32) acc += w[r] * x[r];
    acc = warp_sum(acc);
    if (lane == 0) out[o] = acc;
  }
}

}  // namespace

void store_rows(const float* src, int64_t n_tokens, int64_t width, const int32_t* seq, const int32_t* pos,
                const PagedKv& kv, float* cache, int64_t cache_width, cudaStream_t s) {
  const char* op = "store_rows";
  require(n_tokens >= 0 && width >= 0 && width <= cache_width, op,
          std::to_string(n_tokens) + " rows of " + std::to_string(width) + " floats into a cache of width " +
              std::to_string(cache_width));
  if (n_tokens == 0 || width == 0) return;
  check_paged(kv, op);
  const int64_t total = n_tokens * width;
  store_rows_kernel<<<static_cast<unsigned>(blocks_for(total)), kThreads, 0, s>>>(
      src, n_tokens, width, seq, pos, kv.page_table, kv.max_pages, kv.page_tokens, cache, cache_width);
  SCHWARM_CUDA_CHECK_LAUNCH(op);
}

void paged_attention_gqa(const float* q, int64_t n_tokens, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                         float scale, const int32_t* seq, const int32_t* pos, const PagedKv& kv, float* out,
                         cudaStream_t s) {
  const char* op = "paged_attention_gqa";
  require(n_tokens >= 0 && n_heads >= 0 && n_kv_heads > 0 && n_heads % n_kv_heads == 0, op,
          std::to_string(n_heads) + " heads over " + std::to_string(n_kv_heads) + " kv heads");
  require(attention_chunks(head_dim) > 0, op, "head_dim " + std::to_string(head_dim) + " not in [1, 1024]");
  require(kv.k_width >= n_kv_heads * head_dim && kv.v_width >= n_kv_heads * head_dim, op,
          "cache widths (" + std::to_string(kv.k_width) + ", " + std::to_string(kv.v_width) + ") below " +
              std::to_string(n_kv_heads) + " x " + std::to_string(head_dim));
  if (n_tokens == 0 || n_heads == 0) return;
  check_paged(kv, op);
  const AttnArgs a{q, nullptr, n_heads, n_heads / n_kv_heads, head_dim, 0, scale, seq, pos, kv, out};
  launch_attention<false>(a, n_tokens, s, op);
}

void paged_attention_mla(const float* q_lat, const float* q_pe, int64_t n_tokens, int64_t n_heads, int64_t rank,
                         int64_t d_rope, float scale, const int32_t* seq, const int32_t* pos, const PagedKv& kv,
                         float* o_lat, cudaStream_t s) {
  const char* op = "paged_attention_mla";
  require(n_tokens >= 0 && n_heads >= 0, op, "negative sizes");
  require(attention_chunks(rank) > 0, op, "rank " + std::to_string(rank) + " not in [1, 1024]");
  require(d_rope >= 0 && d_rope <= 1024, op, "d_rope " + std::to_string(d_rope) + " not in [0, 1024]");
  require(kv.k_width >= rank && kv.v_width >= d_rope, op,
          "cache widths (" + std::to_string(kv.k_width) + ", " + std::to_string(kv.v_width) + ") below rank " +
              std::to_string(rank) + ", d_rope " + std::to_string(d_rope));
  if (n_tokens == 0 || n_heads == 0) return;
  check_paged(kv, op);
  const AttnArgs a{q_lat, q_pe, n_heads, n_heads, rank, d_rope, scale, seq, pos, kv, o_lat};
  launch_attention<true>(a, n_tokens, s, op);
}

void mla_absorb_q(const float* w_uk, const float* q_nope, int64_t n_tokens, int64_t n_heads, int64_t d_nope,
                  int64_t rank, float* q_lat, cudaStream_t s) {
  const char* op = "mla_absorb_q";
  require(n_tokens >= 0 && n_heads >= 0 && d_nope >= 0 && rank >= 0, op, "negative sizes");
  const int64_t total = n_tokens * n_heads * rank;
  if (total == 0) return;
  mla_absorb_q_kernel<<<static_cast<unsigned>(blocks_for(total)), kThreads, 0, s>>>(w_uk, q_nope, n_heads, d_nope,
                                                                                      rank, total, q_lat);
  SCHWARM_CUDA_CHECK_LAUNCH(op);
}

void mla_project_out(const float* w_uv, const float* o_lat, int64_t n_tokens, int64_t n_heads, int64_t d_v,
                     int64_t rank, float* out, cudaStream_t s) {
  const char* op = "mla_project_out";
  require(n_tokens >= 0 && n_heads >= 0 && d_v >= 0 && rank >= 0, op, "negative sizes");
  const int64_t total = n_tokens * n_heads * d_v;  // one warp each
  if (total == 0) return;
  mla_project_out_kernel<<<static_cast<unsigned>(blocks_for(total * 32)), kThreads, 0, s>>>(w_uv, o_lat, n_heads,
                                                                                             d_v, rank, total, out);
  SCHWARM_CUDA_CHECK_LAUNCH(op);
}

}  // namespace schwarm::cuda::k

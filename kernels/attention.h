#pragma once
// Host-callable launchers of the attention kernels (kernels/attention.cu): storing rows into a
// paged KV cache, GQA and DeepSeek MLA (absorbed form) attention over it, and MLA's per-head
// projections. Device pointers, no synchronisation; the semantics are the ref backend's
// (src/backend/ref/ref_attention.cpp). Each launcher throws schwarm::Error on sizes it cannot
// serve (e.g. a head or latent wider than 1024 floats).
#include <cuda_runtime_api.h>

#include <cstdint>

namespace schwarm::cuda::k {

// A paged cache on the device. page_table is [n_seqs, max_pages] row-major (row s = the pages of
// sequence s in position order; entries past a sequence's length unused); the slot of (s, p) is
// page_table[s * max_pages + p / page_tokens] * page_tokens + p % page_tokens; the row of slot i
// starts at k + i * k_width (and v + i * v_width).
struct PagedKv {
  float* k;
  float* v;
  int64_t k_width, v_width;
  const int32_t* page_table;
  int64_t max_pages;
  int64_t page_tokens;
};

// Copies rows src[t * width, +width) into the slot of (seq[t], pos[t]) of `cache` (kv.k or kv.v;
// cache_width its row width, >= width: columns past width are left alone). Slots come from kv's
// page table.
void store_rows(const float* src, int64_t n_tokens, int64_t width, const int32_t* seq, const int32_t* pos,
                const PagedKv& kv, float* cache, int64_t cache_width, cudaStream_t s);

// GQA. q, out: [n_tokens, n_heads, head_dim]. Head h reads kv head h / (n_heads / n_kv_heads) at
// columns [kvh * head_dim, +head_dim) of the k and v rows: out[t, h, :] =
// softmax_j(q[t, h, :] . K_j * scale) . V_j over positions j in [0, pos[t]] of sequence seq[t].
// head_dim <= 1024; n_heads a multiple of n_kv_heads; kv.k_width, kv.v_width >= n_kv_heads * head_dim.
void paged_attention_gqa(const float* q, int64_t n_tokens, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                         float scale, const int32_t* seq, const int32_t* pos, const PagedKv& kv, float* out,
                         cudaStream_t s);

// MLA, absorbed: kv.k holds latents (k_width >= rank), kv.v rope keys (v_width >= d_rope).
// score_j = (q_lat[t, h, :] . latent_j + q_pe[t, h, :] . kpe_j) * scale;
// o_lat[t, h, :] = sum_j softmax(score)_j * latent_j over positions j in [0, pos[t]].
// q_lat, o_lat: [n_tokens, n_heads, rank]; q_pe: [n_tokens, n_heads, d_rope]. rank <= 1024.
void paged_attention_mla(const float* q_lat, const float* q_pe, int64_t n_tokens, int64_t n_heads, int64_t rank,
                         int64_t d_rope, float scale, const int32_t* seq, const int32_t* pos, const PagedKv& kv,
                         float* o_lat, cudaStream_t s);

// MLA's per-head projections with canonical f32 weights w_uk [H, d_nope, rank], w_uv [H, d_v, rank]:
//   q_lat[t, h, r] = sum_i w_uk[h, i, r] * q_nope[t, h, i]     (q_nope [n, H, d_nope])
//   out[t, h, j]   = sum_r w_uv[h, j, r] * o_lat[t, h, r]      (out [n, H, d_v])
void mla_absorb_q(const float* w_uk, const float* q_nope, int64_t n_tokens, int64_t n_heads, int64_t d_nope,
                  int64_t rank, float* q_lat, cudaStream_t s);
void mla_project_out(const float* w_uv, const float* o_lat, int64_t n_tokens, int64_t n_heads, int64_t d_v,
                     int64_t rank, float* out, cudaStream_t s);

}  // namespace schwarm::cuda::k

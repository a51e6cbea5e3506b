// cuda: GQA and MLA attention. The batch's rows are stored into the caller's (host) cache exactly
// as ref stores them; the pages the batch reads are then gathered into one upload with a compact
// page table, and the paged kernels of kernels/attention.cu run over that copy. MLA runs in the
// absorbed form with W_uk / W_uv dequantized once per weight into canonical f32 [H, d, rank].
#include <algorithm>

#include "attention.h"
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda_plans.h"
#include "backend/ref/op_common.h"

namespace schwarm::cuda {

using namespace backend_detail;

namespace {
// Stores row t of src (width floats) into the cache slot of (seq[t], pos[t]), as ref does.
void store_rows_host(const BatchLayout& b, std::span<const float> src, int64_t width, std::span<float> cache) {
  for (int64_t t = 0; t < b.n_tokens; ++t) {
    const int64_t slot = cache_slot(b, b.seq[static_cast<size_t>(t)], b.pos[static_cast<size_t>(t)]);
    std::copy_n(src.data() + t * width, width, cache.data() + slot * width);
  }
}
}  // namespace

CudaBackend::DevicePages CudaBackend::upload_pages(const BatchLayout& batch, const KvLayerCache& cache) {
  const PagePlan plan = plan_pages(batch);  // backend/cuda_plans.h
  DevicePages d;
  d.max_pages = plan.max_pages;
  gather_pages(plan, batch, cache.k.data(), cache.k_width, staging_);
  d.k = upload(std::span<const float>(staging_), "kv cache pages (k)");
  gather_pages(plan, batch, cache.v.data(), cache.v_width, staging_);  // the k copy was staged already
  d.v = upload(std::span<const float>(staging_), "kv cache pages (v)");
  d.page_table = upload(std::span<const int32_t>(plan.table), "page table");
  d.seq = upload(std::span<const int32_t>(plan.seq_row), "token sequences");
  d.pos = upload(batch.pos, "token positions");
  return d;
}

void CudaBackend::attention(std::span<const float> q, std::span<const float> k, std::span<const float> v,
                            int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale,
                            const BatchLayout& batch, KvLayerCache& cache, std::span<float> out) {
  check_attention(q, k, v, n_heads, n_kv_heads, head_dim, batch, cache, out);
  if (batch.n_tokens == 0) return;
  const int64_t kvw = n_kv_heads * head_dim;
  store_rows_host(batch, k, kvw, cache.k);
  store_rows_host(batch, v, kvw, cache.v);
  begin_op();
  const DevicePages p = upload_pages(batch, cache);
  const float* dq = upload(q, "attention queries");
  float* dout = arena_.alloc<float>(static_cast<int64_t>(out.size()), "attention output");
  const k::PagedKv kv{p.k, p.v, kvw, kvw, p.page_table, p.max_pages, batch.page_tokens};
  k::paged_attention_gqa(dq, batch.n_tokens, n_heads, n_kv_heads, head_dim, scale, p.seq, p.pos, kv, dout, stream_);
  download(dout, out);
}

void CudaBackend::mla_attention(std::span<const float> q_nope, std::span<const float> q_pe,
                                std::span<const float> latent, std::span<const float> k_pe, const MlaKvB& kv_b,
                                int64_t n_heads, int64_t d_nope, int64_t d_rope, int64_t d_v, float scale,
                                const BatchLayout& batch, KvLayerCache& cache, std::span<float> out) {
  const int64_t rank = check_mla(q_nope, q_pe, latent, k_pe, kv_b, n_heads, d_nope, d_rope, d_v, batch, cache, out);
  if (batch.n_tokens == 0) return;
  store_rows_host(batch, latent, rank, cache.k);
  store_rows_host(batch, k_pe, d_rope, cache.v);
  begin_op();
  // Canonical per-head weights, made once per kv_b from the registry's dequantization (op_common).
  const std::string dims = std::to_string(n_heads) + "x" + std::to_string(d_nope) + "x" + std::to_string(d_v) + "x" +
                           std::to_string(rank);
  auto heads = [&](bool uk) {
    std::vector<float> all(static_cast<size_t>(n_heads * (uk ? d_nope : d_v) * rank));
    std::vector<float> w_uk(static_cast<size_t>(d_nope * rank)), w_uv(static_cast<size_t>(d_v * rank)), scratch;
    for (int64_t h = 0; h < n_heads; ++h) {
      mla_head_weights(kv_b, h, d_nope, d_v, rank, w_uk.data(), w_uv.data(), scratch);
      const std::vector<float>& src = uk ? w_uk : w_uv;
      std::copy(src.begin(), src.end(), all.begin() + static_cast<std::ptrdiff_t>(h * static_cast<int64_t>(src.size())));
    }
    return all;
  };
  const float* w_uk = weights_.derived(kv_b.is_split() ? kv_b.k_b : kv_b.kv_b, "mla w_uk " + dims, [&] { return heads(true); });
  const float* w_uv = weights_.derived(kv_b.is_split() ? kv_b.v_b : kv_b.kv_b, "mla w_uv " + dims, [&] { return heads(false); });

  const int64_t n = batch.n_tokens;
  const float* dqn = upload(q_nope, "mla q_nope");
  const float* dqp = upload(q_pe, "mla q_pe");
  float* q_lat = arena_.alloc<float>(n * n_heads * rank, "mla absorbed queries");
  k::mla_absorb_q(w_uk, dqn, n, n_heads, d_nope, rank, q_lat, stream_);
  const DevicePages p = upload_pages(batch, cache);
  const k::PagedKv kv{p.k, p.v, rank, d_rope, p.page_table, p.max_pages, batch.page_tokens};
  float* o_lat = arena_.alloc<float>(n * n_heads * rank, "mla latent outputs");
  k::paged_attention_mla(q_lat, dqp, n, n_heads, rank, d_rope, scale, p.seq, p.pos, kv, o_lat, stream_);
  float* dout = arena_.alloc<float>(static_cast<int64_t>(out.size()), "mla output");
  k::mla_project_out(w_uv, o_lat, n, n_heads, d_v, rank, dout, stream_);
  download(dout, out);
}

}  // namespace schwarm::cuda

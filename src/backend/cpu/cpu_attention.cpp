// cpu: GQA and MLA attention over the paged cache. The batch's rows are stored first (serially:
// a few KiB), then GQA runs one task per (tile of tokens, kv head) and MLA one per (tile of tokens,
// chunk of heads) on the kernel table's products over gathered key and value rows: gemm_f32 for
// scores = Q·Kᵀ, gemm_nn for scores·V; MLA's up-projections are applied per head with the matmul
// kernels. Scores and softmax in float.
#include <algorithm>
#include <cmath>
#include <limits>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/row_decode.h"
#include "backend/cpu/vec.h"
#include "backend/ref/op_common.h"

namespace schwarm {

using namespace backend_detail;

namespace {
// Slot of each position [0, p] of sequence s, precomputed per token (the page-table walk).
void slots_of(const BatchLayout& b, int32_t s, int32_t p, std::vector<int64_t>& out) {
  out.resize(static_cast<size_t>(p) + 1);
  for (int32_t j = 0; j <= p; ++j) out[static_cast<size_t>(j)] = cache_slot(b, s, j);
}

// The batch cut into tiles of up to kTile consecutive tokens of one sequence: tile i is tokens
// [begin[i], begin[i + 1]) (the last entry is n_tokens).
constexpr int64_t kTile = 16;
std::vector<int64_t> token_tiles(const BatchLayout& b) {
  std::vector<int64_t> begin;
  for (int64_t t = 0; t < b.n_tokens; ++t)
    if (t == 0 || t - begin.back() == kTile || b.seq[static_cast<size_t>(t)] != b.seq[static_cast<size_t>(t - 1)])
      begin.push_back(t);
  begin.push_back(b.n_tokens);
  return begin;
}

// The sequences present in a batch and, per sequence id, the positions its tokens attend to
// ([0, last position]) and where they start in a buffer holding all of them (seqs in id order).
struct SeqSpans {
  std::vector<int64_t> len, off;
  std::vector<int32_t> seqs;
  int64_t total = 0;
};
SeqSpans seq_spans(const BatchLayout& b) {
  SeqSpans sp;
  sp.len.assign(b.page_table.size(), 0);
  sp.off.assign(b.page_table.size(), 0);
  for (int64_t t = 0; t < b.n_tokens; ++t) {
    const auto s = static_cast<size_t>(b.seq[static_cast<size_t>(t)]);
    sp.len[s] = std::max<int64_t>(sp.len[s], int64_t{b.pos[static_cast<size_t>(t)]} + 1);
  }
  for (size_t s = 0; s < sp.len.size(); ++s)
    if (sp.len[s] > 0) {
      sp.seqs.push_back(static_cast<int32_t>(s));
      sp.off[s] = sp.total;
      sp.total += sp.len[s];
    }
  return sp;
}

// Whether every tile of the batch has at most kKeyRowsMaxTokens tokens (decode steps): then the
// keys are gathered as rows and the scores taken by gemm_f32, which reads each key once per query
// row with a horizontal sum per score; larger tiles (prefill) gather them transposed for gemm_nn,
// which broadcasts each query element over positions. At a 3900-token context on a Zen 4 EPYC
// (Qwen3-30B-A3B 8L q4_k_m, 2 threads) rows decoded at 20-25 t/s against 17.6-18.7 transposed, whose
// scatter over head_dim rows was 27 % of the step, while prefill with rows fell from ~255 to ~199 t/s.
constexpr int64_t kKeyRowsMaxTokens = 4;
bool key_rows(const std::vector<int64_t>& tile_begin) {
  for (size_t i = 0; i + 1 < tile_begin.size(); ++i)
    if (tile_begin[i + 1] - tile_begin[i] > kKeyRowsMaxTokens) return false;
  return true;
}

// Scores sc[rows, np] of a tile whose rows are its tokens (from t0) x `per_token` heads: scaled,
// soft-maxed over each token's positions [0, pos] and zero beyond (the causal mask).
void causal_softmax(const cpu::KernelTable& k, float* sc, int64_t rows, int64_t np, int64_t per_token, int64_t t0,
                    const BatchLayout& b, float scale) {
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t p = b.pos[static_cast<size_t>(t0 + r / per_token)];
    float* row = sc + r * np;
    k.softmax(row, p + 1, scale);
    std::fill(row + p + 1, row + np, 0.0f);
  }
}
}  // namespace

void CpuBackend::attention(std::span<const float> q, std::span<const float> k, std::span<const float> v,
                           int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale,
                           const BatchLayout& batch, KvLayerCache& cache, std::span<float> out) {
  check_attention(q, k, v, n_heads, n_kv_heads, head_dim, batch, cache, out);
  const int64_t n = batch.n_tokens, kvw = n_kv_heads * head_dim, qw = n_heads * head_dim;
  for (int64_t t = 0; t < n; ++t) {
    const int64_t slot = cache_slot(batch, batch.seq[static_cast<size_t>(t)], batch.pos[static_cast<size_t>(t)]);
    std::copy_n(k.data() + t * kvw, kvw, cache.k.data() + slot * kvw);
    std::copy_n(v.data() + t * kvw, kvw, cache.v.data() + slot * kvw);
  }
  const int64_t group = n_heads / n_kv_heads;
  // Keys (rows, or transposed: Kᵀ[d, j] with row stride = the sequence's positions; key_rows) and
  // values (rows) of each (sequence, kv head), positions [0, last position in the batch], gathered
  // from the paged cache once per call by one pool job; every tile of that sequence reads a prefix
  // of them. (Gathering per tile instead repeated the work for each of a prompt's tiles: 32 times
  // at 512 tokens.)
  const std::vector<int64_t> tile_begin = token_tiles(batch);
  const bool rows_layout = key_rows(tile_begin);
  const SeqSpans spans = seq_spans(batch);
  const std::vector<int64_t>&seq_len = spans.len, &seq_off = spans.off;
  const std::vector<int32_t>& seqs = spans.seqs;
  const int64_t total = spans.total;  // positions over the sequences present
  // Layout: per kv head, per sequence (in `seqs` order) len x head_dim keys (or head_dim x len)
  // and as many values.
  attn_kt_.resize(static_cast<size_t>(n_kv_heads * total * head_dim));
  attn_v_.resize(attn_kt_.size());
  const auto gathered = [&](int64_t kvh, int32_t s) {
    const size_t at = static_cast<size_t>((kvh * total + seq_off[static_cast<size_t>(s)]) * head_dim);
    return std::pair{attn_kt_.data() + at, attn_v_.data() + at};
  };
  const auto n_seqs = static_cast<int64_t>(seqs.size());
  pool_.parallel_for(n_seqs * n_kv_heads, 1, [&](int64_t b, int64_t e) {
    thread_local std::vector<int64_t> slots;
    for (int64_t task = b; task < e; ++task) {
      const int32_t s = seqs[static_cast<size_t>(task / n_kv_heads)];
      const int64_t kvh = task % n_kv_heads, len = seq_len[static_cast<size_t>(s)];
      auto [kc, vc] = gathered(kvh, s);
      slots_of(batch, s, static_cast<int32_t>(len - 1), slots);
      for (int64_t j = 0; j < len; ++j) {
        const int64_t off = slots[static_cast<size_t>(j)] * kvw + kvh * head_dim;
        if (rows_layout)
          std::copy_n(cache.k.data() + off, head_dim, kc + j * head_dim);
        else
          for (int64_t d = 0; d < head_dim; ++d) kc[d * len + j] = cache.k[static_cast<size_t>(off + d)];
        std::copy_n(cache.v.data() + off, head_dim, vc + j * head_dim);
      }
    }
  });
  // Tiles of up to kTile consecutive tokens of one sequence; one task per (tile, kv head): the
  // tile's queries x the group's heads over positions [0, P] (P: the tile's last position):
  // scores = Q·Kᵀ, masked causally per token and soft-maxed, then out = scores·V (gemm_nn over
  // the value rows).
  const auto n_tiles = static_cast<int64_t>(tile_begin.size()) - 1;
  pool_.parallel_for(n_tiles * n_kv_heads, 1, [&](int64_t b, int64_t e) {
    thread_local std::vector<float> qs, sc, os;
    for (int64_t task = b; task < e; ++task) {
      const int64_t tile = task / n_kv_heads, kvh = task % n_kv_heads;
      const int64_t t0 = tile_begin[static_cast<size_t>(tile)], t1 = tile_begin[static_cast<size_t>(tile + 1)];
      int32_t last = 0;
      for (int64_t t = t0; t < t1; ++t) last = std::max(last, batch.pos[static_cast<size_t>(t)]);
      const int32_t s = batch.seq[static_cast<size_t>(t0)];
      const int64_t np = int64_t{last} + 1, rows = (t1 - t0) * group, len = seq_len[static_cast<size_t>(s)];
      const auto [kc, vc] = gathered(kvh, s);
      qs.resize(static_cast<size_t>(rows * head_dim));
      for (int64_t t = t0; t < t1; ++t)
        std::copy_n(q.data() + t * qw + kvh * group * head_dim, group * head_dim,
                    qs.data() + (t - t0) * group * head_dim);
      sc.resize(static_cast<size_t>(rows * np));
      if (rows_layout)
        k_.gemm_f32(kc, np, head_dim, qs.data(), rows, sc.data(), np);
      else
        k_.gemm_nn(qs.data(), head_dim, kc, len, rows, np, head_dim, sc.data(), np);
      causal_softmax(k_, sc.data(), rows, np, group, t0, batch, scale);
      os.resize(static_cast<size_t>(rows * head_dim));
      k_.gemm_nn(sc.data(), np, vc, head_dim, rows, head_dim, np, os.data(), head_dim);
      for (int64_t t = t0; t < t1; ++t)
        std::copy_n(os.data() + (t - t0) * group * head_dim, group * head_dim,
                    out.data() + t * qw + kvh * group * head_dim);
    }
  });
}

void CpuBackend::mla_attention(std::span<const float> q_nope, std::span<const float> q_pe,
                               std::span<const float> latent, std::span<const float> k_pe, const MlaKvB& kv_b,
                               int64_t n_heads, int64_t d_nope, int64_t d_rope, int64_t d_v, float scale,
                               const BatchLayout& batch, KvLayerCache& cache, std::span<float> out) {
  const int64_t n = batch.n_tokens;
  const int64_t rank = check_mla(q_nope, q_pe, latent, k_pe, kv_b, n_heads, d_nope, d_rope, d_v, batch, cache, out);
  for (int64_t t = 0; t < n; ++t) {
    const int64_t slot = cache_slot(batch, batch.seq[static_cast<size_t>(t)], batch.pos[static_cast<size_t>(t)]);
    std::copy_n(latent.data() + t * rank, rank, cache.k.data() + slot * rank);
    std::copy_n(k_pe.data() + t * d_rope, d_rope, cache.v.data() + slot * d_rope);
  }
  // Three passes. (1) Per head: q_lat[t, h] = W_ukᵀ q_nope[t, h] for all tokens with the matmul
  // kernels, straight from the stored rows (the joint kv_b's W_uk, whose product is by its
  // transpose, is decoded once per head and call), written beside q_pe[t, h] as one query of
  // rank + d_rope. (2) Per (tile of <= kTile tokens of one sequence, chunk of heads): the keys
  // [latent_j, k_pe_j] of positions [0, P] gathered as rows (the values latent_j are their first
  // `rank` columns; for larger tiles also transposed, key_rows), then scores = Q·Kᵀ (masked
  // causally, soft-maxed) and gemm_nn for o_lat = scores·V, as in GQA with
  // one kv head. (3) Per head: out[t, h] = W_uv o_lat[t, h] with the matmul kernels.
  const bool split = kv_b.is_split();
  const int64_t dk = rank + d_rope;
  mla_q_.resize(static_cast<size_t>(n * n_heads * dk));
  mla_o_.resize(static_cast<size_t>(n * n_heads * rank));
  pool_.parallel_for(n_heads, 1, [&](int64_t b, int64_t e) {
    thread_local std::vector<float> w_uk, qn_h, q_lat;
    q_lat.resize(static_cast<size_t>(n * rank));
    for (int64_t h = b; h < e; ++h) {
      if (split) {
        qn_h.resize(static_cast<size_t>(n * d_nope));
        for (int64_t t = 0; t < n; ++t)
          std::copy_n(q_nope.data() + (t * n_heads + h) * d_nope, d_nope, qn_h.data() + t * d_nope);
        matmul_rows(kv_b.k_b, d_nope, h * rank, rank, Input{qn_h.data(), nullptr}, n, q_lat.data(), rank);
      } else {
        w_uk.resize(static_cast<size_t>(d_nope * rank));
        cpu::decode_rows(kv_b.kv_b, h * (d_nope + d_v), d_nope, rank, w_uk.data());
        for (int64_t t = 0; t < n; ++t) {
          const float* qn = q_nope.data() + (t * n_heads + h) * d_nope;
          float* ql = q_lat.data() + t * rank;
          std::fill_n(ql, rank, 0.0f);
          for (int64_t i = 0; i < d_nope; ++i) cpu::axpy(qn[i], w_uk.data() + i * rank, ql, rank);
        }
      }
      for (int64_t t = 0; t < n; ++t) {
        float* qc = mla_q_.data() + (t * n_heads + h) * dk;
        std::copy_n(q_lat.data() + t * rank, rank, qc);
        std::copy_n(q_pe.data() + (t * n_heads + h) * d_rope, d_rope, qc + rank);
      }
    }
  });

  const std::vector<int64_t> tile_begin = token_tiles(batch);
  const bool rows_layout = key_rows(tile_begin);
  const auto n_tiles = static_cast<int64_t>(tile_begin.size()) - 1;
  // Each sequence's key rows [latent_j, k_pe_j], positions [0, last], gathered once per call with
  // the positions split over the pool (every tile of the sequence and every chunk of heads reads
  // a prefix of them; gathering per task copied the cache once per chunk of heads).
  const SeqSpans spans = seq_spans(batch);
  mla_kc_.resize(static_cast<size_t>(spans.total * dk));
  pool_.parallel_for(spans.total, 256, [&](int64_t b, int64_t e) {
    size_t i = 0;  // the sequence holding index x (seqs are in offset order)
    for (int64_t x = b; x < e; ++x) {
      while (i + 1 < spans.seqs.size() && spans.off[static_cast<size_t>(spans.seqs[i + 1])] <= x) ++i;
      const int32_t s = spans.seqs[i];
      const int64_t slot = cache_slot(batch, s, static_cast<int32_t>(x - spans.off[static_cast<size_t>(s)]));
      std::copy_n(cache.k.data() + slot * rank, rank, mla_kc_.data() + x * dk);
      std::copy_n(cache.v.data() + slot * d_rope, d_rope, mla_kc_.data() + x * dk + rank);
    }
  });
  // Few tiles (decode): split the heads too, so every thread has work.
  const int64_t chunks = std::clamp<int64_t>((pool_.size() + n_tiles - 1) / n_tiles, 1, n_heads);
  const int64_t per_chunk = (n_heads + chunks - 1) / chunks;
  pool_.parallel_for(n_tiles * chunks, 1, [&](int64_t b, int64_t e) {
    thread_local std::vector<float> kt, qs, sc;
    for (int64_t task = b; task < e; ++task) {
      const int64_t tile = task / chunks, h0 = task % chunks * per_chunk, h1 = std::min(n_heads, h0 + per_chunk);
      if (h0 >= h1) continue;
      const int64_t t0 = tile_begin[static_cast<size_t>(tile)], t1 = tile_begin[static_cast<size_t>(tile + 1)];
      int32_t last = 0;
      for (int64_t t = t0; t < t1; ++t) last = std::max(last, batch.pos[static_cast<size_t>(t)]);
      const int64_t np = int64_t{last} + 1, hn = h1 - h0, rows = (t1 - t0) * hn;
      const float* kc = mla_kc_.data() + spans.off[static_cast<size_t>(batch.seq[static_cast<size_t>(t0)])] * dk;
      if (!rows_layout) {  // Kᵀ[d, j] for gemm_nn
        kt.resize(static_cast<size_t>(dk * np));
        for (int64_t j = 0; j < np; ++j)
          for (int64_t d = 0; d < dk; ++d) kt[static_cast<size_t>(d * np + j)] = kc[j * dk + d];
      }
      qs.resize(static_cast<size_t>(rows * dk));
      for (int64_t t = t0; t < t1; ++t)
        std::copy_n(mla_q_.data() + (t * n_heads + h0) * dk, hn * dk, qs.data() + (t - t0) * hn * dk);
      sc.resize(static_cast<size_t>(rows * np));
      if (rows_layout)
        k_.gemm_f32(kc, np, dk, qs.data(), rows, sc.data(), np);
      else
        k_.gemm_nn(qs.data(), dk, kt.data(), np, rows, np, dk, sc.data(), np);
      causal_softmax(k_, sc.data(), rows, np, hn, t0, batch, scale);
      // o_lat rows of the tile's tokens x this chunk's heads: [t, h0..h1) is contiguous per token.
      qs.resize(static_cast<size_t>(rows * rank));  // reused as the output
      k_.gemm_nn(sc.data(), np, kc, dk, rows, rank, np, qs.data(), rank);  // V = the rows' first rank columns
      for (int64_t t = t0; t < t1; ++t)
        std::copy_n(qs.data() + (t - t0) * hn * rank, hn * rank, mla_o_.data() + (t * n_heads + h0) * rank);
    }
  });

  pool_.parallel_for(n_heads, 1, [&](int64_t b, int64_t e) {
    thread_local std::vector<float> o_lat, o_h;
    o_lat.resize(static_cast<size_t>(n * rank));
    o_h.resize(static_cast<size_t>(n * d_v));
    for (int64_t h = b; h < e; ++h) {
      for (int64_t t = 0; t < n; ++t)
        std::copy_n(mla_o_.data() + (t * n_heads + h) * rank, rank, o_lat.data() + t * rank);
      if (split)
        matmul_rows(kv_b.v_b, rank, h * d_v, d_v, Input{o_lat.data(), nullptr}, n, o_h.data(), d_v);
      else
        matmul_rows(kv_b.kv_b, rank, h * (d_nope + d_v) + d_nope, d_v, Input{o_lat.data(), nullptr}, n, o_h.data(),
                    d_v);
      for (int64_t t = 0; t < n; ++t)
        std::copy_n(o_h.data() + t * d_v, d_v, out.data() + (t * n_heads + h) * d_v);
    }
  });
}

}  // namespace schwarm

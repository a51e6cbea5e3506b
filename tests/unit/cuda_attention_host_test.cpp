// Host checks of the CUDA attention kernels' math (kernels/attention.cuh) against the ref backend.
// The kernels themselves run only on a GPU (the parity suite's cuda backend); here their
// decomposition is replayed on the host with the very helpers they call: the paged slot, 4 warps
// striding over the keys, 32 lanes holding dims lane + 32 * i, the butterfly dot-product reduction,
// an online softmax per warp and the final merge of the warps' partial states. So a wrong slot,
// rescale or merge shows here, without a device.
//
// Fresh random inputs each run; the seed is printed on failure, SCHWARM_PARITY_SEED replays.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "attention.cuh"
#include "backend/backend.h"
#include "backend/ref/op_common.h"
#include "backend/ref/owned_weight.h"

namespace schwarm {
namespace {

using cuda::k::attention_chunks;
using cuda::k::merge_partials;
using cuda::k::OnlineSoftmax;
using cuda::k::paged_slot;

constexpr int kWarps = 4;  // kAttnWarps in kernels/attention.cu
constexpr double kTol = 1e-5;

uint32_t seed_for_run() {
  if (const char* s = std::getenv("SCHWARM_PARITY_SEED")) return static_cast<uint32_t>(std::strtoul(s, nullptr, 10));
  return std::random_device{}();
}

std::vector<float> randn(size_t n, std::mt19937& rng) {
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// ||got - want|| / ||want||; +inf if got holds a non-finite value.
double rel_err(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) return std::numeric_limits<double>::infinity();
    num += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    den += double(want[i]) * want[i];
  }
  return std::sqrt(num / den);
}

std::string sci(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2e", x);
  return buf;
}

bool same_bits_or_both_nan(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!((std::isnan(a[i]) && std::isnan(b[i])) || a[i] == b[i])) return false;
  return true;
}

// A batch over a paged cache as the parity suite builds it (cached prefix + new tokens per
// sequence, pages in scrambled order, page 0 unused), plus the flattened [n_seqs, max_pages]
// page table the CUDA backend hands to the kernels (unused entries -1).
struct Batch {
  std::vector<int32_t> seq, pos;
  std::vector<std::vector<int32_t>> pages;
  std::vector<int32_t> cached;  // per sequence
  std::vector<int32_t> table;
  int64_t page_tokens = 16, n_pages = 0, max_pages = 0;

  static Batch make(const std::vector<std::pair<int32_t, int32_t>>& lens, int64_t page_tokens, std::mt19937& rng) {
    Batch b;
    b.page_tokens = page_tokens;
    std::vector<int32_t> need;
    for (auto [c, fresh] : lens) need.push_back(static_cast<int32_t>((c + fresh + page_tokens - 1) / page_tokens));
    int32_t total = 1;
    for (int32_t k : need) total += k;
    std::vector<int32_t> ids(static_cast<size_t>(total - 1));
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i + 1);
    std::shuffle(ids.begin(), ids.end(), rng);
    size_t next = 0;
    for (size_t s = 0; s < lens.size(); ++s) {
      b.pages.emplace_back(ids.begin() + static_cast<std::ptrdiff_t>(next),
                           ids.begin() + static_cast<std::ptrdiff_t>(next + static_cast<size_t>(need[s])));
      next += static_cast<size_t>(need[s]);
      b.cached.push_back(lens[s].first);
      for (int32_t p = lens[s].first; p < lens[s].first + lens[s].second; ++p) {
        b.seq.push_back(static_cast<int32_t>(s));
        b.pos.push_back(p);
      }
      b.max_pages = std::max<int64_t>(b.max_pages, need[s]);
    }
    b.n_pages = total;
    b.table.assign(static_cast<size_t>(static_cast<int64_t>(lens.size()) * b.max_pages), -1);
    for (size_t s = 0; s < b.pages.size(); ++s)
      std::copy(b.pages[s].begin(), b.pages[s].end(), b.table.begin() + static_cast<std::ptrdiff_t>(s * b.max_pages));
    return b;
  }
  int64_t n() const { return static_cast<int64_t>(seq.size()); }
  BatchLayout layout() const {
    BatchLayout l;
    l.n_tokens = n();
    l.seq = seq;
    l.pos = pos;
    for (const auto& p : pages) l.page_table.emplace_back(p);
    l.page_tokens = page_tokens;
    return l;
  }
  int64_t slot(int32_t s, int32_t p) const { return paged_slot(table.data(), max_pages, page_tokens, s, p); }
  // A cache of NaN with every cached prefix position filled with random values.
  std::vector<float> cache(int64_t width, std::mt19937& rng) const {
    std::vector<float> c(static_cast<size_t>(n_pages * page_tokens * width), std::nanf(""));
    std::normal_distribution<float> d;
    for (size_t s = 0; s < cached.size(); ++s)
      for (int32_t p = 0; p < cached[s]; ++p)
        for (int64_t i = 0; i < width; ++i)
          c[static_cast<size_t>(slot(static_cast<int32_t>(s), p) * width + i)] = d(rng);
    return c;
  }
  // store_rows_kernel: row t of src into the slot of (seq[t], pos[t]).
  void store(const std::vector<float>& src, int64_t width, std::vector<float>& cache) const {
    for (int64_t t = 0; t < n(); ++t)
      for (int64_t c = 0; c < width; ++c)
        cache[static_cast<size_t>(slot(seq[static_cast<size_t>(t)], pos[static_cast<size_t>(t)]) * width + c)] =
            src[static_cast<size_t>(t * width + c)];
  }
};

// warp_sum: lane l adds lane l ^ off's value, off = 16, 8, 4, 2, 1. Every lane ends with the same
// bits (checked), lane 0's is returned.
float butterfly_sum(std::array<float, 32> v) {
  for (int off = 16; off > 0; off >>= 1) {
    std::array<float, 32> next{};
    for (int l = 0; l < 32; ++l) next[static_cast<size_t>(l)] = v[static_cast<size_t>(l)] + v[static_cast<size_t>(l ^ off)];
    v = next;
  }
  for (float x : v) EXPECT_EQ(x, v[0]);
  return v[0];
}

// The arguments of paged_attention_kernel (AttnArgs in attention.cu), host side.
struct Emu {
  const float* q;
  const float* q_rope;
  int64_t n_heads, heads_per_kv, width, rope_width;
  float scale;
  const Batch* b;
  const float* k;
  const float* v;
  int64_t k_width, v_width;
  bool mla;
};

// Replays paged_attention_kernel's block th = t * n_heads + h into out[th * width, +width).
void emulate_block(const Emu& a, int64_t th, float* out) {
  const int64_t t = th / a.n_heads, h = th % a.n_heads;
  const int chunks = attention_chunks(a.width);
  ASSERT_GT(chunks, 0);
  const int64_t lanes_w = 32 * int64_t{chunks};
  const int64_t col = (h / a.heads_per_kv) * a.width;
  const int32_t sq = a.b->seq[static_cast<size_t>(t)], last = a.b->pos[static_cast<size_t>(t)];
  const float* qh = a.q + th * a.width;
  auto qd = [&](int64_t d) { return d < a.width ? qh[d] : 0.0f; };

  std::array<OnlineSoftmax, kWarps> sm{};
  std::vector<float> acc(static_cast<size_t>(kWarps * lanes_w), 0.0f);
  for (int w = 0; w < kWarps; ++w)
    for (int32_t j = w; j <= last; j += kWarps) {
      const int64_t slot = a.b->slot(sq, j);
      const float* krow = a.k + slot * a.k_width + col;
      const float* vrow = a.mla ? krow : a.v + slot * a.v_width + col;
      std::array<float, 32> partial{};
      for (int lane = 0; lane < 32; ++lane) {
        float dot = 0.0f;
        for (int i = 0; i < chunks; ++i) {
          const int64_t d = lane + 32 * i;
          dot += qd(d) * (d < a.width ? krow[d] : 0.0f);
        }
        if (a.mla) {
          const float* erow = a.v + slot * a.v_width;
          for (int64_t d = lane; d < a.rope_width; d += 32) dot += a.q_rope[th * a.rope_width + d] * erow[d];
        }
        partial[static_cast<size_t>(lane)] = dot;
      }
      const float score = butterfly_sum(partial) * a.scale;
      float alpha, p;
      sm[static_cast<size_t>(w)].add(score, alpha, p);
      for (int64_t d = 0; d < lanes_w; ++d) {
        float& x = acc[static_cast<size_t>(w * lanes_w + d)];
        x = x * alpha + p * (d < a.width ? vrow[d] : 0.0f);
      }
    }
  std::array<float, kWarps> m{}, l{}, wt{};
  for (int w = 0; w < kWarps; ++w) {
    m[static_cast<size_t>(w)] = sm[static_cast<size_t>(w)].m;
    l[static_cast<size_t>(w)] = sm[static_cast<size_t>(w)].l;
  }
  const float total = merge_partials(m.data(), l.data(), kWarps, wt.data());
  for (int64_t d = 0; d < a.width; ++d) {
    float sum = 0.0f;
    for (int w = 0; w < kWarps; ++w) sum += acc[static_cast<size_t>(w * lanes_w + d)] * wt[static_cast<size_t>(w)];
    out[th * a.width + d] = total > 0.0f ? sum / total : 0.0f;
  }
}

class CudaAttentionHost : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = seed_for_run();
    rng_.seed(seed_);
  }
  std::string trace(const std::string& what) const {
    return what + ", seed " + std::to_string(seed_) + " (SCHWARM_PARITY_SEED to replay)";
  }

  // GQA over `lens` ({cached, new} per sequence): ref's attention vs the replayed kernels.
  void check_gqa(int64_t h, int64_t kv, int64_t d, const std::vector<std::pair<int32_t, int32_t>>& lens,
                 int64_t page_tokens, const std::string& what, double tol = kTol) {
    const Batch b = Batch::make(lens, page_tokens, rng_);
    const int64_t n = b.n(), kvw = kv * d;
    const auto q = randn(static_cast<size_t>(n * h * d), rng_), k = randn(static_cast<size_t>(n * kvw), rng_),
               v = randn(static_cast<size_t>(n * kvw), rng_);
    auto kc_ref = b.cache(kvw, rng_), vc_ref = b.cache(kvw, rng_);
    auto kc = kc_ref, vc = vc_ref;
    KvLayerCache cref{kc_ref, vc_ref, kvw, kvw};
    std::vector<float> want(q.size(), std::nanf("")), got(q.size(), std::nanf(""));
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    make_ref_backend()->attention(q, k, v, h, kv, d, scale, b.layout(), cref, want);

    b.store(k, kvw, kc);
    b.store(v, kvw, vc);
    EXPECT_TRUE(same_bits_or_both_nan(kc, kc_ref) && same_bits_or_both_nan(vc, vc_ref)) << trace(what + ": cache");
    const Emu a{q.data(), nullptr, h, h / kv, d, 0, scale, &b, kc.data(), vc.data(), kvw, kvw, false};
    for (int64_t th = 0; th < n * h; ++th) emulate_block(a, th, got.data());
    const double err = rel_err(got, want);
    EXPECT_LE(err, tol) << trace(what);
    RecordProperty(what, sci(err));
  }

  // MLA (F32 joint kv_b, the canonical w_uk / w_uv are its rows): ref's mla_attention vs the
  // replayed absorb, store, attention and projection kernels.
  void check_mla(int64_t h, int64_t dn, int64_t dr, int64_t dv, int64_t rank,
                 const std::vector<std::pair<int32_t, int32_t>>& lens, const std::string& what) {
    const int64_t page_tokens = 16;
    const Batch b = Batch::make(lens, page_tokens, rng_);
    const int64_t n = b.n();
    std::vector<float> kvb_vals = randn(static_cast<size_t>(h * (dn + dv) * rank), rng_);
    for (float& x : kvb_vals) x *= 0.1f;
    const OwnedWeight kvb = OwnedWeight::quantized("kv_b", TensorType::F32, {h * (dn + dv), rank}, kvb_vals);
    // w_uk[h, i, r] = kv_b[h * (dn + dv) + i, r]; w_uv[h, j, r] = kv_b[h * (dn + dv) + dn + j, r].
    std::vector<float> w_uk(static_cast<size_t>(h * dn * rank)), w_uv(static_cast<size_t>(h * dv * rank));
    for (int64_t hh = 0; hh < h; ++hh) {
      const float* base = kvb_vals.data() + hh * (dn + dv) * rank;
      std::copy(base, base + dn * rank, w_uk.begin() + hh * dn * rank);
      std::copy(base + dn * rank, base + (dn + dv) * rank, w_uv.begin() + hh * dv * rank);
    }
    const auto qn = randn(static_cast<size_t>(n * h * dn), rng_), qp = randn(static_cast<size_t>(n * h * dr), rng_),
               lat = randn(static_cast<size_t>(n * rank), rng_), kp = randn(static_cast<size_t>(n * dr), rng_);
    auto kc_ref = b.cache(rank, rng_), vc_ref = b.cache(dr, rng_);
    auto kc = kc_ref, vc = vc_ref;
    KvLayerCache cref{kc_ref, vc_ref, rank, dr};
    std::vector<float> want(static_cast<size_t>(n * h * dv), std::nanf("")), got = want;
    const float scale = 1.0f / std::sqrt(static_cast<float>(dn + dr));
    make_ref_backend()->mla_attention(qn, qp, lat, kp, MlaKvB(kvb.view), h, dn, dr, dv, scale, b.layout(), cref, want);

    // mla_absorb_q_kernel: one thread per (t, h, r), sum over i in order.
    std::vector<float> q_lat(static_cast<size_t>(n * h * rank));
    for (int64_t idx = 0; idx < n * h * rank; ++idx) {
      const int64_t r = idx % rank, th = idx / rank, hh = th % h;
      float acc = 0.0f;
      for (int64_t i = 0; i < dn; ++i)
        acc += w_uk[static_cast<size_t>((hh * dn + i) * rank + r)] * qn[static_cast<size_t>(th * dn + i)];
      q_lat[static_cast<size_t>(idx)] = acc;
    }
    b.store(lat, rank, kc);
    b.store(kp, dr, vc);
    EXPECT_TRUE(same_bits_or_both_nan(kc, kc_ref) && same_bits_or_both_nan(vc, vc_ref)) << trace(what + ": cache");
    std::vector<float> o_lat(static_cast<size_t>(n * h * rank), std::nanf(""));
    const Emu a{q_lat.data(), qp.data(), h, h, rank, dr, scale, &b, kc.data(), vc.data(), rank, dr, true};
    for (int64_t th = 0; th < n * h; ++th) emulate_block(a, th, o_lat.data());
    // mla_project_out_kernel: one warp per (t, h, j), lanes stride over r, butterfly.
    for (int64_t o = 0; o < n * h * dv; ++o) {
      const int64_t j = o % dv, th = o / dv, hh = th % h;
      std::array<float, 32> partial{};
      for (int lane = 0; lane < 32; ++lane)
        for (int64_t r = lane; r < rank; r += 32)
          partial[static_cast<size_t>(lane)] +=
              w_uv[static_cast<size_t>((hh * dv + j) * rank + r)] * o_lat[static_cast<size_t>(th * rank + r)];
      got[static_cast<size_t>(o)] = butterfly_sum(partial);
    }
    const double err = rel_err(got, want);
    EXPECT_LE(err, kTol) << trace(what);
    RecordProperty(what, sci(err));
  }

  uint32_t seed_ = 0;
  std::mt19937 rng_;
};

TEST_F(CudaAttentionHost, PagedSlotMatchesRefCacheSlot) {
  for (int64_t page_tokens : {1, 5, 16, 64}) {
    const Batch b = Batch::make({{0, 37}, {100, 1}, {3, 300}, {0, 1}}, page_tokens, rng_);
    const BatchLayout l = b.layout();
    for (size_t s = 0; s < b.cached.size(); ++s) {
      const auto len = static_cast<int32_t>(b.pages[s].size() * static_cast<size_t>(page_tokens));
      for (int32_t p = 0; p < len; ++p)
        ASSERT_EQ(b.slot(static_cast<int32_t>(s), p), backend_detail::cache_slot(l, static_cast<int32_t>(s), p))
            << trace("seq " + std::to_string(s) + " pos " + std::to_string(p));
    }
  }
  // The largest position the engine uses, on a table whose entries reach high page ids.
  const std::vector<int32_t> table = {7, 0, 123456, 9};  // 2 sequences x 2 pages of 65536
  EXPECT_EQ(paged_slot(table.data(), 2, 65536, 1, 131071), int64_t{9} * 65536 + 65535);
  EXPECT_EQ(paged_slot(table.data(), 2, 65536, 1, 3), int64_t{123456} * 65536 + 3);
}

TEST_F(CudaAttentionHost, ChunksCoverEveryWidth) {
  const std::vector<std::pair<int64_t, int>> want = {{1, 1},  {32, 1},   {33, 2},   {40, 2},   {64, 2},   {96, 4},
                                                     {128, 4}, {192, 8}, {256, 8}, {512, 16}, {1024, 32}};
  for (auto [w, c] : want) EXPECT_EQ(attention_chunks(w), c) << w;
  EXPECT_EQ(attention_chunks(0), 0);
  EXPECT_EQ(attention_chunks(1025), 0);
  for (int64_t w = 1; w <= 1024; ++w) {
    const int c = attention_chunks(w);
    EXPECT_GE(32 * c, w);
    EXPECT_LT(32 * (c / 2), w);  // never more chunks than the next power of two needs
  }
}

// Streaming scores with wide spreads (new maxima late, early and everywhere) through one
// OnlineSoftmax equals the two-pass softmax in double; splitting the stream into strided
// partials (as the warps do; some empty) and merging gives the same.
TEST_F(CudaAttentionHost, OnlineSoftmaxAndMergeMatchTwoPass) {
  std::uniform_real_distribution<float> spread(0.1f, 60.0f);
  for (int n : {1, 2, 3, 4, 5, 17, 1000}) {
    for (int order = 0; order < 3; ++order) {
      std::vector<float> s = randn(static_cast<size_t>(n), rng_), v = randn(static_cast<size_t>(n), rng_);
      const float sd = spread(rng_);
      for (float& x : s) x *= sd;
      if (order == 1) std::sort(s.begin(), s.end());                      // a new maximum every step
      if (order == 2) std::sort(s.begin(), s.end(), std::greater<>());    // the maximum first
      double mx = -INFINITY, l = 0, acc = 0;
      for (float x : s) mx = std::max(mx, double(x));
      for (int j = 0; j < n; ++j) {
        const double e = std::exp(double(s[static_cast<size_t>(j)]) - mx);
        l += e;
        acc += e * v[static_cast<size_t>(j)];
      }
      const double want = acc / l;

      OnlineSoftmax one;
      float acc1 = 0;
      std::array<OnlineSoftmax, kWarps> part{};
      std::array<float, kWarps> pacc{};
      for (int j = 0; j < n; ++j) {
        float alpha, p;
        one.add(s[static_cast<size_t>(j)], alpha, p);
        acc1 = acc1 * alpha + p * v[static_cast<size_t>(j)];
        part[static_cast<size_t>(j % kWarps)].add(s[static_cast<size_t>(j)], alpha, p);
        pacc[static_cast<size_t>(j % kWarps)] = pacc[static_cast<size_t>(j % kWarps)] * alpha + p * v[static_cast<size_t>(j)];
      }
      const std::string what = "n " + std::to_string(n) + " order " + std::to_string(order) + " sd " + std::to_string(sd);
      EXPECT_EQ(one.m, static_cast<float>(mx)) << trace(what);
      EXPECT_NEAR(one.l, l, 1e-5 * l) << trace(what);
      EXPECT_NEAR(acc1 / one.l, want, 1e-5 * std::max(1.0, std::fabs(want))) << trace(what);

      std::array<float, kWarps> m{}, pl{}, w{};
      for (int i = 0; i < kWarps; ++i) {
        m[static_cast<size_t>(i)] = part[static_cast<size_t>(i)].m;
        pl[static_cast<size_t>(i)] = part[static_cast<size_t>(i)].l;
      }
      const float total = merge_partials(m.data(), pl.data(), kWarps, w.data());
      float merged = 0;
      for (int i = 0; i < kWarps; ++i) merged += pacc[static_cast<size_t>(i)] * w[static_cast<size_t>(i)];
      EXPECT_NEAR(total, l, 1e-5 * l) << trace(what);
      EXPECT_NEAR(merged / total, want, 1e-5 * std::max(1.0, std::fabs(want))) << trace(what);
      for (int i = n; i < kWarps; ++i) EXPECT_EQ(w[static_cast<size_t>(i)], 0.0f) << "an empty partial weighs nothing";
    }
  }
}

TEST_F(CudaAttentionHost, EmptyAndExtremeStatesStayFinite) {
  // No partial holds a key: total 0 (the kernel then writes 0, never NaN).
  const std::array<float, kWarps> m = {-INFINITY, -INFINITY, -INFINITY, -INFINITY}, l = {0, 0, 0, 0};
  std::array<float, kWarps> w{};
  EXPECT_EQ(merge_partials(m.data(), l.data(), kWarps, w.data()), 0.0f);
  for (float x : w) EXPECT_EQ(x, 0.0f);
  // A jump of 1000 underflows the old weights to 0 instead of overflowing.
  OnlineSoftmax sm;
  float alpha, p;
  sm.add(-500.0f, alpha, p);
  EXPECT_EQ(alpha, 0.0f);
  EXPECT_EQ(p, 1.0f);
  sm.add(500.0f, alpha, p);
  EXPECT_EQ(alpha, 0.0f);
  EXPECT_EQ(p, 1.0f);
  EXPECT_EQ(sm.l, 1.0f);
  sm.add(-500.0f, alpha, p);
  EXPECT_EQ(alpha, 1.0f);
  EXPECT_EQ(p, 0.0f);
  EXPECT_EQ(sm.l, 1.0f);
}

// The parity suite's heads and layouts.
TEST_F(CudaAttentionHost, GqaMatchesRef) {
  struct Heads {
    int64_t h, kv, d;
  };
  const std::vector<std::pair<std::string, std::vector<std::pair<int32_t, int32_t>>>> cases = {
      {"decode3", {{0, 1}, {20, 1}, {47, 1}}}, {"prefill2", {{0, 5}, {0, 19}}}, {"mixed", {{33, 7}, {12, 1}, {0, 16}}}};
  for (Heads hs : {Heads{4, 4, 64}, Heads{8, 2, 64}, Heads{16, 2, 128}, Heads{3, 3, 40}, Heads{2, 1, 256},
                   Heads{4, 2, 96}, Heads{2, 2, 192}})
    for (const auto& [name, lens] : cases)
      for (int64_t page_tokens : {16, 5})
        check_gqa(hs.h, hs.kv, hs.d, lens, page_tokens,
                  "gqa H" + std::to_string(hs.h) + "/KV" + std::to_string(hs.kv) + " d" + std::to_string(hs.d) + " " +
                      name + " page " + std::to_string(page_tokens));
}

// Thousands of keys, and the far end of a 128K context: float accumulation over that many keys
// is where the kernel's fp32 softmax departs most from ref's double.
TEST_F(CudaAttentionHost, GqaLongContextMatchesRef) {
  check_gqa(4, 2, 64, {{3000, 1}, {1000, 3}}, 16, "gqa long 3000");
  check_gqa(2, 1, 128, {{131071, 1}}, 16, "gqa pos 131071");
}

TEST_F(CudaAttentionHost, MlaMatchesRef) {
  check_mla(4, 32, 16, 32, 64, {{0, 1}, {20, 1}, {47, 1}}, "mla small decode3");
  check_mla(4, 32, 16, 32, 64, {{33, 7}, {12, 1}, {0, 16}}, "mla small mixed");
  check_mla(16, 128, 64, 128, 512, {{0, 5}, {0, 19}}, "mla deepseek prefill2");
  check_mla(16, 128, 64, 128, 512, {{2000, 1}}, "mla deepseek long 2000");
}

}  // namespace
}  // namespace schwarm

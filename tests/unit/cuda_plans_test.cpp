// The CUDA backend's host-side bookkeeping (backend/cuda_plans.h), checked without a GPU: the MoE
// plan reproduces ref's per-token sum when its combine is replayed on the host over stand-in expert
// outputs, and the page plan's compact copy holds, for every token and every position it attends
// to, exactly the cache row ref reads there.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda_plans.h"
#include "backend/ref/op_common.h"
#include "schwarm/error.h"

namespace schwarm {
namespace {

uint32_t fresh_seed() {
  if (const char* s = std::getenv("SCHWARM_PARITY_SEED")) return static_cast<uint32_t>(std::strtoul(s, nullptr, 10));
  return std::random_device{}();
}

// A stand-in for expert e's output for token t (distinct for every pair and column).
float expert_value(int64_t e, int64_t t, int64_t c) { return static_cast<float>((e + 1) * 1000 + t) + 0.25f * static_cast<float>(c); }
float shared_value(int64_t s, int64_t t, int64_t c) { return -static_cast<float>((s + 1) * 500 + t) - 0.5f * static_cast<float>(c); }

TEST(CudaPlans, MoePlanReplaysRefsSum) {
  const uint32_t seed = fresh_seed();
  std::mt19937 rng(seed);
  struct Case { int64_t n, experts, top_k, shared; };
  for (Case cs : {Case{1, 8, 2, 0}, Case{9, 16, 6, 2}, Case{37, 128, 8, 0}, Case{5, 4, 4, 1}, Case{64, 64, 6, 2}}) {
    const int64_t hidden = 3;
    std::vector<int32_t> ids;
    std::vector<float> w;
    std::uniform_real_distribution<float> uw(0.0f, 1.0f);
    for (int64_t t = 0; t < cs.n; ++t) {  // top_k distinct experts per token, in random rank order
      std::vector<int32_t> all(static_cast<size_t>(cs.experts));
      std::iota(all.begin(), all.end(), 0);
      std::shuffle(all.begin(), all.end(), rng);
      for (int64_t i = 0; i < cs.top_k; ++i) {
        ids.push_back(all[static_cast<size_t>(i)]);
        w.push_back(uw(rng));
      }
    }
    const cuda::MoePlan p = cuda::plan_moe(ids, w, cs.n, cs.top_k, cs.experts, cs.shared);
    const std::string what = "n " + std::to_string(cs.n) + " experts " + std::to_string(cs.experts) + " top " +
                             std::to_string(cs.top_k) + " shared " + std::to_string(cs.shared) + ", seed " +
                             std::to_string(seed);
    ASSERT_EQ(p.slots, cs.top_k + cs.shared) << what;
    EXPECT_EQ(std::accumulate(p.count.begin(), p.count.end(), int64_t{0}), cs.n * cs.top_k) << what;
    // The expert rows as the backend computes them: expert e's FFN over its gathered tokens.
    std::vector<float> rows(static_cast<size_t>((cs.n * cs.top_k + cs.shared * cs.n) * hidden), -1e30f);
    for (int64_t e = 0; e < cs.experts; ++e) {
      int64_t prev = -1;
      for (int64_t r = p.first[static_cast<size_t>(e)]; r < p.first[static_cast<size_t>(e)] + p.count[static_cast<size_t>(e)]; ++r) {
        const int32_t t = p.gather[static_cast<size_t>(r)];
        EXPECT_GT(t, prev) << what << ": tokens of expert " << e << " ascending";
        prev = t;
        for (int64_t c = 0; c < hidden; ++c) rows[static_cast<size_t>(r * hidden + c)] = expert_value(e, t, c);
      }
    }
    for (int64_t s = 0; s < cs.shared; ++s)
      for (int64_t t = 0; t < cs.n; ++t)
        for (int64_t c = 0; c < hidden; ++c)
          rows[static_cast<size_t>((cs.n * cs.top_k + s * cs.n + t) * hidden + c)] = shared_value(s, t, c);
    // The combine replayed (moe_combine's definition) against ref's order of summation.
    for (int64_t t = 0; t < cs.n; ++t)
      for (int64_t c = 0; c < hidden; ++c) {
        double got = 0, want = 0;
        for (int64_t i = 0; i < p.slots; ++i)
          got += static_cast<double>(p.slot_w[static_cast<size_t>(t * p.slots + i)]) *
                 rows[static_cast<size_t>(p.slot_row[static_cast<size_t>(t * p.slots + i)] * hidden + c)];
        for (int64_t i = 0; i < cs.top_k; ++i)
          want += static_cast<double>(w[static_cast<size_t>(t * cs.top_k + i)]) *
                  expert_value(ids[static_cast<size_t>(t * cs.top_k + i)], t, c);
        for (int64_t s = 0; s < cs.shared; ++s) want += shared_value(s, t, c);
        ASSERT_EQ(got, want) << what << ", token " << t << " column " << c;
      }
  }
}

TEST(CudaPlans, MoePlanRejectsAnExpertOutOfRange) {
  EXPECT_THROW(cuda::plan_moe({0, 8}, {0.5f, 0.5f}, 1, 2, 8, 0), Error);
  EXPECT_THROW(cuda::plan_moe({-1, 2}, {0.5f, 0.5f}, 1, 2, 8, 0), Error);
}

TEST(CudaPlans, PagePlanHoldsEveryRowAttentionReads) {
  const uint32_t seed = fresh_seed();
  std::mt19937 rng(seed);
  // (cached prefix, new tokens) per sequence, as the parity suite's batches.
  const std::vector<std::vector<std::pair<int32_t, int32_t>>> cases = {
      {{0, 1}, {20, 1}, {47, 1}}, {{0, 5}, {0, 19}}, {{33, 7}, {12, 1}, {0, 16}}, {{200, 1}}};
  for (int64_t page_tokens : {16, 5, 1})
    for (const auto& lens : cases) {
      // Pages handed out scrambled; sequence ids scrambled too (the batch names sequences 3, 0, ...).
      std::vector<int32_t> seq_ids(lens.size());
      std::iota(seq_ids.begin(), seq_ids.end(), 0);
      std::shuffle(seq_ids.begin(), seq_ids.end(), rng);
      int32_t total_pages = 1;
      for (auto [cached, fresh] : lens) total_pages += static_cast<int32_t>((cached + fresh + page_tokens - 1) / page_tokens);
      std::vector<int32_t> free_pages(static_cast<size_t>(total_pages - 1));
      std::iota(free_pages.begin(), free_pages.end(), 1);
      std::shuffle(free_pages.begin(), free_pages.end(), rng);
      std::vector<std::vector<int32_t>> tables(lens.size());
      std::vector<int32_t> seq, pos;
      size_t next = 0;
      for (size_t i = 0; i < lens.size(); ++i) {
        const auto [cached, fresh] = lens[i];
        const auto need = static_cast<size_t>((cached + fresh + page_tokens - 1) / page_tokens);
        tables[static_cast<size_t>(seq_ids[i])].assign(free_pages.begin() + static_cast<std::ptrdiff_t>(next),
                                                       free_pages.begin() + static_cast<std::ptrdiff_t>(next + need));
        next += need;
        for (int32_t p = cached; p < cached + fresh; ++p) {
          seq.push_back(seq_ids[i]);
          pos.push_back(p);
        }
      }
      BatchLayout b;
      b.n_tokens = static_cast<int64_t>(seq.size());
      b.seq = seq;
      b.pos = pos;
      for (const auto& t : tables) b.page_table.emplace_back(t);
      b.page_tokens = page_tokens;
      const int64_t width = 3;
      std::vector<float> pool(static_cast<size_t>(total_pages * page_tokens * width));
      std::normal_distribution<float> d;
      for (float& x : pool) x = d(rng);

      const cuda::PagePlan plan = cuda::plan_pages(b);
      std::vector<float> compact;
      cuda::gather_pages(plan, b, pool.data(), width, compact);
      const std::string what = "page " + std::to_string(page_tokens) + ", " + std::to_string(lens.size()) +
                               " sequences, seed " + std::to_string(seed);
      ASSERT_EQ(compact.size(), static_cast<size_t>(plan.n_pages * page_tokens * width)) << what;
      for (int64_t t = 0; t < b.n_tokens; ++t) {
        const int32_t row = plan.seq_row[static_cast<size_t>(t)];
        EXPECT_EQ(plan.seqs[static_cast<size_t>(row)], seq[static_cast<size_t>(t)]) << what;
        for (int32_t j = 0; j <= pos[static_cast<size_t>(t)]; ++j) {
          const int64_t cslot = plan.table[static_cast<size_t>(row * plan.max_pages + j / page_tokens)] * page_tokens +
                                j % page_tokens;
          const int64_t slot = backend_detail::cache_slot(b, seq[static_cast<size_t>(t)], j);
          for (int64_t c = 0; c < width; ++c)
            ASSERT_EQ(compact[static_cast<size_t>(cslot * width + c)], pool[static_cast<size_t>(slot * width + c)])
                << what << ": token " << t << " position " << j;
        }
      }
    }
}

}  // namespace
}  // namespace schwarm

#include "backend/cuda_plans.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <string>

#include "schwarm/error.h"

namespace schwarm::cuda {

MoePlan plan_moe(const std::vector<int32_t>& ids, const std::vector<float>& weights, int64_t n, int64_t top_k,
                 int64_t n_experts, int64_t n_shared) {
  MoePlan p;
  p.slots = top_k + n_shared;
  p.count.assign(static_cast<size_t>(n_experts), 0);
  p.first.assign(static_cast<size_t>(n_experts), 0);
  for (int32_t e : ids) {
    if (e < 0 || e >= n_experts)
      throw Error("cuda moe: the router chose expert " + std::to_string(e) + " of " + std::to_string(n_experts));
    ++p.count[static_cast<size_t>(e)];
  }
  std::exclusive_scan(p.count.begin(), p.count.end(), p.first.begin(), int64_t{0});
  p.gather.assign(static_cast<size_t>(n * top_k), 0);
  p.slot_row.assign(static_cast<size_t>(n * p.slots), 0);
  p.slot_w.assign(static_cast<size_t>(n * p.slots), 0.0f);
  std::vector<int64_t> next = p.first;
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t i = 0; i < top_k; ++i) {
      const auto c = static_cast<size_t>(t * top_k + i);
      const int64_t row = next[static_cast<size_t>(ids[c])]++;
      p.gather[static_cast<size_t>(row)] = static_cast<int32_t>(t);
      p.slot_row[static_cast<size_t>(t * p.slots + i)] = static_cast<int32_t>(row);
      p.slot_w[static_cast<size_t>(t * p.slots + i)] = weights[c];
    }
    for (int64_t s = 0; s < n_shared; ++s) {
      p.slot_row[static_cast<size_t>(t * p.slots + top_k + s)] = static_cast<int32_t>(n * top_k + s * n + t);
      p.slot_w[static_cast<size_t>(t * p.slots + top_k + s)] = 1.0f;
    }
  }
  return p;
}

PagePlan plan_pages(const BatchLayout& batch) {
  PagePlan p;
  std::map<int32_t, int32_t> row_of_seq;
  p.seq_row.resize(static_cast<size_t>(batch.n_tokens));
  for (int64_t t = 0; t < batch.n_tokens; ++t) {
    const int32_t s = batch.seq[static_cast<size_t>(t)], pos = batch.pos[static_cast<size_t>(t)];
    auto [it, fresh] = row_of_seq.emplace(s, static_cast<int32_t>(p.seqs.size()));
    if (fresh) {
      p.seqs.push_back(s);
      p.pages_needed.push_back(0);
    }
    int32_t& need = p.pages_needed[static_cast<size_t>(it->second)];
    need = std::max(need, static_cast<int32_t>(pos / batch.page_tokens + 1));
    p.seq_row[static_cast<size_t>(t)] = it->second;
  }
  for (int32_t need : p.pages_needed) p.max_pages = std::max<int64_t>(p.max_pages, need);
  p.table.assign(p.seqs.size() * static_cast<size_t>(p.max_pages), 0);
  for (size_t r = 0; r < p.seqs.size(); ++r)
    for (int32_t i = 0; i < p.pages_needed[r]; ++i)
      p.table[r * static_cast<size_t>(p.max_pages) + static_cast<size_t>(i)] = static_cast<int32_t>(p.n_pages++);
  return p;
}

void gather_pages(const PagePlan& plan, const BatchLayout& batch, const float* pool, int64_t width,
                  std::vector<float>& out) {
  const int64_t pt = batch.page_tokens;
  out.resize(static_cast<size_t>(plan.n_pages * pt * width));
  for (size_t r = 0; r < plan.seqs.size(); ++r) {
    const std::span<const int32_t> pages = batch.page_table[static_cast<size_t>(plan.seqs[r])];
    for (int32_t i = 0; i < plan.pages_needed[r]; ++i) {
      const int64_t dst = plan.table[r * static_cast<size_t>(plan.max_pages) + static_cast<size_t>(i)];
      std::copy_n(pool + pages[static_cast<size_t>(i)] * pt * width, pt * width, out.data() + dst * pt * width);
    }
  }
}

}  // namespace schwarm::cuda

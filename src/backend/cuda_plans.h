#pragma once
// The host-side bookkeeping of the CUDA backend's ops (plain C++, compiled in every build), as
// functions a host test checks
// (tests/unit/cuda_plans_test.cpp) without a GPU: how a MoE layer's (token, expert) choices become
// per-expert row groups and combine slots, and which cache pages a batch reads and where they go
// in the compact copy the attention kernels see.
#include <cstdint>
#include <vector>

#include "backend/backend.h"

namespace schwarm::cuda {

// MoE: the routed choices ids/weights [n, top_k] and n_shared shared experts, laid out as
//   expert rows: the n * top_k routed rows grouped by expert (expert e's rows are
//     [first[e], first[e] + count[e]), its tokens ascending), then n rows per shared expert
//     (shared s, token t at n * top_k + s * n + t);
//   gather[row] = the token whose input that routed row is;
//   combine: token t sums slot_w[t * slots + i] * expert row slot_row[t * slots + i] for
//     i < slots = top_k + n_shared, in that order (routed by rank, then shared with weight 1),
//     which is ref's order of summation.
struct MoePlan {
  std::vector<int64_t> count, first;  // n_experts each
  std::vector<int32_t> gather;        // n * top_k
  std::vector<int32_t> slot_row;      // n * slots
  std::vector<float> slot_w;          // n * slots
  int64_t slots = 0;
};
// Throws Error for an expert id outside [0, n_experts) (a routing bug, not user input).
MoePlan plan_moe(const std::vector<int32_t>& ids, const std::vector<float>& weights, int64_t n, int64_t top_k,
                 int64_t n_experts, int64_t n_shared);

// Attention: the pages each sequence of the batch reads (pages 0 .. its last position's page),
// copied in order of first appearance of the sequence into one compact pool; table is
// [rows, max_pages] of compact page ids (0 past a row's pages); seq_row[t] is token t's row.
struct PagePlan {
  std::vector<int32_t> seqs;          // the batch's sequences, by first appearance
  std::vector<int32_t> pages_needed;  // per row
  std::vector<int32_t> table;         // rows * max_pages
  std::vector<int32_t> seq_row;       // n_tokens
  int64_t max_pages = 0, n_pages = 0;
};
PagePlan plan_pages(const BatchLayout& batch);
// The compact pool of one cache (width floats per slot) as the plan lays it out.
void gather_pages(const PagePlan& plan, const BatchLayout& batch, const float* pool, int64_t width,
                  std::vector<float>& out);

}  // namespace schwarm::cuda

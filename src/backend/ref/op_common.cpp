// Shape checks, cache slots, weight row decoding, MoE routing and rope checks shared by the
// CPU-side backends (see op_common.h).
#include "backend/ref/op_common.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "schwarm/error.h"

namespace schwarm::backend_detail {

void check(bool ok, const char* op, const std::string& what) {
  if (!ok) fail(op, what);
}

void fail(const char* op, const std::string& what) { throw Error(std::string(op) + ": " + what); }

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Dims2 weight_dims(const TensorView& w, const char* op) {
  SCHWARM_CHECK(w.shape.size() == 2, op, "weight '" + w.name + "' must be 2-D, has shape " + shape_str(w.shape));
  const TypeTraits& tt = type_traits(w.type);
  SCHWARM_CHECK(tt.dequantize != nullptr, op,
                "weight '" + w.name + "' has type " + std::string(tt.name) + " which cannot be dequantized");
  const Dims2 d{w.shape[0], w.shape[1]};
  SCHWARM_CHECK(
      d.rows >= 0 && d.cols >= 0 && d.cols % tt.block_size == 0, op,
      "weight '" + w.name + "' shape " + shape_str(w.shape) + " is not whole blocks of " + std::string(tt.name));
  SCHWARM_CHECK(w.data.size() == static_cast<size_t>(d.rows) * row_bytes(w, d.cols), op,
                "weight '" + w.name + "' holds " + std::to_string(w.data.size()) + " bytes, shape " +
                    shape_str(w.shape) + " of " + std::string(tt.name) + " needs " +
                    std::to_string(d.rows * row_bytes(w, d.cols)));
  return d;
}

size_t row_bytes(const TensorView& w, int64_t cols) {
  const TypeTraits& tt = type_traits(w.type);
  return static_cast<size_t>(cols / tt.block_size) * tt.block_bytes;
}

void dequantize_rows(const TensorView& w, int64_t first_row, int64_t n_rows, int64_t cols, float* dst) {
  const size_t rb = row_bytes(w, cols);
  type_traits(w.type).dequantize(w.data.data() + static_cast<size_t>(first_row) * rb, dst, n_rows * cols);
}

int64_t cache_slot(const BatchLayout& b, int32_t seq, int32_t pos) {
  const auto& pages = b.page_table[static_cast<size_t>(seq)];
  const int64_t page = pages[static_cast<size_t>(pos / b.page_tokens)];
  return page * b.page_tokens + pos % b.page_tokens;
}

void check_batch(const BatchLayout& b, const KvLayerCache& cache, int64_t k_width, int64_t v_width, const char* op) {
  const auto n = static_cast<size_t>(b.n_tokens);
  SCHWARM_CHECK(b.n_tokens >= 0 && b.seq.size() == n && b.pos.size() == n, op,
                "batch of " + std::to_string(b.n_tokens) + " tokens has " + std::to_string(b.seq.size()) + " seq and " +
                    std::to_string(b.pos.size()) + " pos entries");
  SCHWARM_CHECK(b.page_tokens > 0, op, "page_tokens must be positive");
  SCHWARM_CHECK(cache.k_width == k_width && cache.v_width == v_width, op,
                "cache widths (" + std::to_string(cache.k_width) + ", " + std::to_string(cache.v_width) +
                    ") do not match the op's (" + std::to_string(k_width) + ", " + std::to_string(v_width) + ")");
  const int64_t none = std::numeric_limits<int64_t>::max();  // a zero-width cache holds any slot
  const int64_t k_slots = k_width ? static_cast<int64_t>(cache.k.size()) / k_width : none;
  const int64_t v_slots = v_width ? static_cast<int64_t>(cache.v.size()) / v_width : none;
  for (size_t t = 0; t < n; ++t) {
    const int32_t s = b.seq[t], p = b.pos[t];
    SCHWARM_CHECK(s >= 0 && static_cast<size_t>(s) < b.page_table.size(), op,
                  "token " + std::to_string(t) + " has sequence " + std::to_string(s) + " with no page table");
    SCHWARM_CHECK(
        p >= 0 && p / b.page_tokens < static_cast<int64_t>(b.page_table[static_cast<size_t>(s)].size()), op,
        "token " + std::to_string(t) + " at position " + std::to_string(p) + " lies beyond its sequence's pages");
    if (t > 0 && b.seq[t - 1] == s)
      SCHWARM_CHECK(b.pos[t - 1] < p, op, "positions of sequence " + std::to_string(s) + " must increase");
    // Every slot the token attends to must be inside the pool.
    for (int64_t page_i = 0; page_i <= p / b.page_tokens; ++page_i) {
      const int64_t page = b.page_table[static_cast<size_t>(s)][static_cast<size_t>(page_i)];
      SCHWARM_CHECK(
          page >= 0 && (page + 1) * b.page_tokens <= std::min(k_slots, v_slots), op,
          "page " + std::to_string(page) + " of sequence " + std::to_string(s) + " lies outside the cache pool");
    }
  }
}

namespace {
// Indices of the k largest values, largest first; ties to the lower index. k scans (k is small:
// the experts or groups a token keeps) instead of sorting all n, which allocated a merge buffer
// per token and showed in prefill profiles.
std::vector<int32_t> top_k_indices(const std::vector<double>& v, int64_t k) {
  std::vector<int32_t> idx;
  std::vector<bool> taken(v.size(), false);
  for (int64_t i = 0; i < k; ++i) {
    int32_t best = -1;
    for (size_t e = 0; e < v.size(); ++e)
      if (!taken[e] && (best < 0 || v[e] > v[static_cast<size_t>(best)])) best = static_cast<int32_t>(e);
    taken[static_cast<size_t>(best)] = true;
    idx.push_back(best);
  }
  return idx;
}
}  // namespace

void route_token(const MoeSpec& spec, const float* logits, const float* bias, int32_t* ids, float* w) {
  const auto n = static_cast<size_t>(spec.n_experts);
  std::vector<double> scores(n);
  if (spec.scoring == MoeScoringFn::Softmax) {
    double mx = -std::numeric_limits<double>::infinity();
    for (size_t e = 0; e < n; ++e) mx = std::max(mx, static_cast<double>(logits[e]));
    double sum = 0;
    for (size_t e = 0; e < n; ++e) sum += scores[e] = std::exp(static_cast<double>(logits[e]) - mx);
    for (size_t e = 0; e < n; ++e) scores[e] /= sum;
  } else {
    for (size_t e = 0; e < n; ++e) scores[e] = 1.0 / (1.0 + std::exp(-static_cast<double>(logits[e])));
  }
  // Selection uses the biased scores (V3's e_score_correction_bias); weights the unbiased ones.
  std::vector<double> choice = scores;
  if (bias)
    for (size_t e = 0; e < n; ++e) choice[e] += bias[e];
  if (spec.group_rule != MoeGroupRule::None) {
    const auto n_group = static_cast<size_t>(spec.n_group), gsize = n / n_group;
    std::vector<double> group_score(n_group);
    for (size_t g = 0; g < n_group; ++g) {
      std::vector<double> in(choice.begin() + static_cast<std::ptrdiff_t>(g * gsize),
                             choice.begin() + static_cast<std::ptrdiff_t>((g + 1) * gsize));
      std::sort(in.begin(), in.end(), std::greater<>());
      group_score[g] = spec.group_rule == MoeGroupRule::GroupMax ? in[0] : in[0] + in[1];
    }
    std::vector<bool> keep(n_group, false);
    for (int32_t g : top_k_indices(group_score, spec.topk_group)) keep[static_cast<size_t>(g)] = true;
    for (size_t e = 0; e < n; ++e)
      if (!keep[e / gsize]) choice[e] = -std::numeric_limits<double>::infinity();
  }
  const std::vector<int32_t> sel = top_k_indices(choice, spec.top_k);
  double sum = 0;
  for (int32_t e : sel) sum += scores[static_cast<size_t>(e)];
  const double norm = spec.norm_topk_prob ? 1.0 / (sum + 1e-20) : 1.0;
  for (size_t i = 0; i < sel.size(); ++i) {
    ids[i] = sel[i];
    w[i] = static_cast<float>(scores[static_cast<size_t>(sel[i])] * norm * spec.routed_scaling_factor);
  }
}

void check_moe(const MoeWeights& w, const MoeSpec& spec, const char* op) {
  SCHWARM_CHECK(spec.n_experts > 0 && spec.top_k > 0 && spec.top_k <= spec.n_experts, op,
                "top_k " + std::to_string(spec.top_k) + " of " + std::to_string(spec.n_experts) + " experts");
  SCHWARM_CHECK(
      static_cast<int64_t>(w.experts.size()) == spec.n_experts, op,
      std::to_string(w.experts.size()) + " expert weight sets for " + std::to_string(spec.n_experts) + " experts");
  if (spec.group_rule != MoeGroupRule::None) {
    SCHWARM_CHECK(spec.n_group > 0 && spec.n_experts % spec.n_group == 0 && spec.topk_group > 0 &&
                      spec.topk_group <= spec.n_group,
                  op,
                  "n_group " + std::to_string(spec.n_group) + ", topk_group " + std::to_string(spec.topk_group) +
                      " for " + std::to_string(spec.n_experts) + " experts");
    const int64_t gsize = spec.n_experts / spec.n_group;
    SCHWARM_CHECK(gsize * spec.topk_group >= spec.top_k, op, "the kept groups hold fewer than top_k experts");
    SCHWARM_CHECK(spec.group_rule != MoeGroupRule::GroupTop2Sum || gsize >= 2, op,
                  "top-2 group rule needs groups of >= 2");
  }
  if (w.selection_bias) {
    SCHWARM_CHECK(w.selection_bias->numel() == spec.n_experts, op,
                  "selection bias has shape " + shape_str(w.selection_bias->shape));
    SCHWARM_CHECK(type_traits(w.selection_bias->type).dequantize != nullptr, op,
                  "selection bias type cannot be dequantized");
  }
}

std::vector<float> selection_bias(const MoeWeights& w, const MoeSpec& spec) {
  if (!w.selection_bias) return {};
  std::vector<float> b(static_cast<size_t>(spec.n_experts));
  type_traits(w.selection_bias->type).dequantize(w.selection_bias->data.data(), b.data(), spec.n_experts);
  return b;
}

void check_rope(const RopeSpec& r, int64_t head_dim, const char* op) {
  SCHWARM_CHECK(r.rot_dim >= 0 && r.rot_dim % 2 == 0 && r.rot_dim <= head_dim, op,
                "rot_dim " + std::to_string(r.rot_dim) + " for head_dim " + std::to_string(head_dim));
  SCHWARM_CHECK(static_cast<int64_t>(r.inv_freq.size()) == r.rot_dim / 2, op,
                std::to_string(r.inv_freq.size()) + " inverse frequencies for rot_dim " + std::to_string(r.rot_dim));
}

}  // namespace schwarm::backend_detail

namespace schwarm::backend_detail {

namespace {
void check_any_weight(const TensorView& w, const std::vector<int64_t>& want, const char* op) {
  SCHWARM_CHECK(w.shape == want, op,
                "weight '" + w.name + "' has shape " + shape_str(w.shape) + ", expected " + shape_str(want));
  const TypeTraits& tt = type_traits(w.type);
  SCHWARM_CHECK(tt.dequantize != nullptr && want.back() % tt.block_size == 0, op,
                "weight '" + w.name + "' of type " + std::string(tt.name) + " cannot be dequantized by rows");
  SCHWARM_CHECK(
      w.data.size() == static_cast<size_t>(w.numel() / want.back()) * row_bytes(w, want.back()), op,
      "weight '" + w.name + "' holds " + std::to_string(w.data.size()) + " bytes for shape " + shape_str(w.shape));
}
}  // namespace

void check_mla_kvb(const MlaKvB& kv_b, int64_t n_heads, int64_t d_nope, int64_t d_v, int64_t rank, const char* op) {
  if (!kv_b.is_split()) {
    check_any_weight(kv_b.kv_b, {n_heads * (d_nope + d_v), rank}, op);
  } else {
    check_any_weight(kv_b.k_b, {n_heads, rank, d_nope}, op);
    check_any_weight(kv_b.v_b, {n_heads, d_v, rank}, op);
  }
}

void mla_head_weights(const MlaKvB& kv_b, int64_t h, int64_t d_nope, int64_t d_v, int64_t rank, float* w_uk,
                      float* w_uv, std::vector<float>& scratch) {
  if (!kv_b.is_split()) {
    const int64_t first = h * (d_nope + d_v);
    dequantize_rows(kv_b.kv_b, first, d_nope, rank, w_uk);
    dequantize_rows(kv_b.kv_b, first + d_nope, d_v, rank, w_uv);
    return;
  }
  scratch.resize(static_cast<size_t>(rank * d_nope));
  dequantize_rows(kv_b.k_b, h * rank, rank, d_nope, scratch.data());  // [rank, d_nope]
  for (int64_t r = 0; r < rank; ++r)
    for (int64_t i = 0; i < d_nope; ++i) w_uk[i * rank + r] = scratch[static_cast<size_t>(r * d_nope + i)];
  dequantize_rows(kv_b.v_b, h * d_v, d_v, rank, w_uv);
}

}  // namespace schwarm::backend_detail

namespace schwarm::backend_detail {

namespace {
std::string n_floats(size_t n) { return std::to_string(n) + " floats"; }
}  // namespace

void check_add(std::span<const float> x, std::span<const float> y) {
  SCHWARM_CHECK(x.size() == y.size(), "add", "x of " + n_floats(x.size()) + ", y of " + n_floats(y.size()));
}

Dims2 check_matmul(const TensorView& w, std::span<const float> x, int64_t n, std::span<const float> y) {
  const Dims2 d = weight_dims(w, "matmul");
  SCHWARM_CHECK(n >= 0 && x.size() == static_cast<size_t>(n * d.cols) && y.size() == static_cast<size_t>(n * d.rows),
                "matmul",
                "weight '" + w.name + "' " + shape_str(w.shape) + " with x of " + n_floats(x.size()) + " and y of " +
                    n_floats(y.size()) + " for n = " + std::to_string(n));
  return d;
}

Dims2 check_embed(const TensorView& table, std::span<const int32_t> ids, std::span<const float> y) {
  const Dims2 d = weight_dims(table, "embed");
  SCHWARM_CHECK(y.size() == ids.size() * static_cast<size_t>(d.cols), "embed",
                "output of " + n_floats(y.size()) + " for " + std::to_string(ids.size()) + " ids of width " +
                    std::to_string(d.cols));
  for (int32_t id : ids)
    SCHWARM_CHECK(id >= 0 && id < d.rows, "embed",
                  "id " + std::to_string(id) + " outside the table's " + std::to_string(d.rows) + " rows");
  return d;
}

int64_t check_rms_norm(std::span<const float> x, const TensorView& gain, std::span<const float> y) {
  const int64_t dim = gain.numel();
  SCHWARM_CHECK(dim > 0 && x.size() % static_cast<size_t>(dim) == 0 && y.size() == x.size(), "rms_norm",
                "x of " + n_floats(x.size()) + ", y of " + n_floats(y.size()) + ", gain " + shape_str(gain.shape));
  const TypeTraits& tt = type_traits(gain.type);
  SCHWARM_CHECK(tt.dequantize != nullptr && dim % tt.block_size == 0, "rms_norm",
                "gain of type " + std::string(tt.name) + " cannot be dequantized");
  return dim;
}

void check_rope_args(std::span<const float> x, int64_t n_heads, int64_t head_dim, std::span<const int32_t> pos,
                     const RopeSpec& rope) {
  check_rope(rope, head_dim, "rope");
  SCHWARM_CHECK(n_heads >= 0 && x.size() == pos.size() * static_cast<size_t>(n_heads * head_dim), "rope",
                "x of " + n_floats(x.size()) + " for " + std::to_string(pos.size()) + " tokens x " +
                    std::to_string(n_heads) + " heads x " + std::to_string(head_dim));
}

int64_t check_ffn_weights(const FfnWeights& w, int64_t hidden, const char* op) {
  const Dims2 g = weight_dims(w.gate, op), u = weight_dims(w.up, op), d = weight_dims(w.down, op);
  if (hidden < 0) hidden = g.cols;
  SCHWARM_CHECK(g.cols == hidden && u.cols == hidden && g.rows == u.rows && d.rows == hidden && d.cols == g.rows, op,
                "gate " + shape_str(w.gate.shape) + ", up " + shape_str(w.up.shape) + ", down " +
                    shape_str(w.down.shape) + " do not fit together and hidden " + std::to_string(hidden));
  return g.rows;
}

int64_t check_ffn(const FfnWeights& w, std::span<const float> x, int64_t n, std::span<const float> y) {
  const int64_t inter = check_ffn_weights(w, -1, "ffn");
  const int64_t hidden = w.gate.shape[1];
  SCHWARM_CHECK(n >= 0 && x.size() == static_cast<size_t>(n * hidden) && y.size() == x.size(), "ffn",
                "x of " + n_floats(x.size()) + ", y of " + n_floats(y.size()) + " for n = " + std::to_string(n) +
                    " and hidden " + std::to_string(hidden));
  return inter;
}

int64_t check_moe_args(const MoeWeights& w, const MoeSpec& spec, std::span<const float> x, int64_t n,
                       std::span<const float> y) {
  check_moe(w, spec, "moe");
  const Dims2 r = weight_dims(w.router, "moe");
  const int64_t hidden = r.cols;
  SCHWARM_CHECK(r.rows == spec.n_experts, "moe",
                "router " + shape_str(w.router.shape) + " for " + std::to_string(spec.n_experts) + " experts");
  SCHWARM_CHECK(n >= 0 && x.size() == static_cast<size_t>(n * hidden) && y.size() == x.size(), "moe",
                "x of " + n_floats(x.size()) + ", y of " + n_floats(y.size()) + " for n = " + std::to_string(n) +
                    " and hidden " + std::to_string(hidden));
  for (const FfnWeights& f : w.experts) check_ffn_weights(f, hidden, "moe");
  for (const FfnWeights& f : w.shared) check_ffn_weights(f, hidden, "moe");
  return hidden;
}

void check_attention(std::span<const float> q, std::span<const float> k, std::span<const float> v, int64_t n_heads,
                     int64_t n_kv_heads, int64_t head_dim, const BatchLayout& batch, const KvLayerCache& cache,
                     std::span<const float> out) {
  const char* op = "attention";
  SCHWARM_CHECK(n_heads > 0 && n_kv_heads > 0 && head_dim > 0 && n_heads % n_kv_heads == 0, op,
                std::to_string(n_heads) + " heads over " + std::to_string(n_kv_heads) + " kv heads of dim " +
                    std::to_string(head_dim));
  const int64_t n = batch.n_tokens, kvw = n_kv_heads * head_dim;
  SCHWARM_CHECK(q.size() == static_cast<size_t>(n * n_heads * head_dim) && out.size() == q.size() &&
                    k.size() == static_cast<size_t>(n * kvw) && v.size() == k.size(),
                op,
                "q " + n_floats(q.size()) + ", k " + n_floats(k.size()) + ", v " + n_floats(v.size()) + ", out " +
                    n_floats(out.size()) + " for " + std::to_string(n) + " tokens");
  check_batch(batch, cache, kvw, kvw, op);
}

int64_t check_mla(std::span<const float> q_nope, std::span<const float> q_pe, std::span<const float> latent,
                  std::span<const float> k_pe, const MlaKvB& kv_b, int64_t n_heads, int64_t d_nope, int64_t d_rope,
                  int64_t d_v, const BatchLayout& batch, const KvLayerCache& cache, std::span<const float> out) {
  const char* op = "mla_attention";
  const int64_t n = batch.n_tokens, rank = cache.k_width;
  SCHWARM_CHECK(n_heads > 0 && d_nope > 0 && d_rope >= 0 && d_v > 0 && rank > 0, op,
                "dims H " + std::to_string(n_heads) + ", d_nope " + std::to_string(d_nope) + ", d_rope " +
                    std::to_string(d_rope) + ", d_v " + std::to_string(d_v) + ", rank " + std::to_string(rank));
  SCHWARM_CHECK(q_nope.size() == static_cast<size_t>(n * n_heads * d_nope) &&
                    q_pe.size() == static_cast<size_t>(n * n_heads * d_rope) &&
                    latent.size() == static_cast<size_t>(n * rank) && k_pe.size() == static_cast<size_t>(n * d_rope) &&
                    out.size() == static_cast<size_t>(n * n_heads * d_v),
                op,
                "q_nope " + n_floats(q_nope.size()) + ", q_pe " + n_floats(q_pe.size()) + ", latent " +
                    n_floats(latent.size()) + ", k_pe " + n_floats(k_pe.size()) + ", out " + n_floats(out.size()) +
                    " for " + std::to_string(n) + " tokens");
  check_batch(batch, cache, rank, d_rope, op);
  check_mla_kvb(kv_b, n_heads, d_nope, d_v, rank, op);
  return rank;
}

}  // namespace schwarm::backend_detail

#pragma once
// Pieces every CPU-side backend shares with ref, so that they agree on the semantics by
// construction rather than by copy: shape checks, paged-cache slot arithmetic, weight row
// decoding, the MoE router's selection rule (a pure function of the scores) and rope angles.
// cpu/ includes this header; ref is the owner because ref *is* the definition of each op.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/tensor_type.h"
#include "io/tensor_view.h"

namespace schwarm::backend_detail {

// Throws Error("OP: WHAT") when !ok.
void check(bool ok, const char* op, const std::string& what);
// Throws Error("OP: WHAT").
[[noreturn]] void fail(const char* op, const std::string& what);
// As check, but WHAT is built only when the check fails: the checks of every op run once per
// token in decode, where composing their messages cost ~3 % of the time (malloc and string work).
#define SCHWARM_CHECK(ok, op, what)                           \
  do {                                                        \
    if (!(ok)) ::schwarm::backend_detail::fail((op), (what)); \
  } while (0)
std::string shape_str(const std::vector<int64_t>& shape);

// A 2-D weight [rows, cols] of any type with a dequantize routine; returns {rows, cols}.
struct Dims2 {
  int64_t rows, cols;
};
Dims2 weight_dims(const TensorView& w, const char* op);
// Bytes of one row of `cols` elements of w's type.
size_t row_bytes(const TensorView& w, int64_t cols);
// dst[cols] = row r of w, dequantized with the registry's routine.
void dequantize_rows(const TensorView& w, int64_t first_row, int64_t n_rows, int64_t cols, float* dst);

// Paged KV cache: float offset of (seq, pos)'s slot in a cache of the given width.
int64_t cache_slot(const BatchLayout& b, int32_t seq, int32_t pos);
// Checks batch/cache consistency for an attention op (spans, page tables, widths).
void check_batch(const BatchLayout& b, const KvLayerCache& cache, int64_t k_width, int64_t v_width,
                 const char* op);

// MoE routing for one token: given the router's logits[n_experts] (and the optional selection
// bias), returns the selected experts (ids[top_k]) and their weights (w[top_k]), exactly as
// transformers does (see backend.h, MoeSpec). Ties go to the lower expert id.
void route_token(const MoeSpec& spec, const float* logits, const float* bias, int32_t* ids, float* w);
void check_moe(const MoeWeights& w, const MoeSpec& spec, const char* op);
// The bias as floats (empty if none).
std::vector<float> selection_bias(const MoeWeights& w, const MoeSpec& spec);

void check_rope(const RopeSpec& r, int64_t head_dim, const char* op);

}  // namespace schwarm::backend_detail

namespace schwarm::backend_detail {

// Checks kv_b's shapes against the op's dims (joint [H*(dn+dv), R], or split k_b [H, R, dn] and
// v_b [H, dv, R]) and that each is dequantizable with whole blocks per innermost row.
void check_mla_kvb(const MlaKvB& kv_b, int64_t n_heads, int64_t d_nope, int64_t d_v, int64_t rank, const char* op);
// Dequantizes head h's up-projections: w_uk[d_nope, rank] and w_uv[d_v, rank] (row-major), from
// either form. `scratch` is resized as needed (the split k_b needs a transpose).
void mla_head_weights(const MlaKvB& kv_b, int64_t h, int64_t d_nope, int64_t d_v, int64_t rank, float* w_uk,
                      float* w_uv, std::vector<float>& scratch);

}  // namespace schwarm::backend_detail

// Argument checks of each op, shared so every backend rejects exactly the same calls. Each
// throws Error("OP: ...") naming the shapes, and returns the dims it derived.
namespace schwarm::backend_detail {

void check_add(std::span<const float> x, std::span<const float> y);
Dims2 check_matmul(const TensorView& w, std::span<const float> x, int64_t n, std::span<const float> y);
Dims2 check_embed(const TensorView& table, std::span<const int32_t> ids, std::span<const float> y);
int64_t check_rms_norm(std::span<const float> x, const TensorView& gain, std::span<const float> y);  // row dim
void check_rope_args(std::span<const float> x, int64_t n_heads, int64_t head_dim, std::span<const int32_t> pos,
                     const RopeSpec& rope);
// Returns the intermediate size; `hidden` < 0: taken from the weights.
int64_t check_ffn_weights(const FfnWeights& w, int64_t hidden, const char* op);
int64_t check_ffn(const FfnWeights& w, std::span<const float> x, int64_t n, std::span<const float> y);
// Checks spec, router, every expert and shared expert, x and y; returns hidden.
int64_t check_moe_args(const MoeWeights& w, const MoeSpec& spec, std::span<const float> x, int64_t n,
                       std::span<const float> y);
void check_attention(std::span<const float> q, std::span<const float> k, std::span<const float> v, int64_t n_heads,
                     int64_t n_kv_heads, int64_t head_dim, const BatchLayout& batch, const KvLayerCache& cache,
                     std::span<const float> out);
// Returns kv_lora_rank (the cache's k width).
int64_t check_mla(std::span<const float> q_nope, std::span<const float> q_pe, std::span<const float> latent,
                  std::span<const float> k_pe, const MlaKvB& kv_b, int64_t n_heads, int64_t d_nope, int64_t d_rope,
                  int64_t d_v, const BatchLayout& batch, const KvLayerCache& cache, std::span<const float> out);

}  // namespace schwarm::backend_detail

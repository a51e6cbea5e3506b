// Family names, the MoE layer schedule, shared validation and parameter counting.
#include "model/model_config.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "schwarm/error.h"

namespace schwarm {

const char* arch_family_name(ArchFamily f) {
  switch (f) {
    case ArchFamily::DeepSeek: return "deepseek";
    case ArchFamily::Qwen3Moe: return "qwen3moe";
    case ArchFamily::Mixtral: return "mixtral";
    case ArchFamily::Olmoe: return "olmoe";
    case ArchFamily::Llama: return "llama";
    case ArchFamily::Qwen2: return "qwen2";
    case ArchFamily::Qwen3: return "qwen3";
  }
  return "unknown";
}

bool ModelConfig::layer_is_moe(int64_t layer) const {
  if (!is_moe() || layer < 0 || layer >= num_layers) return false;
  if (layer < first_k_dense_replace) return false;
  if (moe_layer_freq > 1 && layer % moe_layer_freq != 0) return false;
  if (decoder_sparse_step > 1 && (layer + 1) % decoder_sparse_step != 0) return false;
  return !std::binary_search(mlp_only_layers.begin(), mlp_only_layers.end(), layer);
}

namespace {

// Upper bounds that no real checkpoint comes near; they keep every later product well inside
// int64 for sane inputs and let count_params' checked arithmetic report the rest.
constexpr int64_t kMaxDim = int64_t{1} << 24;      // hidden, ffn, vocab, head dims, ranks
constexpr int64_t kMaxCount = int64_t{1} << 16;    // layers, heads, experts, groups
constexpr int64_t kMaxPositions = int64_t{1} << 32;

class Checker {
 public:
  Checker(const std::string& source, const ConfigKeyNamer& namer) : source_(source), namer_(namer) {}

  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    throw Error(source_ + ": key '" + key(field) + "' " + problem);
  }
  std::string key(const std::string& field) const { return namer_ ? namer_(field) : field; }

  void range(const std::string& field, int64_t v, int64_t lo, int64_t hi) const {
    if (v < lo || v > hi)
      fail(field, "is " + std::to_string(v) + ", expected " + std::to_string(lo) + ".." +
                      std::to_string(hi));
  }
  void positive_finite(const std::string& field, double v) const {
    if (!std::isfinite(v) || !(v > 0)) fail(field, "must be a positive finite number");
  }

 private:
  const std::string& source_;
  const ConfigKeyNamer& namer_;
};

}  // namespace

void validate_config(const ModelConfig& c, const std::string& source,
                     const ConfigKeyNamer& key_name) {
  const Checker k(source, key_name);
  k.range("vocab_size", c.vocab_size, 1, kMaxDim);
  k.range("hidden_size", c.hidden_size, 1, kMaxDim);
  k.range("num_hidden_layers", c.num_layers, 1, kMaxCount);
  k.range("num_attention_heads", c.num_heads, 1, kMaxCount);
  k.range("num_key_value_heads", c.num_kv_heads, 1, c.num_heads);
  if (c.num_heads % c.num_kv_heads != 0)
    k.fail("num_key_value_heads", "must divide num_attention_heads: " + std::to_string(c.num_heads) +
                                      " % " + std::to_string(c.num_kv_heads) + " != 0");
  k.range("head_dim", c.head_dim, 1, kMaxDim);
  if (!c.mla && c.head_dim % 2 != 0) k.fail("head_dim", "must be even for RoPE");
  k.range("intermediate_size", c.intermediate_size, 1, kMaxDim);
  k.range("max_position_embeddings", c.max_position_embeddings, 1, kMaxPositions);
  k.positive_finite("rms_norm_eps", c.rms_norm_eps);
  if (c.rms_norm_eps >= 1.0) k.fail("rms_norm_eps", "must be below 1");
  k.positive_finite("rope_theta", c.rope_theta);

  const RopeScaling& rs = c.rope_scaling;
  if (rs.type != "none") {
    k.positive_finite("rope_scaling.factor", rs.factor);
    if (rs.type == "yarn" || rs.type == "llama3") {
      k.range("rope_scaling.original_max_position_embeddings", rs.original_max_position_embeddings,
              1, kMaxPositions);
    } else {
      k.range("rope_scaling.original_max_position_embeddings", rs.original_max_position_embeddings,
              0, kMaxPositions);
    }
    if (rs.type == "yarn") {
      k.positive_finite("rope_scaling.beta_fast", rs.beta_fast);
      k.positive_finite("rope_scaling.beta_slow", rs.beta_slow);
      if (!std::isfinite(rs.mscale) || !std::isfinite(rs.mscale_all_dim))
        k.fail("rope_scaling.mscale", "must be finite");
    }
    if (rs.type == "llama3") {
      k.positive_finite("rope_scaling.low_freq_factor", rs.low_freq_factor);
      k.positive_finite("rope_scaling.high_freq_factor", rs.high_freq_factor);
      if (rs.high_freq_factor <= rs.low_freq_factor)
        k.fail("rope_scaling.high_freq_factor", "must exceed low_freq_factor");
    }
  }

  if (c.mla) {
    k.range("q_lora_rank", c.q_lora_rank, 0, kMaxDim);
    k.range("kv_lora_rank", c.kv_lora_rank, 1, kMaxDim);
    k.range("qk_nope_head_dim", c.qk_nope_head_dim, 1, kMaxDim);
    k.range("qk_rope_head_dim", c.qk_rope_head_dim, 2, kMaxDim);
    if (c.qk_rope_head_dim % 2 != 0) k.fail("qk_rope_head_dim", "must be even for RoPE");
    k.range("v_head_dim", c.v_head_dim, 1, kMaxDim);
    if (c.head_dim != c.qk_nope_head_dim + c.qk_rope_head_dim)
      k.fail("head_dim", "must equal qk_nope_head_dim + qk_rope_head_dim");
  }

  if (c.n_routed_experts < 0) k.fail("n_routed_experts", "must not be negative");
  if (c.is_moe()) {
    k.range("n_routed_experts", c.n_routed_experts, 1, kMaxCount);
    k.range("num_experts_per_tok", c.num_experts_per_tok, 1, c.n_routed_experts);
    k.range("moe_intermediate_size", c.moe_intermediate_size, 1, kMaxDim);
    k.range("n_shared_experts", c.n_shared_experts, 0, kMaxCount);
    k.range("shared_expert_intermediate_size", c.shared_expert_intermediate_size, 0, kMaxDim);
    if (c.n_shared_experts > 0 && c.shared_expert_intermediate_size == 0)
      k.fail("shared_expert_intermediate_size", "must be positive with shared experts");
    k.range("first_k_dense_replace", c.first_k_dense_replace, 0, c.num_layers);
    k.range("moe_layer_freq", c.moe_layer_freq, 1, kMaxCount);
    k.range("decoder_sparse_step", c.decoder_sparse_step, 1, kMaxCount);
    for (int64_t l : c.mlp_only_layers) k.range("mlp_only_layers", l, 0, c.num_layers - 1);
    if (!std::is_sorted(c.mlp_only_layers.begin(), c.mlp_only_layers.end()))
      k.fail("mlp_only_layers", "must be sorted");
    k.range("n_group", c.n_group, 1, c.n_routed_experts);
    if (c.n_routed_experts % c.n_group != 0)
      k.fail("n_group", "must divide the expert count: " + std::to_string(c.n_routed_experts) +
                            " % " + std::to_string(c.n_group) + " != 0");
    k.range("topk_group", c.topk_group, 1, c.n_group);
    if (c.num_experts_per_tok > c.topk_group * (c.n_routed_experts / c.n_group))
      k.fail("num_experts_per_tok", "exceeds the experts in the topk_group selected groups");
    k.positive_finite("routed_scaling_factor", c.routed_scaling_factor);
  }
}

namespace {

struct Acc {
  static int64_t mul(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r)) overflow();
    return r;
  }
  static int64_t add(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) overflow();
    return r;
  }
  static int64_t mul(std::initializer_list<int64_t> xs) {
    int64_t r = 1;
    for (int64_t x : xs) r = mul(r, x);
    return r;
  }
  [[noreturn]] static void overflow() {
    throw Error("count_params: parameter count overflows int64");
  }
};

}  // namespace

ParamCounts count_params(const ModelConfig& c) {
  using A = Acc;
  const int64_t h = c.hidden_size;

  // Attention block of one layer.
  int64_t attn = 0;
  if (c.mla) {
    const int64_t qk_head = c.qk_nope_head_dim + c.qk_rope_head_dim;
    if (c.q_lora_rank > 0) {
      attn = A::add(attn, A::mul(h, c.q_lora_rank));                             // q_a_proj
      attn = A::add(attn, c.q_lora_rank);                                       // q_a_layernorm
      attn = A::add(attn, A::mul({c.q_lora_rank, c.num_heads, qk_head}));        // q_b_proj
    } else {
      attn = A::add(attn, A::mul({h, c.num_heads, qk_head}));                   // q_proj
    }
    attn = A::add(attn, A::mul(h, A::add(c.kv_lora_rank, c.qk_rope_head_dim)));  // kv_a_proj_with_mqa
    attn = A::add(attn, c.kv_lora_rank);                                        // kv_a_layernorm
    attn = A::add(attn, A::mul({c.kv_lora_rank, c.num_heads,
                                A::add(c.qk_nope_head_dim, c.v_head_dim)}));     // kv_b_proj
    attn = A::add(attn, A::mul({c.num_heads, c.v_head_dim, h}));                // o_proj
  } else {
    const int64_t q = A::mul(c.num_heads, c.head_dim);
    const int64_t kv = A::mul(c.num_kv_heads, c.head_dim);
    attn = A::add(A::mul(h, q), A::mul(2, A::mul(h, kv)));  // q, k, v
    attn = A::add(attn, A::mul(q, h));                      // o
    const bool qkv_bias = c.attention_bias || c.family == ArchFamily::Qwen2;
    if (qkv_bias) attn = A::add(attn, A::add(q, A::mul(2, kv)));
    if (c.attention_bias && c.family == ArchFamily::Llama) attn = A::add(attn, h);  // o bias
    if (c.qk_norm) {
      if (c.family == ArchFamily::Olmoe)
        attn = A::add(attn, A::add(q, kv));  // OLMoE normalises the whole q and k projections
      else
        attn = A::add(attn, A::mul(2, c.head_dim));  // Qwen3: one per-head weight each
    }
  }
  const int64_t layer_norms = A::mul(2, h);  // input_layernorm + post_attention_layernorm

  const int64_t dense_ffn = A::mul({3, h, c.intermediate_size});
  const int64_t expert = A::mul({3, h, c.moe_intermediate_size});
  int64_t router = 0, shared = 0;
  if (c.is_moe()) {
    router = A::mul(h, c.n_routed_experts);
    if (c.topk_method == TopkMethod::NoauxTc) router = A::add(router, c.n_routed_experts);
    shared = A::mul({3, h, c.shared_expert_intermediate_size});
  }

  int64_t total = 0, active = 0;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const int64_t common = A::add(attn, layer_norms);
    if (c.layer_is_moe(l)) {
      const int64_t fixed = A::add(common, A::add(router, shared));
      total = A::add(total, A::add(fixed, A::mul(c.n_routed_experts, expert)));
      active = A::add(active, A::add(fixed, A::mul(c.num_experts_per_tok, expert)));
    } else {
      const int64_t layer = A::add(common, dense_ffn);
      total = A::add(total, layer);
      active = A::add(active, layer);
    }
  }
  const int64_t embed = A::mul(c.vocab_size, h);
  int64_t outer = A::add(embed, h);  // embedding + final norm
  if (!c.tie_word_embeddings) outer = A::add(outer, embed);
  ParamCounts p;
  p.total = A::add(total, outer);
  p.active = A::add(active, outer);
  p.embedding = embed;
  return p;
}

}  // namespace schwarm

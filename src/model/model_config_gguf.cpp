// ModelConfig from GGUF metadata, with llama.cpp's key names (gguf-py/gguf/constants.py Keys,
// src/llama-arch.cpp LLM_KV_*). Uses only GgufValue's inline members so that it does not depend
// on the reader's translation unit.
//
// DeepSeek (general.architecture "deepseek2") MLA dims come in two layouts:
//   - original conversions: key_length = qk_nope + qk_rope, value_length = v_head_dim,
//     head_count_kv = head_count;
//   - MLA-as-MQA conversions (llama.cpp 2025+): key_length = kv_lora_rank + qk_rope,
//     value_length = kv_lora_rank, head_count_kv = 1, and key_length_mla = qk_nope + qk_rope,
//     value_length_mla = v_head_dim.
// rope.dimension_count is qk_rope_head_dim in both. num_kv_heads is reported as head_count, as
// the HF config does (MLA has no separate kv-head count).
// Things GGUF does not carry: topk_method (inferred: sigmoid gating -> noaux_tc, softmax with
// expert groups -> group_limited_greedy, else greedy), yarn beta_fast/beta_slow (llama.cpp
// defaults 32/1 are used), yarn mscale (taken equal to mscale_all_dim, which is recovered as
// yarn_log_multiplier / 0.1), tie_word_embeddings, llama3 rope scaling.
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <type_traits>

#include "model/model_config.h"
#include "schwarm/error.h"

namespace schwarm {
namespace {

const GgufValue* find_key(const GgufMetadata& md, const std::string& key) {
  for (const auto& [k, v] : md)
    if (k == key) return &v;
  return nullptr;
}

// float32 values are read as the shortest decimal that round-trips the float, so that a GGUF
// epsilon of 1e-6f compares equal to the 1e-06 of config.json.
double float_to_double(float f) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, f);
  double d = 0;
  if (r.ec != std::errc() || std::from_chars(buf, r.ptr, d).ec != std::errc())
    return static_cast<double>(f);
  return d;
}

std::optional<int64_t> value_int(const GgufValue& v) {
  return std::visit(
      [](const auto& x) -> std::optional<int64_t> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) {
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, uint64_t>) {
          if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
          return static_cast<int64_t>(x);
        } else if constexpr (std::is_integral_v<T>) {
          return static_cast<int64_t>(x);
        } else {
          return std::nullopt;
        }
      },
      v.value);
}

std::optional<double> value_double(const GgufValue& v) {
  if (const float* f = std::get_if<float>(&v.value)) return float_to_double(*f);
  if (const double* d = std::get_if<double>(&v.value)) return *d;
  if (auto i = value_int(v)) return static_cast<double>(*i);
  return std::nullopt;
}

class Md {
 public:
  Md(const GgufMetadata& md, const std::string& source, std::string arch)
      : md_(md), source_(source), arch_(std::move(arch)) {}

  std::string key(const std::string& suffix) const { return arch_ + "." + suffix; }
  [[noreturn]] void fail(const std::string& full_key, const std::string& problem) const {
    throw Error(source_ + ": key '" + full_key + "' " + problem);
  }
  const GgufValue* get(const std::string& suffix) const { return find_key(md_, key(suffix)); }

  // Integers; a per-layer array (some converters write head_count per layer) must be uniform.
  std::optional<int64_t> opt_int(const std::string& suffix) const {
    const GgufValue* v = get(suffix);
    if (!v) return std::nullopt;
    if (const GgufArray* a = std::get_if<GgufArray>(&v->value)) {
      if (a->items.empty()) fail(key(suffix), "is an empty array");
      std::optional<int64_t> first;
      for (const GgufValue& item : a->items) {
        auto i = value_int(item);
        if (!i) fail(key(suffix), "must hold integers");
        if (first && *first != *i) fail(key(suffix), "varies per layer, which is not supported");
        first = i;
      }
      return first;
    }
    auto i = value_int(*v);
    if (!i) fail(key(suffix), "must be an integer");
    return i;
  }
  int64_t req_int(const std::string& suffix) const {
    auto i = opt_int(suffix);
    if (!i) fail(key(suffix), "is missing");
    return *i;
  }
  int64_t int_or(const std::string& suffix, int64_t def) const {
    return opt_int(suffix).value_or(def);
  }
  std::optional<double> opt_double(const std::string& suffix) const {
    const GgufValue* v = get(suffix);
    if (!v) return std::nullopt;
    auto d = value_double(*v);
    if (!d || !std::isfinite(*d)) fail(key(suffix), "must be a finite number");
    return d;
  }
  double double_or(const std::string& suffix, double def) const {
    return opt_double(suffix).value_or(def);
  }
  bool bool_or(const std::string& suffix, bool def) const {
    const GgufValue* v = get(suffix);
    if (!v) return def;
    if (const bool* b = std::get_if<bool>(&v->value)) return *b;
    fail(key(suffix), "must be a boolean");
  }
  std::optional<std::string> opt_string(const std::string& suffix) const {
    const GgufValue* v = get(suffix);
    if (!v) return std::nullopt;
    if (const std::string* s = std::get_if<std::string>(&v->value)) return *s;
    fail(key(suffix), "must be a string");
  }

 private:
  const GgufMetadata& md_;
  const std::string& source_;
  std::string arch_;
};

}  // namespace

ModelConfig config_from_gguf(const GgufMetadata& metadata, const std::string& source) {
  const GgufValue* arch_v = find_key(metadata, "general.architecture");
  if (!arch_v) throw Error(source + ": key 'general.architecture' is missing");
  const std::string* arch_s = std::get_if<std::string>(&arch_v->value);
  if (!arch_s) throw Error(source + ": key 'general.architecture' must be a string");
  const std::string arch = *arch_s;
  const Md m(metadata, source, arch);

  ModelConfig c;
  c.architecture = arch;
  c.model_type = arch;
  if (arch == "deepseek2") c.family = ArchFamily::DeepSeek;
  else if (arch == "qwen3moe") c.family = ArchFamily::Qwen3Moe;
  else if (arch == "llama") c.family = m.int_or("expert_count", 0) > 0 ? ArchFamily::Mixtral : ArchFamily::Llama;
  else if (arch == "olmoe") c.family = ArchFamily::Olmoe;
  else if (arch == "qwen2") c.family = ArchFamily::Qwen2;
  else if (arch == "qwen3") c.family = ArchFamily::Qwen3;
  else
    throw Error(source + ": key 'general.architecture' names unsupported architecture '" + arch +
                "' (known: deepseek2, qwen3moe, llama, olmoe, qwen2, qwen3)");
  const ArchFamily f = c.family;

  c.num_layers = m.req_int("block_count");
  c.hidden_size = m.req_int("embedding_length");
  c.intermediate_size = m.req_int("feed_forward_length");
  c.max_position_embeddings = m.req_int("context_length");
  c.num_heads = m.req_int("attention.head_count");
  c.num_kv_heads = m.int_or("attention.head_count_kv", c.num_heads);
  if (c.num_heads <= 0) m.fail(m.key("attention.head_count"), "must be positive");
  if (auto eps = m.opt_double("attention.layer_norm_rms_epsilon")) c.rms_norm_eps = *eps;
  else m.fail(m.key("attention.layer_norm_rms_epsilon"), "is missing");
  c.rope_theta = m.double_or("rope.freq_base", 10000.0);

  // Vocabulary: {arch}.vocab_size, else the tokenizer's token list.
  if (auto vs = m.opt_int("vocab_size")) {
    c.vocab_size = *vs;
  } else if (const GgufValue* toks = find_key(metadata, "tokenizer.ggml.tokens")) {
    const GgufArray* a = std::get_if<GgufArray>(&toks->value);
    if (!a) throw Error(source + ": key 'tokenizer.ggml.tokens' must be an array");
    c.vocab_size = static_cast<int64_t>(a->items.size());
  } else {
    throw Error(source + ": key '" + m.key("vocab_size") +
                "' is missing (and so is 'tokenizer.ggml.tokens')");
  }

  c.attention_bias = f == ArchFamily::Qwen2;
  c.qk_norm = f == ArchFamily::Qwen3 || f == ArchFamily::Qwen3Moe || f == ArchFamily::Olmoe;

  // RoPE scaling.
  if (auto type = m.opt_string("rope.scaling.type")) {
    std::string t = *type;
    if (t != "none" && t != "linear" && t != "yarn")
      m.fail(m.key("rope.scaling.type"), "names unsupported rope scaling '" + t + "'");
    c.rope_scaling.type = t;
    if (t != "none") {
      auto factor = m.opt_double("rope.scaling.factor");
      if (!factor) m.fail(m.key("rope.scaling.factor"), "is missing");
      c.rope_scaling.factor = *factor;
      c.rope_scaling.original_max_position_embeddings =
          m.int_or("rope.scaling.original_context_length", 0);
    }
    if (t == "yarn") {
      if (c.rope_scaling.original_max_position_embeddings == 0)
        c.rope_scaling.original_max_position_embeddings = c.max_position_embeddings;
      // convert_hf_to_gguf.py writes yarn_log_multiplier = 0.1 * mscale_all_dim.
      if (auto lm = m.opt_double("rope.scaling.yarn_log_multiplier")) {
        if (std::fabs(*lm) > 1e6) m.fail(m.key("rope.scaling.yarn_log_multiplier"), "is out of range");
        const double all = float_to_double(static_cast<float>(*lm / 0.1));
        c.rope_scaling.mscale_all_dim = all;
        c.rope_scaling.mscale = all;
      }
    }
  } else if (auto factor = m.opt_double("rope.scale_linear")) {
    c.rope_scaling.type = "linear";
    c.rope_scaling.factor = *factor;
  }

  if (f == ArchFamily::DeepSeek) {
    c.mla = true;
    c.q_lora_rank = m.int_or("attention.q_lora_rank", 0);
    c.kv_lora_rank = m.req_int("attention.kv_lora_rank");
    c.qk_rope_head_dim = m.req_int("rope.dimension_count");
    int64_t k_len = 0, v_len = 0;
    std::string k_key, v_key;
    if (m.get("attention.key_length_mla")) {
      k_key = "attention.key_length_mla";
      v_key = "attention.value_length_mla";
    } else {
      k_key = "attention.key_length";
      v_key = "attention.value_length";
    }
    k_len = m.req_int(k_key);
    v_len = m.req_int(v_key);
    constexpr int64_t kMaxDim = int64_t{1} << 24;
    if (c.qk_rope_head_dim < 0 || c.qk_rope_head_dim > kMaxDim)
      m.fail(m.key("rope.dimension_count"), "is out of range");
    if (k_len < 0 || k_len > kMaxDim) m.fail(m.key(k_key), "is out of range");
    if (k_len <= c.qk_rope_head_dim)
      m.fail(m.key(k_key), "must exceed rope.dimension_count (qk_nope + qk_rope)");
    c.qk_nope_head_dim = k_len - c.qk_rope_head_dim;
    c.v_head_dim = v_len;
    c.head_dim = k_len;
    c.num_kv_heads = c.num_heads;
  } else {
    const int64_t derived = c.hidden_size / c.num_heads;
    c.head_dim = m.int_or("attention.key_length", derived);
    if (!m.get("attention.key_length") && c.hidden_size % c.num_heads != 0)
      m.fail(m.key("attention.head_count"), "must divide embedding_length");
  }

  c.n_routed_experts = m.int_or("expert_count", 0);
  if (c.n_routed_experts > 0) {
    c.num_experts_per_tok = m.req_int("expert_used_count");
    c.moe_intermediate_size = m.int_or("expert_feed_forward_length", c.intermediate_size);
    c.n_shared_experts = m.int_or("expert_shared_count", 0);
    if (c.n_shared_experts < 0 || c.n_shared_experts > (int64_t{1} << 16))
      m.fail(m.key("expert_shared_count"), "is out of range");
    if (c.moe_intermediate_size < 0 || c.moe_intermediate_size > (int64_t{1} << 24))
      m.fail(m.key("expert_feed_forward_length"), "is out of range");
    c.shared_expert_intermediate_size = m.int_or(
        "expert_shared_feed_forward_length", c.n_shared_experts * c.moe_intermediate_size);
    c.first_k_dense_replace = m.int_or("leading_dense_block_count", 0);
    c.routed_scaling_factor = m.double_or("expert_weights_scale", 1.0);
    if (c.routed_scaling_factor == 0.0) c.routed_scaling_factor = 1.0;  // llama.cpp: 0 = unset
    // llama.cpp renormalises the top-k weights unconditionally for Mixtral and Qwen3-MoE.
    const bool norm_default = f == ArchFamily::Mixtral || f == ArchFamily::Qwen3Moe;
    c.norm_topk_prob = m.bool_or("expert_weights_norm", norm_default);
    const int64_t gating = m.int_or("expert_gating_func", 1);
    if (gating == 1) c.scoring = MoeScoring::Softmax;
    else if (gating == 2) c.scoring = MoeScoring::Sigmoid;
    else m.fail(m.key("expert_gating_func"), "must be 1 (softmax) or 2 (sigmoid)");
    c.n_group = m.int_or("expert_group_count", 1);
    c.topk_group = m.int_or("expert_group_used_count", 1);
    if (c.n_group == 0) c.n_group = 1;
    if (c.topk_group == 0) c.topk_group = 1;
    if (f == ArchFamily::DeepSeek) {
      if (c.scoring == MoeScoring::Sigmoid) c.topk_method = TopkMethod::NoauxTc;
      else if (c.n_group > 1) c.topk_method = TopkMethod::GroupLimitedGreedy;
      else c.topk_method = TopkMethod::Greedy;
    }
    c.num_nextn_predict_layers = m.int_or("nextn_predict_layers", 0);
    if (c.num_nextn_predict_layers < 0 || c.num_nextn_predict_layers > 64)
      m.fail(m.key("nextn_predict_layers"), "is out of range");
  } else if (c.n_routed_experts < 0) {
    m.fail(m.key("expert_count"), "must not be negative");
  }

  static const std::map<std::string, std::string> kKeys = {
      {"vocab_size", "vocab_size"},
      {"hidden_size", "embedding_length"},
      {"num_hidden_layers", "block_count"},
      {"num_attention_heads", "attention.head_count"},
      {"num_key_value_heads", "attention.head_count_kv"},
      {"head_dim", "attention.key_length"},
      {"intermediate_size", "feed_forward_length"},
      {"max_position_embeddings", "context_length"},
      {"rms_norm_eps", "attention.layer_norm_rms_epsilon"},
      {"rope_theta", "rope.freq_base"},
      {"rope_scaling.factor", "rope.scaling.factor"},
      {"rope_scaling.original_max_position_embeddings", "rope.scaling.original_context_length"},
      {"rope_scaling.mscale", "rope.scaling.yarn_log_multiplier"},
      {"q_lora_rank", "attention.q_lora_rank"},
      {"kv_lora_rank", "attention.kv_lora_rank"},
      {"qk_nope_head_dim", "attention.key_length"},
      {"qk_rope_head_dim", "rope.dimension_count"},
      {"v_head_dim", "attention.value_length"},
      {"n_routed_experts", "expert_count"},
      {"num_experts_per_tok", "expert_used_count"},
      {"moe_intermediate_size", "expert_feed_forward_length"},
      {"n_shared_experts", "expert_shared_count"},
      {"shared_expert_intermediate_size", "expert_shared_feed_forward_length"},
      {"first_k_dense_replace", "leading_dense_block_count"},
      {"n_group", "expert_group_count"},
      {"topk_group", "expert_group_used_count"},
      {"routed_scaling_factor", "expert_weights_scale"},
  };
  validate_config(c, source, [&arch](const std::string& field) {
    auto it = kKeys.find(field);
    return it == kKeys.end() ? field : arch + "." + it->second;
  });
  return c;
}

}  // namespace schwarm

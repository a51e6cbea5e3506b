// inspect_checkpoint: everything `schwarm inspect` shows, gathered from the io/ and model/ layers.
#include "schwarm/inspect.h"

#include <filesystem>

#include "api/inspect_tokenizer.h"
#include "core/tensor_type.h"
#include "core/utf8.h"
#include "io/checkpoint.h"
#include "model/model_config.h"
#include "runtime/kv_cache.h"
#include "schwarm/error.h"

namespace schwarm {
namespace {

// Routed-expert weights: HF "...mlp.experts.7.up_proj.weight" (DeepSeek, Qwen3-MoE, OLMoE),
// "...block_sparse_moe.experts.3.w1.weight" (Mixtral); GGUF stacks them as "blk.N.ffn_up_exps".
// Shared experts ("shared_experts", "_shexp") run for every token and are not counted here.
bool is_routed_expert(std::string_view name) {
  return name.find(".experts.") != std::string_view::npos || name.find("_exps.") != std::string_view::npos;
}

// DeepSeek-V3's fp8 checkpoints carry one scale per 128x128 block beside each weight: not a
// parameter of the model.
bool is_quant_scale(std::string_view name) {
  return name.ends_with("_scale_inv") || name.ends_with(".weight_scale") || name.ends_with(".input_scale");
}

const char* topk_method_name(TopkMethod m) {
  switch (m) {
    case TopkMethod::Greedy: return "greedy";
    case TopkMethod::GroupLimitedGreedy: return "group_limited_greedy";
    case TopkMethod::NoauxTc: return "noaux_tc";
  }
  return "?";
}

void add_hyperparameters(const ModelConfig& c, CheckpointSummary& s) {
  auto& h = s.hyperparameters;
  h.emplace_back("vocab_size", c.vocab_size);
  h.emplace_back("hidden_size", c.hidden_size);
  h.emplace_back("num_layers", c.num_layers);
  h.emplace_back("num_heads", c.num_heads);
  h.emplace_back("num_kv_heads", c.num_kv_heads);
  if (!c.mla) h.emplace_back("head_dim", c.head_dim);
  h.emplace_back("intermediate_size", c.intermediate_size);
  h.emplace_back("max_position_embeddings", c.max_position_embeddings);
  h.emplace_back("rms_norm_eps", c.rms_norm_eps);
  h.emplace_back("rope_theta", c.rope_theta);
  h.emplace_back("rope_scaling", c.rope_scaling.type);
  if (c.rope_scaling.type != "none") {
    h.emplace_back("rope_scaling.factor", c.rope_scaling.factor);
    h.emplace_back("rope_scaling.original_max_position_embeddings",
                   c.rope_scaling.original_max_position_embeddings);
  }
  if (c.rope_scaling.type == "yarn") {
    h.emplace_back("rope_scaling.mscale", c.rope_scaling.mscale);
    h.emplace_back("rope_scaling.mscale_all_dim", c.rope_scaling.mscale_all_dim);
  }
  h.emplace_back("tie_word_embeddings", c.tie_word_embeddings);
  if (c.qk_norm) h.emplace_back("qk_norm", true);
  if (c.attention_bias) h.emplace_back("attention_bias", true);
  if (c.mla) {
    h.emplace_back("q_lora_rank", c.q_lora_rank);
    h.emplace_back("kv_lora_rank", c.kv_lora_rank);
    h.emplace_back("qk_nope_head_dim", c.qk_nope_head_dim);
    h.emplace_back("qk_rope_head_dim", c.qk_rope_head_dim);
    h.emplace_back("v_head_dim", c.v_head_dim);
  }
  if (c.is_moe()) {
    h.emplace_back("n_routed_experts", c.n_routed_experts);
    h.emplace_back("n_shared_experts", c.n_shared_experts);
    h.emplace_back("num_experts_per_tok", c.num_experts_per_tok);
    h.emplace_back("moe_intermediate_size", c.moe_intermediate_size);
    h.emplace_back("first_k_dense_replace", c.first_k_dense_replace);
    h.emplace_back("n_group", c.n_group);
    h.emplace_back("topk_group", c.topk_group);
    h.emplace_back("topk_method", std::string(topk_method_name(c.topk_method)));
    h.emplace_back("scoring_func", std::string(c.scoring == MoeScoring::Sigmoid ? "sigmoid" : "softmax"));
    h.emplace_back("routed_scaling_factor", c.routed_scaling_factor);
    h.emplace_back("norm_topk_prob", c.norm_topk_prob);
  }
}

// GGUF metadata for display: scalars as they are, arrays and long strings summarised.
InspectValue metadata_value(const GgufValue& v) {
  if (const std::string* str = v.as_string()) {
    constexpr size_t kMax = 160;
    std::string text = sanitize_utf8(*str);
    if (text.size() > kMax) {
      text = sanitize_utf8(std::string_view(text).substr(0, kMax)) + "... (" +
             std::to_string(str->size()) + " bytes)";
    }
    return text;
  }
  if (const GgufArray* arr = v.as_array()) {
    return std::string("[") + gguf_value_type_name(arr->elem_type) + " x " +
           std::to_string(arr->items.size()) + "]";
  }
  if (v.type == GgufValueType::BOOL) return *v.as_bool();
  if (v.is_float()) return *v.as_double();
  if (auto i = v.as_int()) return *i;
  return std::string("(uint64 above int64 range)");
}

}  // namespace

CheckpointSummary inspect_checkpoint(const std::string& path) {
  const Checkpoint cp = Checkpoint::open(path);
  CheckpointSummary s;
  s.path = path;
  s.format = cp.format() == CheckpointFormat::Gguf ? "gguf" : "safetensors";
  s.files = cp.files();

  std::optional<ModelConfig> config;
  try {
    if (const GgufMetadata* md = cp.gguf_metadata()) {
      config = config_from_gguf(*md, path);
      s.tokenizer = summarize_gguf_tokenizer(*md);
      for (const auto& [key, value] : *md) s.metadata.emplace_back(sanitize_utf8(key), metadata_value(value));
    } else if (!cp.hf_dir().empty()) {
      s.tokenizer = summarize_hf_tokenizer(cp.hf_dir());
      const auto config_path = std::filesystem::path(cp.hf_dir()) / "config.json";
      if (std::filesystem::exists(config_path))
        config = config_from_hf_file(config_path.string());
      else
        s.config_error = "no config.json in " + cp.hf_dir();
    } else {
      s.config_error = "no config.json beside the checkpoint";
    }
  } catch (const FileError&) {
    throw;  // a malformed file: the user must hear about it
  } catch (const Error& e) {
    s.config_error = e.what();  // an unsupported or inconsistent config: still show the tensors
    config.reset();
  }
  if (config) {
    s.architecture = config->architecture;
    s.family = arch_family_name(config->family);
    add_hyperparameters(*config, s);
    s.kv_cache_bytes_per_token = kv_cache_bytes_per_token(*config);
  } else if (const GgufMetadata* md = cp.gguf_metadata()) {
    if (const GgufValue* a = find_metadata(*md, "general.architecture"); a && a->as_string())
      s.architecture = sanitize_utf8(*a->as_string());
  }

  int64_t expert_params = 0;
  for (const TensorView& t : cp.tensors()) {
    TensorSummary ts;
    ts.name = sanitize_utf8(t.name);
    ts.type = std::string(tensor_type_name(t.type));
    ts.shape = t.shape;
    ts.bytes = t.data.size();
    ts.file = t.file;
    s.tensor_bytes += ts.bytes;
    if (!is_quant_scale(t.name)) {
      s.total_params += t.numel();
      if (is_routed_expert(t.name)) expert_params += t.numel();
    }
    s.tensors.push_back(std::move(ts));
  }
  if (expert_params == 0) {
    s.active_params = s.total_params;
  } else if (config && config->n_routed_experts > 0) {
    // Every MoE layer has the same expert count and top-k, so the active share is k / n.
    const auto active_experts = static_cast<int64_t>(
        static_cast<long double>(expert_params) * config->num_experts_per_tok / config->n_routed_experts);
    s.active_params = s.total_params - expert_params + active_experts;
  }
  return s;
}

}  // namespace schwarm

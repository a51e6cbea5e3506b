#pragma once
// ModelConfig: one plain struct describing an architecture's hyperparameters, filled from a
// Hugging Face config.json or from GGUF metadata. Unknown or inconsistent input throws
// schwarm::Error naming the source and the key.
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "io/gguf_file.h"

namespace schwarm {

enum class ArchFamily { DeepSeek, Qwen3Moe, Mixtral, Olmoe, Llama, Qwen2, Qwen3 };
const char* arch_family_name(ArchFamily f);

enum class MoeScoring { Softmax, Sigmoid };
// DeepSeek's topk_method: "greedy" (plain top-k), "group_limited_greedy" (V2: best groups by max
// score), "noaux_tc" (V3: groups by sum of top-2 biased scores, e_score_correction_bias).
enum class TopkMethod { Greedy, GroupLimitedGreedy, NoauxTc };

struct RopeScaling {
  std::string type = "none";  // "none", "yarn", "linear", "dynamic", "llama3"
  double factor = 1.0;
  int64_t original_max_position_embeddings = 0;
  double beta_fast = 32.0, beta_slow = 1.0;  // yarn
  double mscale = 1.0, mscale_all_dim = 0.0;  // yarn (DeepSeek)
  double low_freq_factor = 1.0, high_freq_factor = 4.0;  // llama3
};

struct ModelConfig {
  std::string architecture;  // as the checkpoint names it: "DeepseekV3ForCausalLM", "deepseek2", ...
  std::string model_type;    // HF model_type ("deepseek_v3", "kimi_k2", ...); GGUF: general.architecture
  ArchFamily family = ArchFamily::Llama;

  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;             // q/k head dim for GQA models
  int64_t intermediate_size = 0;    // dense FFN
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;      // q/k/v bias (Qwen2)
  bool qk_norm = false;             // per-head RMSNorm on q and k (Qwen3, OLMoE)

  // MLA (DeepSeek-V2/V3). q_lora_rank 0 means no q compression (V2-Lite).
  bool mla = false;
  int64_t q_lora_rank = 0;
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0;
  int64_t qk_rope_head_dim = 0;
  int64_t v_head_dim = 0;

  // MoE. n_routed_experts 0 means a dense model.
  int64_t n_routed_experts = 0;
  int64_t n_shared_experts = 0;
  int64_t num_experts_per_tok = 0;
  int64_t moe_intermediate_size = 0;      // per routed expert
  int64_t shared_expert_intermediate_size = 0;  // total of the shared expert(s)
  int64_t first_k_dense_replace = 0;      // the first k layers use a dense FFN
  int64_t moe_layer_freq = 1;             // DeepSeek: MoE where layer % freq == 0 (and >= first_k)
  int64_t decoder_sparse_step = 1;        // Qwen3-MoE: MoE where (layer + 1) % step == 0
  std::vector<int64_t> mlp_only_layers;   // Qwen3-MoE: layers forced dense (sorted, unique)
  int64_t n_group = 1;
  int64_t topk_group = 1;
  TopkMethod topk_method = TopkMethod::Greedy;
  MoeScoring scoring = MoeScoring::Softmax;
  double routed_scaling_factor = 1.0;
  bool norm_topk_prob = false;

  // Multi-token-prediction layers shipped after the main stack (DeepSeek-V3: 1). Not part of the
  // forward pass and not counted by count_params.
  int64_t num_nextn_predict_layers = 0;
  // Checkpoint quantization (HF quantization_config): quant_method ("" when none, "fp8", ...)
  // and, for block-scaled fp8 (DeepSeek-V3, Kimi K2), the [rows, cols] scale block; {0, 0} else.
  std::string quant_method;
  std::array<int64_t, 2> fp8_block_size{0, 0};

  bool is_moe() const { return n_routed_experts > 0; }
  bool layer_is_moe(int64_t layer) const;
};

// Throws schwarm::Error("SOURCE: ...") naming the key that is missing, of the wrong type, out of
// range or inconsistent, or the architecture that is unknown.
ModelConfig config_from_hf_json(const nlohmann::json& config, const std::string& source);
ModelConfig config_from_hf_file(const std::string& config_json_path);
// GGUF carries no tie_word_embeddings key (a tied model simply lacks output.weight) and no llama3
// rope-scaling parameters (llama.cpp bakes them into a rope_freqs tensor): the caller that sees
// the tensor list may adjust those two fields.
ModelConfig config_from_gguf(const GgufMetadata& metadata, const std::string& source);

// Checks that holds for every family (positive dims, heads divisible by kv heads, top-k within
// the experts, group limits, ...) and throws Error("SOURCE: key 'K' ...") on the first failure.
// key_name maps a ModelConfig field name ("n_routed_experts") to the name the source uses for it
// ("num_local_experts", "deepseek2.expert_count"); identity when empty. Both parsers call it.
using ConfigKeyNamer = std::function<std::string(const std::string& field)>;
void validate_config(const ModelConfig& c, const std::string& source,
                     const ConfigKeyNamer& key_name = {});

// Parameter counts implied by the config: everything, and what one token touches (shared
// weights + top-k routed experts per MoE layer). Embedding and output head are included.
// Throws Error when a count does not fit in int64 (absurd sizes).
struct ParamCounts {
  int64_t total = 0;
  int64_t active = 0;
  int64_t embedding = 0;  // the input embedding alone (some publishers leave it out of "active")
};
ParamCounts count_params(const ModelConfig& c);

}  // namespace schwarm

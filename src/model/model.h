#pragma once
// A model: a config plus its weights bound to slots, and one forward pass written over Backend ops.
// One implementation per architecture family (deepseek.cpp: MLA + DeepSeekMoE; gqa.cpp later:
// Qwen3-MoE / Mixtral / OLMoE / Llama); make_model picks the family from the checkpoint's config.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "io/checkpoint.h"
#include "model/model_config.h"

namespace schwarm {

// Per-layer widths of the paged KV cache a model needs (see KvLayerCache in backend.h).
struct KvLayerSpec {
  int64_t k_width = 0;
  int64_t v_width = 0;
};

// What each layer's cache slot holds for a model of this config, in floats: MLA (DeepSeek) keeps
// the latent (kv_lora_rank) as k and the rope key (qk_rope_head_dim) as v; GQA keeps
// num_kv_heads * head_dim for k and for v. Every family's kv_layout() returns this, and the KV
// cache and `schwarm inspect` size themselves from it.
std::vector<KvLayerSpec> kv_layout_for(const ModelConfig& config);

// Called with every named intermediate when set (for layer-by-layer diffs against transformers):
// name ("embed", "layer_out", "final_norm", "logits", ...), layer (-1 when none), a row-major
// [rows, cols] buffer. "layer_out" of layer L is transformers' hidden_states[L + 1].
using DumpFn = std::function<void(const std::string& name, int64_t layer, std::span<const float> data,
                                  int64_t rows, int64_t cols)>;

struct ForwardOptions {
  // false: logits for every token of the batch, [n_tokens, vocab]. true: only each sequence's last
  // token in the batch, [n_sequences_in_batch, vocab], in the order the sequences appear.
  bool last_token_only = false;
  DumpFn dump;  // optional
};

class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelConfig& config() const = 0;
  virtual std::vector<KvLayerSpec> kv_layout() const = 0;  // one entry per layer

  // Runs tokens[batch.n_tokens] laid out by `batch` (see BatchLayout); caches[layer] must hold every
  // sequence's earlier positions. Token ids outside [0, vocab) throw Error naming the id.
  // Returns logits as described by ForwardOptions::last_token_only. A model runs one forward pass
  // at a time (its working buffers are reused: model/scratch.h).
  virtual std::vector<float> forward(const BatchLayout& batch, std::span<const int32_t> tokens,
                                     std::span<KvLayerCache> caches, Backend& backend,
                                     const ForwardOptions& options = {}) = 0;
};

// The config of a checkpoint: config.json beside a safetensors checkpoint, metadata of a GGUF.
ModelConfig config_from_checkpoint(const Checkpoint& cp);

// Binds the weights of the family the checkpoint's config names. Throws Error for a family not
// implemented yet or a missing / misshaped tensor. The model keeps a copy of cp (sharing its mapping).
std::unique_ptr<Model> make_model(const Checkpoint& cp);

// Families (one file each). Adding a family: see docs/ARCHITECTURE.md "Adding a family".
std::unique_ptr<Model> make_deepseek_model(const Checkpoint& cp, const ModelConfig& config);
std::unique_ptr<Model> make_gqa_model(const Checkpoint& cp, const ModelConfig& config);  // gqa.cpp

// The decoder stack every family shares around its own attention: checks the inputs (as
// Model::forward documents), embeds, then per layer
//   x += attention(layer, rms_norm(x, attn_norm));  x += ffn or moe(rms_norm(x, ffn_norm)),
// then the final norm and lm_head over the rows ForwardOptions asks for. Dumps "embed",
// "attn_out", "ffn_out", "layer_out", "final_norm", "logits".
struct DecoderLayer {
  const TensorView* attn_norm = nullptr;
  const TensorView* ffn_norm = nullptr;
  const FfnWeights* dense = nullptr;  // exactly one of dense / moe
  const MoeWeights* moe = nullptr;
};
struct DecoderWeights {
  const TensorView* embed = nullptr;
  const TensorView* out_norm = nullptr;
  const TensorView* lm_head = nullptr;
  const MoeSpec* moe_spec = nullptr;  // for the MoE layers
};
using LayerAttention = std::function<void(int64_t layer, std::span<const float> h, std::span<float> out)>;
std::vector<float> run_decoder(const ModelConfig& c, const DecoderWeights& w,
                               const std::function<DecoderLayer(int64_t layer)>& layer,
                               const LayerAttention& attention, const BatchLayout& batch,
                               std::span<const int32_t> tokens, size_t n_caches, Backend& be,
                               const ForwardOptions& opt);

}  // namespace schwarm

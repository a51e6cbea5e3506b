#pragma once
// What is in a checkpoint: format, architecture, hyperparameters, tokenizer, tensors and
// parameter counts. Plain data, so an app can show it however it likes; `schwarm inspect` prints
// it as a table or as JSON.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace schwarm {

using InspectValue = std::variant<int64_t, double, bool, std::string>;

struct TensorSummary {
  std::string name;           // as stored in the checkpoint (ill-formed UTF-8 replaced by U+FFFD)
  std::string type;           // "BF16", "Q4_K", "F8_E4M3", ...
  std::vector<int64_t> shape;  // outermost first (a Linear weight is {out, in})
  uint64_t bytes = 0;
  std::string file;           // the file that holds it (shards differ)
};

struct TokenizerSummary {
  bool present = false;
  std::string source;        // "tokenizer.json" or "gguf"
  std::string model;         // "BPE", "gpt2", "llama", ...
  std::string pre;           // pre-tokenizer (GGUF tokenizer.ggml.pre, or tokenizer.json's type)
  int64_t vocab_size = 0;    // all token ids, added tokens included
  int64_t merges = 0;
  int64_t added_tokens = 0;  // special/added tokens (tokenizer.json) or control tokens (GGUF)
  std::optional<int64_t> bos_id, eos_id;
  std::string bos_token, eos_token;
  bool has_chat_template = false;
};

struct CheckpointSummary {
  std::string path;
  std::string format;         // "safetensors" or "gguf"
  std::vector<std::string> files;
  std::string architecture;   // as the checkpoint names it ("DeepseekV3ForCausalLM", "deepseek2")
  std::string family;         // "deepseek", "qwen3moe", ... ("" when the config did not parse)
  std::string config_error;   // why the config could not be read ("" when it was)
  std::vector<std::pair<std::string, InspectValue>> hyperparameters;  // in a stable order
  TokenizerSummary tokenizer;
  std::vector<TensorSummary> tensors;  // in checkpoint order
  uint64_t tensor_bytes = 0;
  // Counted from the tensors themselves: every weight element except fp8 scale tensors.
  int64_t total_params = 0;
  // What one token touches: all non-expert weights + top-k of the routed experts per MoE layer.
  // Unknown (nullopt) when the checkpoint has routed experts but its config could not be read.
  std::optional<int64_t> active_params;
  // KV cache bytes per token position over all layers, f32 cache (MLA: latent + rope key; GQA:
  // 2 * num_kv_heads * head_dim per layer). Unknown (nullopt) when the config could not be read.
  std::optional<int64_t> kv_cache_bytes_per_token;
  std::vector<std::pair<std::string, InspectValue>> metadata;  // GGUF metadata (arrays summarised)
};

// Throws schwarm::Error (with the file and the problem) if the checkpoint cannot be read.
CheckpointSummary inspect_checkpoint(const std::string& path);

}  // namespace schwarm

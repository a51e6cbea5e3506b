#pragma once
// Synthetic GGUF checkpoints: random weights in the exact tensor names and shapes llama.cpp's
// converter writes for a real model (a preset from models/presets/), cut to a layer count,
// quantized by our own quantizers, with a real tokenizer vocabulary copied from a llama.cpp
// ggml-vocab-*.gguf so that llama.cpp loads the file too. Used by bench/compare_llama.py.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "io/gguf_file.h"
#include "model/model_config.h"

namespace schwarm::synth {

// A preset: the GGUF metadata of the real model (llama.cpp's key names, as config_from_gguf reads
// them) and the llama.cpp test vocabulary of its tokenizer family.
struct Preset {
  std::string name;    // "Qwen3-30B-A3B"
  std::string vocab;   // "qwen2" -> ggml-vocab-qwen2.gguf; "" for none
  GgufMetadata metadata;
};
// Throws Error("SOURCE: ...") for malformed JSON, a missing or mistyped field, a metadata value
// that is null / an object / an array, or a config that config_from_gguf refuses.
Preset parse_preset(const nlohmann::json& j, const std::string& source);
Preset load_preset(const std::string& path);

// How matrices are stored. Q4_K_M follows llama-quantize's rule for LLAMA_FTYPE_MOSTLY_Q4_K_M
// (see choose_types); the others store every quantizable matrix in that one type.
enum class Mix { F32, F16, BF16, Q8_0, Q4_0, Q4_K_M };
std::optional<Mix> mix_from_name(std::string_view name);  // "q4_k_m", "q8_0", "f16", ...
std::string_view mix_name(Mix m);

// How a tensor's values are drawn: N(0, sigma) (approximately: a sum of four uniforms), or a
// constant (norm weights are 1).
struct Init {
  float sigma = 0.0f;
  float constant = 0.0f;
};

struct PlannedTensor {
  GgufTensorInfo info;  // name, type, shape outermost-first
  Init init;
  uint64_t nbytes = 0;
};

struct Plan {
  GgufMetadata metadata;  // what the file holds, vocabulary included
  ModelConfig config;     // config_from_gguf(metadata)
  std::vector<PlannedTensor> tensors;
  uint64_t data_bytes = 0;  // the tensor data, padded (the header adds a few MB at most)
};

struct Options {
  int64_t layers = 0;  // 0: the preset's block_count; else 1..block_count
  Mix mix = Mix::Q8_0;
  uint64_t seed = 1;
};

// The tokenizer keys (tokenizer.*) of a llama.cpp vocab file, fitted to vocab_size: a shorter
// token list is padded with "[PAD<i>]" tokens of type UNUSED (as llama.cpp's converter pads), a
// longer one is cut, which is allowed only when every dropped token is such a padding token and
// no special-token id points past the end. Throws Error naming the file otherwise.
GgufMetadata vocab_metadata(const GgufMetadata& vocab_file, int64_t vocab_size, const std::string& source);

// Every tensor llama.cpp's loader wants for the preset's architecture (deepseek2 with split
// attn_k_b / attn_v_b, qwen3moe, llama with experts (Mixtral), olmoe), with its type under `mix`.
// `vocab` is the output of vocab_metadata, or empty. Throws Error for an unsupported architecture,
// an invalid config, or sizes that overflow.
Plan make_plan(const Preset& preset, const Options& options, const GgufMetadata& vocab);

// llama-quantize's type rule for a mix, applied to the planned tensors in file order.
void choose_types(std::vector<PlannedTensor>& tensors, Mix mix, const ModelConfig& config);

// Draws every tensor (seeded per tensor name and row chunk, so the bytes do not depend on the
// thread count), quantizes it and streams it to `path` (PATH.tmp, then renamed). `progress` is
// called after each tensor with (done bytes, total bytes).
using Progress = std::function<void(uint64_t done, uint64_t total)>;
void write_plan(const Plan& plan, const std::string& path, uint64_t seed, int threads, const Progress& progress = {});

}  // namespace schwarm::synth

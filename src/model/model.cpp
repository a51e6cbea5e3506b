// Model registry: config from a checkpoint, family -> implementation.
#include "model/model.h"

#include <filesystem>

#include "schwarm/error.h"

namespace schwarm {

ModelConfig config_from_checkpoint(const Checkpoint& cp) {
  if (const GgufMetadata* md = cp.gguf_metadata()) {
    ModelConfig c = config_from_gguf(*md, cp.path());
    // GGUF has no tie_word_embeddings key: a tied model simply lacks output.weight.
    if (!cp.find_tensor("output.weight")) c.tie_word_embeddings = true;
    return c;
  }
  if (cp.hf_dir().empty()) throw FileError(cp.path(), "no config.json beside the checkpoint");
  const auto path = std::filesystem::path(cp.hf_dir()) / "config.json";
  if (!std::filesystem::exists(path)) throw FileError(cp.path(), "no config.json in " + cp.hf_dir());
  return config_from_hf_file(path.string());
}

std::unique_ptr<Model> make_model(const Checkpoint& cp) {
  const ModelConfig c = config_from_checkpoint(cp);
  switch (c.family) {
    case ArchFamily::DeepSeek:
      return make_deepseek_model(cp, c);
    case ArchFamily::Qwen3Moe:
    case ArchFamily::Mixtral:
    case ArchFamily::Olmoe:
    case ArchFamily::Llama:
    case ArchFamily::Qwen2:
    case ArchFamily::Qwen3:
      return make_gqa_model(cp, c);
  }
  throw Error(cp.path() + ": architecture '" + c.architecture + "' has no forward pass");
}

}  // namespace schwarm

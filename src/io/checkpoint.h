#pragma once
// One entry point for every checkpoint a user can point at: a Hugging Face directory
// (config.json + *.safetensors, sharded or not), a single .safetensors file, or a .gguf file.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/gguf_file.h"
#include "io/safetensors_file.h"
#include "io/tensor_view.h"

namespace schwarm {

enum class CheckpointFormat { Safetensors, Gguf };

class Checkpoint {
 public:
  // Throws FileError naming the path when it does not exist, is not a checkpoint, or is malformed.
  static Checkpoint open(const std::string& path);

  CheckpointFormat format() const { return gguf_ ? CheckpointFormat::Gguf : CheckpointFormat::Safetensors; }
  const std::string& path() const { return path_; }
  const std::vector<std::string>& files() const { return files_; }
  const std::vector<TensorView>& tensors() const;
  const TensorView* find_tensor(std::string_view name) const;

  // GGUF metadata; nullptr for safetensors checkpoints.
  const GgufMetadata* gguf_metadata() const { return gguf_ ? &gguf_->metadata() : nullptr; }
  // The directory holding config.json / tokenizer.json for safetensors checkpoints ("" if none).
  const std::string& hf_dir() const { return hf_dir_; }

 private:
  std::string path_;
  std::string hf_dir_;
  std::vector<std::string> files_;
  std::shared_ptr<GgufFile> gguf_;
  std::shared_ptr<SafetensorsCheckpoint> safetensors_;
};

}  // namespace schwarm

#pragma once
// safetensors: single files and sharded checkpoints (model.safetensors.index.json). Headers are
// validated before use; tensor views point into the memory mappings (no copies).
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"
#include "io/tensor_view.h"

namespace schwarm {

struct SafetensorsContents {
  std::map<std::string, std::string> metadata;  // the "__metadata__" entry (string -> string)
  std::vector<TensorView> tensors;              // sorted by data offset
  const TensorView* find_tensor(std::string_view name) const;
};

// Parses a whole safetensors image held in memory: the 8-byte header length, the JSON header,
// dtypes, shapes, data_offsets (in range, non-overlapping, matching dtype x shape). Problems throw
// FileError(path, what is wrong). Views point into `bytes`, which must outlive the result.
SafetensorsContents parse_safetensors(std::span<const uint8_t> bytes, const std::string& path);

// All tensors of one checkpoint: a single .safetensors file, or a directory holding either
// model.safetensors.index.json (shards) or *.safetensors files.
class SafetensorsCheckpoint {
 public:
  static SafetensorsCheckpoint open(const std::string& path);  // file or directory
  const std::vector<TensorView>& tensors() const { return tensors_; }  // sorted by name
  const TensorView* find_tensor(std::string_view name) const;
  const std::vector<std::string>& files() const { return files_; }

 private:
  std::vector<std::shared_ptr<MappedFile>> mappings_;
  std::vector<std::string> files_;
  std::vector<TensorView> tensors_;
};

}  // namespace schwarm

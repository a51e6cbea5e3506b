#pragma once
// GGUF v2/v3: reader (validated, tensor views into the mapping, no copies) and writer.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/mapped_file.h"
#include "io/gguf_value.h"
#include "io/tensor_view.h"

namespace schwarm {

constexpr uint32_t kGgufMaxDims = 4;           // GGML's limit on n_dims
constexpr int kGgufMaxArrayDepth = 8;          // arrays of arrays, at most this deep
constexpr uint64_t kGgufMaxValues = 1ull << 27;  // metadata values (array elements) per file

// Metadata in file order (GGUF keys are unique; the reader rejects duplicates).
using GgufMetadata = std::vector<std::pair<std::string, GgufValue>>;
const GgufValue* find_metadata(const GgufMetadata& md, std::string_view key);

struct GgufContents {
  uint32_t version = 3;
  uint64_t alignment = 32;    // general.alignment, or 32
  uint64_t data_offset = 0;   // start of the tensor data section
  GgufMetadata metadata;
  std::vector<TensorView> tensors;  // in file order; shape outermost-first; data inside the bytes
  const TensorView* find_tensor(std::string_view name) const;
};

// Parses a whole GGUF image held in memory. Every count, length, offset and size is checked
// against the bytes before use; problems throw FileError(path, what is wrong). The views point
// into `bytes`, which must outlive the result.
GgufContents parse_gguf(std::span<const uint8_t> bytes, const std::string& path);

// A GGUF file mapped into memory and parsed.
class GgufFile {
 public:
  static GgufFile open(const std::string& path);  // throws FileError
  const GgufContents& contents() const { return contents_; }
  const GgufMetadata& metadata() const { return contents_.metadata; }
  const std::vector<TensorView>& tensors() const { return contents_.tensors; }
  const std::string& path() const { return file_->path(); }

 private:
  std::shared_ptr<MappedFile> file_;
  GgufContents contents_;
};

// Builds a GGUF v3 file. Tensors are written in the order added; shapes outermost-first.
class GgufWriter {
 public:
  explicit GgufWriter(uint64_t alignment = 32);
  void set(std::string key, GgufValue value);  // replaces an existing key
  // `data` must be exactly tensor_nbytes(type, shape) bytes; it is copied.
  void add_tensor(std::string name, TensorType type, std::vector<int64_t> shape,
                  std::span<const uint8_t> data);
  // Writes to PATH.tmp, then renames over PATH, so a failed write never leaves half a file.
  void write(const std::string& path) const;
  std::vector<uint8_t> serialize() const;

 private:
  struct PendingTensor {
    std::string name;
    TensorType type;
    std::vector<int64_t> shape;
    std::vector<uint8_t> data;
  };
  uint64_t alignment_;
  GgufMetadata metadata_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace schwarm

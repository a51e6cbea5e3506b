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

// A tensor's entry in a GGUF header: name, type, shape outermost-first.
struct GgufTensorInfo {
  std::string name;
  TensorType type;
  std::vector<int64_t> shape;
};

// Checks that `t` can be stored in a GGUF file (a GGUF type, at most 4 dims, whole blocks, no
// overflow) and returns its byte size; throws Error naming the tensor otherwise.
uint64_t gguf_tensor_nbytes(const GgufTensorInfo& t);

// Writes a GGUF v3 file whose tensor data arrives piece by piece, so a file larger than memory
// can be made: the header (metadata in the given order; alignment from general.alignment, else
// 32) is written when the writer is made; then append() takes the tensors' bytes in the order
// declared, in as many pieces as wanted; finish() checks every byte arrived, fsyncs and renames
// PATH.tmp over PATH. A writer dropped before finish() removes PATH.tmp.
class GgufStreamWriter {
 public:
  GgufStreamWriter(std::string path, const GgufMetadata& metadata, std::vector<GgufTensorInfo> tensors);
  ~GgufStreamWriter();
  GgufStreamWriter(const GgufStreamWriter&) = delete;
  GgufStreamWriter& operator=(const GgufStreamWriter&) = delete;

  void append(std::span<const uint8_t> bytes);
  void finish();
  uint64_t total_bytes() const { return total_; }  // the size the finished file will have

 private:
  void put(std::span<const uint8_t> bytes);
  void pad_current();
  [[noreturn]] void fail(const std::string& what, int err);
  std::string path_, tmp_;
  int fd_ = -1;
  uint64_t alignment_ = 32;
  std::vector<GgufTensorInfo> tensors_;
  std::vector<uint64_t> sizes_;
  size_t current_ = 0;      // the tensor append() fills
  uint64_t filled_ = 0;     // bytes of it so far
  uint64_t total_ = 0;
};

// Builds a GGUF v3 file in memory. Tensors are written in the order added; shapes outermost-first.
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

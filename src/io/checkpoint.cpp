#include "io/checkpoint.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "schwarm/error.h"

namespace schwarm {
namespace fs = std::filesystem;

namespace {

bool starts_with_gguf_magic(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

bool dir_has_safetensors(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".safetensors") return true;
  return false;
}

}  // namespace

Checkpoint Checkpoint::open(const std::string& path) {
  std::error_code ec;
  const fs::path p(path);
  if (!fs::exists(p, ec)) throw FileError(path, "no such file or directory");
  Checkpoint cp;
  cp.path_ = path;
  if (fs::is_directory(p, ec)) {
    if (!dir_has_safetensors(p)) {
      throw FileError(path, "not a checkpoint directory: it holds no *.safetensors files "
                            "(expected config.json + *.safetensors, or pass a .gguf file)");
    }
    cp.safetensors_ = std::make_shared<SafetensorsCheckpoint>(SafetensorsCheckpoint::open(path));
    cp.files_ = cp.safetensors_->files();
    cp.hf_dir_ = path;
    return cp;
  }
  if (!fs::is_regular_file(p, ec)) throw FileError(path, "not a regular file or directory");
  if (starts_with_gguf_magic(p)) {
    cp.gguf_ = std::make_shared<GgufFile>(GgufFile::open(path));
    cp.files_ = {path};
    return cp;
  }
  if (p.extension() == ".safetensors") {
    cp.safetensors_ = std::make_shared<SafetensorsCheckpoint>(SafetensorsCheckpoint::open(path));
    cp.files_ = cp.safetensors_->files();
    // A lone .safetensors file still gets its config and tokenizer when they sit beside it.
    const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    if (fs::exists(dir / "config.json", ec)) cp.hf_dir_ = dir.string();
    return cp;
  }
  throw FileError(path, "unknown checkpoint format: neither GGUF (magic 'GGUF') nor a "
                        ".safetensors file or a directory of them");
}

const std::vector<TensorView>& Checkpoint::tensors() const {
  return gguf_ ? gguf_->tensors() : safetensors_->tensors();
}

const TensorView* Checkpoint::find_tensor(std::string_view name) const {
  return gguf_ ? gguf_->contents().find_tensor(name) : safetensors_->find_tensor(name);
}

}  // namespace schwarm

#pragma once
// A read-only memory mapping of a whole file. Views into it stay valid while it lives.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace schwarm {

class MappedFile {
 public:
  // Throws FileError (path + reason) if the file cannot be opened or mapped.
  explicit MappedFile(std::string path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;

  const std::string& path() const { return path_; }
  size_t size() const { return size_; }
  const uint8_t* data() const { return data_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  // Drops the whole pages inside `bytes` (part of a file mapping) from this process's memory; a
  // later read pages them in again from the file. For weights a backend keeps its own copy of.
  static void release_pages(std::span<const uint8_t> bytes);

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace schwarm

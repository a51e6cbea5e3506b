// GGUF v3 writer: metadata in insertion order, tensor data aligned, atomic write (tmp + rename).
#include <fcntl.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "io/gguf_file.h"
#include "schwarm/error.h"

namespace schwarm {

namespace {

class Out {
 public:
  std::vector<uint8_t> bytes;
  template <typename T>
  void put(T v) {
    const size_t at = bytes.size();
    bytes.resize(at + sizeof(T));
    std::memcpy(bytes.data() + at, &v, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void pad_to(uint64_t alignment) {
    bytes.resize((bytes.size() + alignment - 1) / alignment * alignment, 0);
  }
  void put_value(const GgufValue& v, const std::string& key) {
    if (v.value.index() != static_cast<size_t>(v.type))
      throw Error("GGUF metadata key '" + key + "': value type tag does not match its value");
    std::visit(
        [&](const auto& x) {
          using X = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<X, std::string>) {
            put_string(x);
          } else if constexpr (std::is_same_v<X, GgufArray>) {
            put<uint32_t>(static_cast<uint32_t>(x.elem_type));
            put<uint64_t>(x.items.size());
            for (const GgufValue& item : x.items) {
              if (item.type != x.elem_type)
                throw Error("GGUF metadata key '" + key + "': array of " +
                            gguf_value_type_name(x.elem_type) + " holds a " +
                            gguf_value_type_name(item.type));
              put_value(item, key);
            }
          } else if constexpr (std::is_same_v<X, bool>) {
            put<uint8_t>(x ? 1 : 0);
          } else {
            put<X>(x);
          }
        },
        v.value);
  }
};

void check_alignment(uint64_t a) {
  if (a == 0 || !std::has_single_bit(a) || a > UINT32_MAX)
    throw Error("GGUF alignment " + std::to_string(a) +
                " must be a nonzero power of two that fits 32 bits");
}

}  // namespace

GgufWriter::GgufWriter(uint64_t alignment) : alignment_(alignment) {
  check_alignment(alignment);
  if (alignment != 32)
    metadata_.emplace_back("general.alignment", GgufValue::u32(static_cast<uint32_t>(alignment)));
}

void GgufWriter::set(std::string key, GgufValue value) {
  if (key == "general.alignment") {
    const auto* u = std::get_if<uint32_t>(&value.value);
    if (!u || value.type != GgufValueType::UINT32)
      throw Error("GGUF metadata key 'general.alignment' must be a UINT32");
    check_alignment(*u);
    alignment_ = *u;
  }
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(std::move(key), std::move(value));
}

void GgufWriter::add_tensor(std::string name, TensorType type, std::vector<int64_t> shape,
                            std::span<const uint8_t> data) {
  const TypeTraits* tt = find_type_traits(type);
  if (!tt || !tt->in_gguf)
    throw Error("GGUF tensor '" + name + "': type " + std::string(tensor_type_name(type)) +
                " cannot be stored in a GGUF file");
  if (shape.size() > kGgufMaxDims)
    throw Error("GGUF tensor '" + name + "': " + std::to_string(shape.size()) +
                " dimensions (GGUF allows at most " + std::to_string(kGgufMaxDims) + ")");
  for (const PendingTensor& t : tensors_)
    if (t.name == name) throw Error("GGUF tensor '" + name + "' added twice");
  const auto nbytes = tensor_nbytes(type, shape);
  if (!nbytes)
    throw Error("GGUF tensor '" + name + "': invalid shape for type " +
                std::string(tt->name) + " (negative, overflowing or not whole blocks)");
  if (*nbytes != data.size())
    throw Error("GGUF tensor '" + name + "': data is " + std::to_string(data.size()) +
                " bytes, but a " + std::string(tt->name) + " tensor of this shape needs " +
                std::to_string(*nbytes));
  tensors_.push_back({std::move(name), type, std::move(shape), {data.begin(), data.end()}});
}

std::vector<uint8_t> GgufWriter::serialize() const {
  Out o;
  o.bytes.reserve(4096);
  o.put<uint32_t>(0x46554747u);  // "GGUF" read as a little-endian uint32
  o.put<uint32_t>(3);
  o.put<uint64_t>(tensors_.size());
  o.put<uint64_t>(metadata_.size());
  for (const auto& [k, v] : metadata_) {
    o.put_string(k);
    o.put<uint32_t>(static_cast<uint32_t>(v.type));
    o.put_value(v, k);
  }
  uint64_t offset = 0;
  for (const PendingTensor& t : tensors_) {
    o.put_string(t.name);
    o.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) o.put<int64_t>(*it);
    o.put<uint32_t>(static_cast<uint32_t>(t.type));
    o.put<uint64_t>(offset);
    offset += (t.data.size() + alignment_ - 1) / alignment_ * alignment_;
  }
  o.pad_to(alignment_);
  for (const PendingTensor& t : tensors_) {
    o.bytes.insert(o.bytes.end(), t.data.begin(), t.data.end());
    o.pad_to(alignment_);
  }
  return o.bytes;
}

void GgufWriter::write(const std::string& path) const {
  const std::vector<uint8_t> bytes = serialize();
  const std::string tmp = path + ".tmp";
  auto fail = [&](const std::string& what, int err) {
    std::remove(tmp.c_str());
    throw FileError(path, what + " " + tmp + ": " + std::strerror(err));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    throw FileError(path, "cannot create " + tmp + ": " + std::strerror(err));
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      fail("cannot write", err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    fail("cannot sync", err);
  }
  if (::close(fd) != 0) fail("cannot close", errno);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw FileError(path, "cannot rename " + tmp + " to it: " + std::strerror(err));
  }
}

}  // namespace schwarm

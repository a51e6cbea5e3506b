// GGUF v3 writer: metadata in insertion order, tensor data aligned, atomic write (tmp + rename).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
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

uint64_t padded(uint64_t n, uint64_t alignment) { return (n + alignment - 1) / alignment * alignment; }

uint64_t alignment_of(const GgufMetadata& md) {
  const GgufValue* v = find_metadata(md, "general.alignment");
  if (!v) return 32;
  const auto* u = std::get_if<uint32_t>(&v->value);
  if (!u || v->type != GgufValueType::UINT32)
    throw Error("GGUF metadata key 'general.alignment' must be a UINT32");
  check_alignment(*u);
  return *u;
}

// Everything before the tensor data: magic, counts, metadata, tensor infos, padding.
std::vector<uint8_t> header_bytes(const GgufMetadata& md, const std::vector<GgufTensorInfo>& tensors,
                                  const std::vector<uint64_t>& sizes, uint64_t alignment) {
  Out o;
  o.bytes.reserve(4096);
  o.put<uint32_t>(0x46554747u);  // "GGUF" read as a little-endian uint32
  o.put<uint32_t>(3);
  o.put<uint64_t>(tensors.size());
  o.put<uint64_t>(md.size());
  for (const auto& [k, v] : md) {
    o.put_string(k);
    o.put<uint32_t>(static_cast<uint32_t>(v.type));
    o.put_value(v, k);
  }
  uint64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const GgufTensorInfo& t = tensors[i];
    o.put_string(t.name);
    o.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) o.put<int64_t>(*it);
    o.put<uint32_t>(static_cast<uint32_t>(t.type));
    o.put<uint64_t>(offset);
    offset += padded(sizes[i], alignment);
  }
  o.pad_to(alignment);
  return o.bytes;
}

}  // namespace

uint64_t gguf_tensor_nbytes(const GgufTensorInfo& t) {
  const TypeTraits* tt = find_type_traits(t.type);
  if (!tt || !tt->in_gguf)
    throw Error("GGUF tensor '" + t.name + "': type " + std::string(tensor_type_name(t.type)) +
                " cannot be stored in a GGUF file");
  if (t.shape.size() > kGgufMaxDims)
    throw Error("GGUF tensor '" + t.name + "': " + std::to_string(t.shape.size()) +
                " dimensions (GGUF allows at most " + std::to_string(kGgufMaxDims) + ")");
  const auto nbytes = tensor_nbytes(t.type, t.shape);
  if (!nbytes)
    throw Error("GGUF tensor '" + t.name + "': invalid shape for type " + std::string(tt->name) +
                " (negative, overflowing or not whole blocks)");
  return *nbytes;
}

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
  for (const PendingTensor& t : tensors_)
    if (t.name == name) throw Error("GGUF tensor '" + name + "' added twice");
  const uint64_t nbytes = gguf_tensor_nbytes({name, type, shape});
  if (nbytes != data.size())
    throw Error("GGUF tensor '" + name + "': data is " + std::to_string(data.size()) +
                " bytes, but a " + std::string(type_traits(type).name) +
                " tensor of this shape needs " + std::to_string(nbytes));
  tensors_.push_back({std::move(name), type, std::move(shape), {data.begin(), data.end()}});
}

std::vector<uint8_t> GgufWriter::serialize() const {
  std::vector<GgufTensorInfo> infos;
  std::vector<uint64_t> sizes;
  for (const PendingTensor& t : tensors_) {
    infos.push_back({t.name, t.type, t.shape});
    sizes.push_back(t.data.size());
  }
  Out o;
  o.bytes = header_bytes(metadata_, infos, sizes, alignment_);
  for (const PendingTensor& t : tensors_) {
    o.bytes.insert(o.bytes.end(), t.data.begin(), t.data.end());
    o.pad_to(alignment_);
  }
  return o.bytes;
}

void GgufWriter::write(const std::string& path) const {
  std::vector<GgufTensorInfo> infos;
  for (const PendingTensor& t : tensors_) infos.push_back({t.name, t.type, t.shape});
  GgufStreamWriter out(path, metadata_, std::move(infos));
  for (const PendingTensor& t : tensors_) out.append(t.data);
  out.finish();
}

GgufStreamWriter::GgufStreamWriter(std::string path, const GgufMetadata& metadata,
                                   std::vector<GgufTensorInfo> tensors)
    : path_(std::move(path)), tmp_(path_ + ".tmp"), alignment_(alignment_of(metadata)),
      tensors_(std::move(tensors)) {
  for (size_t i = 0; i < tensors_.size(); ++i) {
    for (size_t j = 0; j < i; ++j)
      if (tensors_[j].name == tensors_[i].name)
        throw Error("GGUF tensor '" + tensors_[i].name + "' added twice");
    sizes_.push_back(gguf_tensor_nbytes(tensors_[i]));
  }
  const std::vector<uint8_t> header = header_bytes(metadata, tensors_, sizes_, alignment_);
  total_ = header.size();
  for (uint64_t s : sizes_) total_ += padded(s, alignment_);
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    const int err = errno;
    throw FileError(path_, "cannot create " + tmp_ + ": " + std::strerror(err));
  }
  put(header);
}

GgufStreamWriter::~GgufStreamWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    std::remove(tmp_.c_str());
  }
}

void GgufStreamWriter::fail(const std::string& what, int err) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  std::remove(tmp_.c_str());
  throw FileError(path_, what + " " + tmp_ + ": " + std::strerror(err));
}

void GgufStreamWriter::put(std::span<const uint8_t> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write", errno);
    }
    done += static_cast<size_t>(n);
  }
}

void GgufStreamWriter::pad_current() {
  static constexpr uint8_t kZeros[256] = {};
  uint64_t pad = padded(sizes_[current_], alignment_) - sizes_[current_];
  while (pad > 0) {
    const uint64_t n = std::min<uint64_t>(pad, sizeof kZeros);
    put({kZeros, static_cast<size_t>(n)});
    pad -= n;
  }
}

void GgufStreamWriter::append(std::span<const uint8_t> bytes) {
  if (fd_ < 0) throw Error(path_ + ": GGUF stream writer is closed");
  while (!bytes.empty()) {
    if (current_ >= tensors_.size())
      throw Error(path_ + ": more tensor data appended than the " + std::to_string(tensors_.size()) +
                  " declared tensors hold");
    const uint64_t n = std::min<uint64_t>(bytes.size(), sizes_[current_] - filled_);
    put(bytes.first(static_cast<size_t>(n)));
    bytes = bytes.subspan(static_cast<size_t>(n));
    filled_ += n;
    // A zero-byte tensor is complete at once; so is one whose last byte just arrived.
    while (current_ < tensors_.size() && filled_ == sizes_[current_]) {
      pad_current();
      ++current_;
      filled_ = 0;
    }
  }
}

void GgufStreamWriter::finish() {
  if (fd_ < 0) throw Error(path_ + ": GGUF stream writer is closed");
  while (current_ < tensors_.size() && sizes_[current_] == 0 && filled_ == 0) {
    pad_current();
    ++current_;
  }
  if (current_ != tensors_.size())
    throw Error(path_ + ": tensor '" + tensors_[current_].name + "' has " + std::to_string(filled_) +
                " of its " + std::to_string(sizes_[current_]) + " bytes (finish before all data arrived)");
  if (::fsync(fd_) != 0) fail("cannot sync", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const int err = errno;
    std::remove(tmp_.c_str());
    throw FileError(path_, "cannot close " + tmp_ + ": " + std::strerror(err));
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp_.c_str());
    throw FileError(path_, "cannot rename " + tmp_ + " to it: " + std::strerror(err));
  }
}

}  // namespace schwarm

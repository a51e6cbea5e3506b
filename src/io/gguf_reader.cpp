// GGUF reader: every count, length and offset is checked against the bytes left before it is
// used, so a hostile or truncated file gives a FileError naming what is wrong, never UB.
#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <string>
#include <unordered_set>

#include "io/gguf_file.h"
#include "schwarm/error.h"

namespace schwarm {

static_assert(std::endian::native == std::endian::little,
              "the GGUF reader assumes a little-endian host");

namespace {

std::string quoted(std::string_view s) {
  // Names come from the file: keep them short and printable in messages.
  std::string out = "'";
  size_t n = 0;
  for (char c : s) {
    if (++n > 80) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Minimum encoded size of one value of a type (for checking counts against bytes left).
uint64_t min_value_bytes(GgufValueType t) {
  switch (t) {
    case GgufValueType::UINT8: case GgufValueType::INT8: case GgufValueType::BOOL: return 1;
    case GgufValueType::UINT16: case GgufValueType::INT16: return 2;
    case GgufValueType::UINT32: case GgufValueType::INT32: case GgufValueType::FLOAT32: return 4;
    case GgufValueType::UINT64: case GgufValueType::INT64: case GgufValueType::FLOAT64: return 8;
    case GgufValueType::STRING: return 8;   // length
    case GgufValueType::ARRAY: return 12;   // element type + count
  }
  return 1;
}

bool valid_value_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufValueType::FLOAT64); }

class Reader {
 public:
  Reader(std::span<const uint8_t> bytes, const std::string& path) : b_(bytes), path_(path) {}

  [[noreturn]] void fail(const std::string& problem) const { throw FileError(path_, problem); }

  uint64_t pos() const { return pos_; }
  uint64_t left() const { return b_.size() - pos_; }

  void need(uint64_t n, const std::string& what) const {
    if (n > left())
      fail("truncated: " + what + " at offset " + std::to_string(pos_) + " needs " +
           std::to_string(n) + " bytes, but the file has only " + std::to_string(left()) +
           " left (file size " + std::to_string(b_.size()) + ")");
  }

  template <typename T>
  T get(const std::string& what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string get_string(const std::string& what) {
    const uint64_t at = pos_;
    const auto len = get<uint64_t>(what + " length");
    if (len > left())
      fail(what + ": string length " + std::to_string(len) + " at offset " + std::to_string(at) +
           " exceeds the " + std::to_string(left()) + " bytes left in the file");
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), static_cast<size_t>(len));
    pos_ += len;
    return s;
  }

  GgufValue get_value(GgufValueType t, const std::string& what, int depth) {
    switch (t) {
      case GgufValueType::UINT8: return GgufValue::u8(get<uint8_t>(what));
      case GgufValueType::INT8: return GgufValue::i8(get<int8_t>(what));
      case GgufValueType::UINT16: return GgufValue::u16(get<uint16_t>(what));
      case GgufValueType::INT16: return GgufValue::i16(get<int16_t>(what));
      case GgufValueType::UINT32: return GgufValue::u32(get<uint32_t>(what));
      case GgufValueType::INT32: return GgufValue::i32(get<int32_t>(what));
      case GgufValueType::FLOAT32: return GgufValue::f32(get<float>(what));
      case GgufValueType::BOOL: return GgufValue::boolean(get<uint8_t>(what) != 0);
      case GgufValueType::STRING: return GgufValue::str(get_string(what));
      case GgufValueType::UINT64: return GgufValue::u64(get<uint64_t>(what));
      case GgufValueType::INT64: return GgufValue::i64(get<int64_t>(what));
      case GgufValueType::FLOAT64: return GgufValue::f64(get<double>(what));
      case GgufValueType::ARRAY: return GgufValue::array(get_array(what, depth + 1));
    }
    fail(what + ": unknown value type " + std::to_string(static_cast<uint32_t>(t)));
  }

  GgufArray get_array(const std::string& what, int depth) {
    if (depth > kGgufMaxArrayDepth)
      fail(what + ": arrays nested more than " + std::to_string(kGgufMaxArrayDepth) +
           " deep at offset " + std::to_string(pos_));
    const uint64_t at = pos_;
    const auto et = get<uint32_t>(what + " array element type");
    if (!valid_value_type(et))
      fail(what + ": unknown array element type " + std::to_string(et) + " at offset " +
           std::to_string(at));
    GgufArray arr;
    arr.elem_type = static_cast<GgufValueType>(et);
    const auto count = get<uint64_t>(what + " array count");
    const uint64_t min = min_value_bytes(arr.elem_type);
    if (count > left() / min)
      fail(what + ": array count " + std::to_string(count) + " at offset " +
           std::to_string(at + 4) + " needs at least " + std::to_string(min) +
           " bytes per element, more than the " + std::to_string(left()) + " bytes left");
    if (count > kGgufMaxValues - values_)
      fail(what + ": array count " + std::to_string(count) + " at offset " +
           std::to_string(at + 4) + " exceeds the limit of " + std::to_string(kGgufMaxValues) +
           " metadata values in all");
    values_ += count;
    arr.items.reserve(static_cast<size_t>(count));
    static constexpr std::string_view kElem = " array element";
    std::string elem = what;
    if (!elem.ends_with(kElem)) elem.append(kElem);
    for (uint64_t i = 0; i < count; ++i) arr.items.push_back(get_value(arr.elem_type, elem, depth));
    return arr;
  }

 private:
  std::span<const uint8_t> b_;
  const std::string& path_;
  uint64_t pos_ = 0;
  uint64_t values_ = 0;
};

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

const GgufValue* find_metadata(const GgufMetadata& md, std::string_view key) {
  for (const auto& [k, v] : md)
    if (k == key) return &v;
  return nullptr;
}

const TensorView* GgufContents::find_tensor(std::string_view name) const {
  for (const TensorView& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

GgufContents parse_gguf(std::span<const uint8_t> bytes, const std::string& path) {
  Reader r(bytes, path);
  GgufContents c;

  // ---- header
  if (bytes.size() < 4 || std::memcmp(bytes.data(), "GGUF", 4) != 0) {
    std::string got;
    for (size_t i = 0; i < std::min<size_t>(4, bytes.size()); ++i) {
      const char ch = static_cast<char>(bytes[i]);
      got += (ch >= 0x20 && ch < 0x7f) ? std::string(1, ch) : "\\x" + std::to_string(bytes[i]);
    }
    r.fail("not a GGUF file: bad magic '" + got + "' (expected 'GGUF')" +
           (bytes.size() < 4 ? " (file is only " + std::to_string(bytes.size()) + " bytes)" : ""));
  }
  r.get<uint32_t>("magic");
  const auto version = r.get<uint32_t>("version");
  if (version == 1)
    r.fail("unsupported GGUF version 1 (only versions 2 and 3 are supported)");
  if (version != 2 && version != 3) {
    const uint32_t swapped = __builtin_bswap32(version);
    if (swapped >= 1 && swapped <= 3)
      r.fail("big-endian GGUF file (version bytes read as " + std::to_string(version) +
             ", byte-swapped " + std::to_string(swapped) +
             "); only little-endian GGUF files are supported");
    r.fail("unsupported GGUF version " + std::to_string(version) +
           " (only versions 2 and 3 are supported)");
  }
  c.version = version;
  const auto n_tensors = r.get<uint64_t>("tensor count");
  const auto n_kv = r.get<uint64_t>("metadata key/value count");
  constexpr uint64_t kMinKv = 8 + 4 + 1;       // key length, value type, smallest value
  constexpr uint64_t kMinTensor = 8 + 4 + 4 + 8;  // name length, n_dims, type, offset
  if (n_kv > r.left() / kMinKv)
    r.fail("metadata key/value count " + std::to_string(n_kv) +
           " (offset 16) cannot fit in the " + std::to_string(r.left()) + " bytes after the header");
  if (n_tensors > r.left() / kMinTensor)
    r.fail("tensor count " + std::to_string(n_tensors) + " (offset 8) cannot fit in the " +
           std::to_string(r.left()) + " bytes after the header");

  // ---- metadata
  std::unordered_set<std::string> keys;
  c.metadata.reserve(static_cast<size_t>(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    const uint64_t at = r.pos();
    const std::string label = "metadata key #" + std::to_string(i) + " at offset " +
                              std::to_string(at);
    std::string key = r.get_string(label);
    const std::string what = "metadata key " + quoted(key);
    if (!keys.insert(key).second)
      r.fail("duplicate " + what + " (entry #" + std::to_string(i) + " at offset " +
             std::to_string(at) + ")");
    const uint64_t type_at = r.pos();
    const auto type = r.get<uint32_t>(what + " value type");
    if (!valid_value_type(type))
      r.fail(what + ": unknown value type " + std::to_string(type) + " at offset " +
             std::to_string(type_at));
    GgufValue v = r.get_value(static_cast<GgufValueType>(type), what, 0);
    c.metadata.emplace_back(std::move(key), std::move(v));
  }

  if (const GgufValue* a = find_metadata(c.metadata, "general.alignment")) {
    const auto* u = std::get_if<uint32_t>(&a->value);
    if (!u)
      r.fail(std::string("metadata key 'general.alignment' must be UINT32, not ") +
             gguf_value_type_name(a->type));
    if (*u == 0 || !std::has_single_bit(*u))
      r.fail("metadata key 'general.alignment' is " + std::to_string(*u) +
             "; it must be a nonzero power of two");
    c.alignment = *u;
  }

  // ---- tensor infos
  struct Info {
    uint64_t offset, nbytes;
  };
  std::vector<Info> infos;
  infos.reserve(static_cast<size_t>(n_tensors));
  c.tensors.reserve(static_cast<size_t>(n_tensors));
  std::unordered_set<std::string> names;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    const uint64_t at = r.pos();
    TensorView t;
    t.name = r.get_string("tensor info #" + std::to_string(i) + " name at offset " +
                          std::to_string(at));
    const std::string what = "tensor " + quoted(t.name);
    if (!names.insert(t.name).second)
      r.fail("duplicate " + what + " (tensor info #" + std::to_string(i) + " at offset " +
             std::to_string(at) + ")");
    const auto n_dims = r.get<uint32_t>(what + " n_dims");
    if (n_dims > kGgufMaxDims)
      r.fail(what + ": n_dims " + std::to_string(n_dims) + " exceeds the maximum of " +
             std::to_string(kGgufMaxDims));
    std::vector<int64_t> ne(n_dims);
    uint64_t elems = 1;
    bool overflow = false;
    for (uint32_t d = 0; d < n_dims; ++d) {
      ne[d] = r.get<int64_t>(what + " ne[" + std::to_string(d) + "]");
      if (ne[d] < 0)
        r.fail(what + ": dimension ne[" + std::to_string(d) + "] is negative (" +
               std::to_string(ne[d]) + ")");
      const auto u = static_cast<uint64_t>(ne[d]);
      if (u != 0 && elems > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / u)
        overflow = true;
      else
        elems *= u;
    }
    if (overflow) {
      std::string dims;
      for (int64_t d : ne) dims += (dims.empty() ? "" : ", ") + std::to_string(d);
      r.fail(what + ": element count of shape ne=[" + dims + "] overflows 64 bits");
    }
    const uint64_t type_at = r.pos();
    const auto type_id = r.get<uint32_t>(what + " type");
    const auto type = tensor_type_from_ggml_id(type_id);
    if (!type)
      r.fail(what + ": unknown ggml type id " + std::to_string(type_id) + " at offset " +
             std::to_string(type_at));
    t.type = *type;
    const uint64_t offset = r.get<uint64_t>(what + " data offset");
    t.shape.assign(ne.rbegin(), ne.rend());
    const TypeTraits& tt = type_traits(t.type);
    const int64_t row = ne.empty() ? 1 : ne[0];
    if (row % tt.block_size != 0)
      r.fail(what + ": row length ne[0]=" + std::to_string(row) + " is not a multiple of the " +
             std::string(tt.name) + " block size " + std::to_string(tt.block_size));
    const auto nbytes = tensor_nbytes(t.type, t.shape);
    if (!nbytes) r.fail(what + ": byte size of its shape overflows");
    infos.push_back({offset, *nbytes});
    t.file = path;
    c.tensors.push_back(std::move(t));
  }

  // ---- data section
  c.data_offset = align_up(r.pos(), c.alignment);
  const uint64_t size = bytes.size();
  for (size_t i = 0; i < c.tensors.size(); ++i) {
    const std::string what = "tensor " + quoted(c.tensors[i].name);
    const Info& in = infos[i];
    if (in.offset % c.alignment != 0)
      r.fail(what + ": data offset " + std::to_string(in.offset) +
             " is not a multiple of the alignment " + std::to_string(c.alignment));
    if (c.data_offset > size || in.offset > size - c.data_offset ||
        in.nbytes > size - c.data_offset - in.offset)
      r.fail(what + ": data [" + std::to_string(in.offset) + ", +" + std::to_string(in.nbytes) +
             ") relative to the data section at " + std::to_string(c.data_offset) +
             " runs past the end of the file (size " + std::to_string(size) + ")");
    c.tensors[i].data = bytes.subspan(static_cast<size_t>(c.data_offset + in.offset),
                                      static_cast<size_t>(in.nbytes));
  }
  std::vector<size_t> order(c.tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return infos[a].offset < infos[b].offset; });
  size_t prev = SIZE_MAX;
  for (size_t i : order) {
    if (infos[i].nbytes == 0) continue;
    if (prev != SIZE_MAX && infos[prev].offset + infos[prev].nbytes > infos[i].offset)
      r.fail("tensors " + quoted(c.tensors[prev].name) + " (data offset " +
             std::to_string(infos[prev].offset) + ", " + std::to_string(infos[prev].nbytes) +
             " bytes) and " + quoted(c.tensors[i].name) + " (data offset " +
             std::to_string(infos[i].offset) + ") overlap");
    prev = i;
  }
  return c;
}

GgufFile GgufFile::open(const std::string& path) {
  GgufFile f;
  f.file_ = std::make_shared<MappedFile>(path);
  f.contents_ = parse_gguf(f.file_->bytes(), path);
  return f;
}

}  // namespace schwarm

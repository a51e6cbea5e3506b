// GGUF reader/writer: fixtures written by the reference gguf Python package, a file written by our
// writer (checked by gguf's Python reader), and hostile inputs that must give clean FileErrors.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/gguf_file.h"
#include "schwarm/error.h"

namespace fs = std::filesystem;
using namespace schwarm;
using json = nlohmann::json;

namespace {

const std::string kDir = std::string(SCHWARM_TEST_DATA_DIR) + "/gguf";

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

std::string to_hex(std::span<const uint8_t> b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t x : b) {
    s += d[x >> 4];
    s += d[x & 15];
  }
  return s;
}

void expect_value(const GgufValue& v, const json& j, const std::string& where) {
  SCOPED_TRACE(where);
  ASSERT_EQ(gguf_value_type_name(v.type), j.at("type").get<std::string>());
  switch (v.type) {
    case GgufValueType::STRING: {
      const std::string* s = v.as_string();
      ASSERT_NE(s, nullptr);
      EXPECT_EQ(to_hex({reinterpret_cast<const uint8_t*>(s->data()), s->size()}),
                j.at("hex").get<std::string>());
      break;
    }
    case GgufValueType::ARRAY: {
      const GgufArray* a = v.as_array();
      ASSERT_NE(a, nullptr);
      EXPECT_EQ(gguf_value_type_name(a->elem_type), j.at("elem_type").get<std::string>());
      ASSERT_EQ(a->items.size(), j.at("items").size());
      for (size_t i = 0; i < a->items.size(); ++i)
        expect_value(a->items[i], j.at("items")[i], where + "[" + std::to_string(i) + "]");
      break;
    }
    case GgufValueType::BOOL: EXPECT_EQ(*v.as_bool(), j.at("value").get<bool>()); break;
    case GgufValueType::FLOAT32:
      EXPECT_EQ(static_cast<double>(std::get<float>(v.value)), j.at("value").get<double>());
      break;
    case GgufValueType::FLOAT64:
      EXPECT_EQ(std::get<double>(v.value), j.at("value").get<double>());
      break;
    case GgufValueType::UINT64:
      EXPECT_EQ(std::get<uint64_t>(v.value), j.at("value").get<uint64_t>());
      break;
    default:
      ASSERT_TRUE(v.as_int().has_value());
      EXPECT_EQ(*v.as_int(), j.at("value").get<int64_t>());
  }
}

void check_against_dump(const std::string& name) {
  const std::string path = kDir + "/" + name + ".gguf";
  const json dump = read_json(kDir + "/" + name + ".json");
  const GgufFile f = GgufFile::open(path);
  const GgufContents& c = f.contents();
  EXPECT_EQ(f.path(), path);
  EXPECT_EQ(c.version, dump.at("version").get<uint32_t>());
  EXPECT_EQ(c.alignment, dump.at("alignment").get<uint64_t>());
  EXPECT_EQ(c.data_offset, dump.at("data_offset").get<uint64_t>());
  ASSERT_EQ(c.metadata.size(), dump.at("metadata").size());
  for (size_t i = 0; i < c.metadata.size(); ++i) {
    const json& m = dump.at("metadata")[i];
    EXPECT_EQ(c.metadata[i].first, m.at("key").get<std::string>());
    expect_value(c.metadata[i].second, m, c.metadata[i].first);
    EXPECT_EQ(find_metadata(c.metadata, c.metadata[i].first), &c.metadata[i].second);
  }
  EXPECT_EQ(find_metadata(c.metadata, "no.such.key"), nullptr);
  ASSERT_EQ(c.tensors.size(), dump.at("tensors").size());
  const auto bytes = read_bytes(path);
  for (size_t i = 0; i < c.tensors.size(); ++i) {
    const TensorView& t = c.tensors[i];
    const json& e = dump.at("tensors")[i];
    SCOPED_TRACE(t.name);
    EXPECT_EQ(t.name, e.at("name").get<std::string>());
    EXPECT_EQ(tensor_type_name(t.type), e.at("type").get<std::string>());
    EXPECT_EQ(t.shape, e.at("shape").get<std::vector<int64_t>>());
    EXPECT_EQ(t.file, path);
    EXPECT_EQ(t.data.size(), e.at("nbytes").get<size_t>());
    EXPECT_EQ(to_hex(t.data), e.at("hex").get<std::string>());
    EXPECT_EQ(c.find_tensor(t.name), &t);
  }
  EXPECT_EQ(c.find_tensor("nope"), nullptr);
  // Offsets relative to the data section, checked on an in-memory parse of the same bytes.
  const GgufContents m = parse_gguf(bytes, path);
  for (size_t i = 0; i < m.tensors.size(); ++i)
    EXPECT_EQ(static_cast<uint64_t>(m.tensors[i].data.data() - bytes.data()),
              m.data_offset + dump.at("tensors")[i].at("offset").get<uint64_t>());
}

// Hand-assembled GGUF bytes for hostile inputs.
struct Raw {
  std::vector<uint8_t> b;
  template <typename T>
  Raw& put(T v) {
    const size_t at = b.size();
    b.resize(at + sizeof(T));
    std::memcpy(b.data() + at, &v, sizeof(T));
    return *this;
  }
  Raw& str(const std::string& s) {
    put<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Raw& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    b = {'G', 'G', 'U', 'F'};
    return put<uint32_t>(version).put<uint64_t>(n_tensors).put<uint64_t>(n_kv);
  }
  Raw& kv_u32(const std::string& k, uint32_t v) { return str(k).put<uint32_t>(4).put<uint32_t>(v); }
  Raw& tensor(const std::string& name, std::vector<int64_t> ne, uint32_t type, uint64_t off) {
    str(name).put<uint32_t>(static_cast<uint32_t>(ne.size()));
    for (int64_t d : ne) put<int64_t>(d);
    return put<uint32_t>(type).put<uint64_t>(off);
  }
  Raw& pad(size_t a = 32) {
    b.resize((b.size() + a - 1) / a * a, 0);
    return *this;
  }
  Raw& zeros(size_t n) {
    b.resize(b.size() + n, 0);
    return *this;
  }
};

const std::string kPath = "/hostile/test.gguf";

// Parses and expects a FileError naming the file and containing `problem`.
void expect_error(const std::vector<uint8_t>& bytes, const std::string& problem) {
  try {
    parse_gguf(bytes, kPath);
    ADD_FAILURE() << "no error; expected: " << problem;
  } catch (const FileError& e) {
    EXPECT_EQ(e.path(), kPath);
    EXPECT_NE(std::string(e.what()).find(kPath), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(problem), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << problem;
  }
}

}  // namespace

// ---- fixtures from the reference gguf Python package --------------------------------------

TEST(GgufFixtures, AllValueTypesAndTensorTypes) { check_against_dump("all_types"); }
TEST(GgufFixtures, Version2DefaultAlignment) { check_against_dump("v2_default_align"); }
TEST(GgufFixtures, NoTensors) { check_against_dump("no_tensors"); }

TEST(GgufFixtures, ValueConversions) {
  const GgufFile f = GgufFile::open(kDir + "/all_types.gguf");
  const auto& md = f.metadata();
  EXPECT_EQ(find_metadata(md, "test.u64")->as_int(), std::nullopt);  // > INT64_MAX
  EXPECT_EQ(find_metadata(md, "test.i8")->as_int(), -128);
  EXPECT_EQ(find_metadata(md, "test.u32")->as_double(), 4294967295.0);
  EXPECT_EQ(find_metadata(md, "test.bool_true")->as_int(), std::nullopt);
  EXPECT_EQ(find_metadata(md, "test.bool_true")->as_bool(), true);
  EXPECT_EQ(find_metadata(md, "test.string")->as_int(), std::nullopt);
  EXPECT_EQ(*find_metadata(md, "test.string_utf8")->as_string(), "Grüße, 世界 🐝");
  EXPECT_TRUE(find_metadata(md, "test.f64")->is_float());
  EXPECT_FALSE(find_metadata(md, "test.f64")->is_integer());
  EXPECT_TRUE(find_metadata(md, "test.i16")->is_integer());
  EXPECT_EQ(find_metadata(md, "test.arr_nested")->as_array()->items.size(), 3u);
  EXPECT_EQ(f.tensors()[0].numel(), 15);
}

// ---- our writer, read back by us and (tools/fixtures/check_gguf_roundtrip.py) by gguf-py ----

namespace {

// The input of tests/data/gguf/written_by_schwarm.gguf; check_gguf_roundtrip.py mirrors it.
GgufWriter make_reference_writer() {
  GgufWriter w(64);
  w.set("general.architecture", GgufValue::str("schwarmtest"));
  w.set("test.u8", GgufValue::u8(7));
  w.set("test.i8", GgufValue::i8(-7));
  w.set("test.u16", GgufValue::u16(60000));
  w.set("test.i16", GgufValue::i16(-30000));
  w.set("test.u32", GgufValue::u32(4000000000u));
  w.set("test.i32", GgufValue::i32(-2000000000));
  w.set("test.f32", GgufValue::f32(0.25f));
  w.set("test.bool", GgufValue::boolean(true));
  w.set("test.string", GgufValue::str("Grüße 🐝"));
  w.set("test.u64", GgufValue::u64(1ull << 40));
  w.set("test.i64", GgufValue::i64(-(1ll << 40)));
  w.set("test.f64", GgufValue::f64(3.141592653589793));
  GgufArray ints{GgufValueType::INT32, {GgufValue::i32(1), GgufValue::i32(-2), GgufValue::i32(3)}};
  w.set("test.arr_i32", GgufValue::array(ints));
  GgufArray strs{GgufValueType::STRING, {GgufValue::str("a"), GgufValue::str(""), GgufValue::str("ü")}};
  w.set("test.arr_str", GgufValue::array(strs));
  GgufArray nested{GgufValueType::ARRAY, {GgufValue::array(ints), GgufValue::array(ints)}};
  w.set("test.arr_nested", GgufValue::array(nested));
  w.set("test.u8", GgufValue::u8(8));  // replaces in place, keeps its position
  std::vector<uint8_t> a(3 * 5 * 4), b(2 * 34), c(144);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<uint8_t>(i * 7 + 1);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 13 + 5);
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<uint8_t>(i * 3 + 2);
  // F32 values from the bytes above would be odd; use real floats for the F32 tensor.
  for (size_t i = 0; i < 15; ++i) {
    const float v = static_cast<float>(i) * 0.5f - 3.0f;
    std::memcpy(a.data() + i * 4, &v, 4);
  }
  w.add_tensor("blk.0.f32", TensorType::F32, {3, 5}, a);
  w.add_tensor("blk.0.q8_0", TensorType::Q8_0, {2, 32}, b);
  w.add_tensor("blk.0.q4_k", TensorType::Q4_K, {1, 256}, c);
  return w;
}

}  // namespace

TEST(GgufWriter, ByteIdenticalToCommittedFile) {
  const std::string committed = kDir + "/written_by_schwarm.gguf";
  const std::vector<uint8_t> bytes = make_reference_writer().serialize();
  if (const char* regen = std::getenv("SCHWARM_REGEN_GGUF_FIXTURE"); regen && *regen == '1')
    make_reference_writer().write(committed);
  EXPECT_EQ(bytes, read_bytes(committed)) << "GgufWriter output changed; if intended, rerun with "
                                             "SCHWARM_REGEN_GGUF_FIXTURE=1 and "
                                             "tools/fixtures/check_gguf_roundtrip.py";
}

TEST(GgufWriter, CommittedFileMatchesPythonReaderDump) {
  // written_by_schwarm.json is what gguf's GGUFReader saw in written_by_schwarm.gguf.
  check_against_dump("written_by_schwarm");
}

TEST(GgufWriter, RoundTripThroughOurReader) {
  const fs::path dir = fs::temp_directory_path() / ("schwarm_gguf_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "out.gguf").string();
  make_reference_writer().write(path);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  const GgufFile f = GgufFile::open(path);
  EXPECT_EQ(f.contents().version, 3u);
  EXPECT_EQ(f.contents().alignment, 64u);
  EXPECT_EQ(f.metadata()[0].first, "general.alignment");
  EXPECT_EQ(f.metadata()[2].first, "test.u8");
  EXPECT_EQ(find_metadata(f.metadata(), "test.u8")->as_int(), 8);
  ASSERT_EQ(f.tensors().size(), 3u);
  EXPECT_EQ(f.tensors()[1].shape, (std::vector<int64_t>{2, 32}));
  EXPECT_EQ(f.tensors()[2].type, TensorType::Q4_K);
  for (const TensorView& t : f.tensors())
    EXPECT_EQ(static_cast<uint64_t>(t.data.data() - f.tensors()[0].data.data()) % 64, 0u);
  // Overwrite an existing file: still atomic, no tmp left behind.
  GgufWriter w2;
  w2.set("k", GgufValue::i32(1));
  w2.write(path);
  EXPECT_EQ(GgufFile::open(path).metadata().size(), 1u);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  fs::remove_all(dir);
}

TEST(GgufWriter, WriteIntoMissingDirectoryFailsCleanly) {
  const std::string path = "/nonexistent_dir_schwarm/x.gguf";
  try {
    make_reference_writer().write(path);
    FAIL() << "no error";
  } catch (const FileError& e) {
    EXPECT_EQ(e.path(), path);
    EXPECT_NE(std::string(e.what()).find("cannot create"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(GgufWriter, RenameFailureRemovesTmp) {
  const fs::path dir = fs::temp_directory_path() / ("schwarm_gguf_ren_" + std::to_string(::getpid()));
  fs::create_directories(dir / "target_is_a_dir" / "child");  // rename over a non-empty dir fails
  const std::string path = (dir / "target_is_a_dir").string();
  EXPECT_THROW(make_reference_writer().write(path), FileError);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  fs::remove_all(dir);
}

TEST(GgufWriter, RejectsBadInput) {
  GgufWriter w;
  std::vector<uint8_t> data(10);
  try {
    w.add_tensor("t", TensorType::F32, {2, 2}, data);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'t': data is 10 bytes"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("needs 16"), std::string::npos) << e.what();
  }
  EXPECT_THROW(w.add_tensor("q", TensorType::Q8_0, {2, 31}, std::vector<uint8_t>(68)), Error);
  EXPECT_THROW(w.add_tensor("b", TensorType::BOOL, {4}, std::vector<uint8_t>(4)), Error);
  EXPECT_THROW(w.add_tensor("d", TensorType::F32, {1, 1, 1, 1, 1}, std::vector<uint8_t>(4)), Error);
  w.add_tensor("ok", TensorType::F32, {1}, std::vector<uint8_t>(4));
  EXPECT_THROW(w.add_tensor("ok", TensorType::F32, {1}, std::vector<uint8_t>(4)), Error);
  EXPECT_THROW(GgufWriter(3), Error);
  EXPECT_THROW(GgufWriter(0), Error);
  EXPECT_THROW(w.set("general.alignment", GgufValue::u64(64)), Error);
  EXPECT_THROW(w.set("general.alignment", GgufValue::u32(48)), Error);
  GgufArray mixed{GgufValueType::INT32, {GgufValue::i32(1), GgufValue::u8(2)}};
  w.set("mixed", GgufValue::array(mixed));
  EXPECT_THROW(w.serialize(), Error);
}

TEST(GgufWriter, AlignmentKeyChangesLayout) {
  GgufWriter w;
  w.set("general.alignment", GgufValue::u32(128));
  w.add_tensor("a", TensorType::F32, {3}, std::vector<uint8_t>(12, 1));
  w.add_tensor("b", TensorType::F32, {3}, std::vector<uint8_t>(12, 2));
  const auto bytes = w.serialize();
  const GgufContents c = parse_gguf(bytes, "mem");
  EXPECT_EQ(c.alignment, 128u);
  EXPECT_EQ(c.data_offset % 128, 0u);
  EXPECT_EQ(c.tensors[1].data.data() - c.tensors[0].data.data(), 128);
  EXPECT_EQ(c.tensors[1].data[0], 2);
}

// ---- hostile inputs ------------------------------------------------------------------------

TEST(GgufHostile, EveryTruncatedPrefixThrows) {
  for (const char* name : {"all_types", "v2_default_align", "no_tensors", "written_by_schwarm"}) {
    const auto bytes = read_bytes(kDir + "/" + name + ".gguf");
    const GgufContents full = parse_gguf(bytes, kPath);
    // Everything up to the end of the last tensor's data is needed; trailing padding is not.
    size_t needed = full.data_offset;
    for (const TensorView& t : full.tensors)
      needed = std::max(needed, static_cast<size_t>(t.data.data() + t.data.size() - bytes.data()));
    if (full.tensors.empty()) {
      // Without tensors the data section may be empty: the header end is what is needed.
      needed = 0;
      for (size_t n = bytes.size(); n > 0; --n) {
        try {
          parse_gguf(std::span(bytes).first(n - 1), kPath);
        } catch (const FileError&) {
          needed = n;
          break;
        }
      }
    }
    for (size_t n = 0; n < bytes.size(); ++n) {
      const std::span<const uint8_t> prefix(bytes.data(), n);
      if (n < needed) {
        try {
          parse_gguf(prefix, kPath);
          ADD_FAILURE() << name << " prefix " << n << " parsed";
        } catch (const FileError& e) {
          EXPECT_EQ(e.path(), kPath);
        }
      } else {
        EXPECT_NO_THROW(parse_gguf(prefix, kPath)) << name << " prefix " << n;
      }
    }
  }
}

TEST(GgufHostile, HeaderErrors) {
  expect_error({}, "bad magic");
  expect_error({'G', 'G'}, "bad magic");
  Raw ok;
  ok.header(0, 0);
  EXPECT_NO_THROW(parse_gguf(ok.b, kPath));
  Raw magic;
  magic.header(0, 0);
  magic.b[0] = 'X';
  expect_error(magic.b, "not a GGUF file: bad magic");
  expect_error(Raw{}.header(0, 0, 1).b, "unsupported GGUF version 1");
  expect_error(Raw{}.header(0, 0, 4).b, "unsupported GGUF version 4");
  expect_error(Raw{}.header(0, 0, 0x03000000).b, "big-endian GGUF file");
  expect_error(Raw{}.header(0, 0, 0x02000000).b, "big-endian GGUF file");
  expect_error(Raw{}.header(0, 1).b, "metadata key/value count 1");
  expect_error(Raw{}.header(~0ull, 0).b, "tensor count 18446744073709551615");
  expect_error(Raw{}.header(0, 1ull << 60).b, "cannot fit");
}

TEST(GgufHostile, MetadataErrors) {
  Raw huge_str;
  huge_str.header(0, 1).str("k").put<uint32_t>(8).put<uint64_t>(1ull << 62).zeros(16);
  expect_error(huge_str.b, "metadata key 'k': string length 4611686018427387904");
  Raw huge_key;
  huge_key.header(0, 1).put<uint64_t>(~0ull).zeros(16);
  expect_error(huge_key.b, "string length 18446744073709551615");
  Raw huge_arr;
  huge_arr.header(0, 1).str("arr").put<uint32_t>(9).put<uint32_t>(0).put<uint64_t>(1ull << 40).zeros(8);
  expect_error(huge_arr.b, "metadata key 'arr': array count 1099511627776");
  Raw huge_arr_str;
  huge_arr_str.header(0, 1).str("arr").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(5).zeros(32);
  expect_error(huge_arr_str.b, "array count 5");
  Raw bad_type;
  bad_type.header(0, 1).str("k").put<uint32_t>(13).zeros(8);
  expect_error(bad_type.b, "metadata key 'k': unknown value type 13");
  Raw bad_elem;
  bad_elem.header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(99).put<uint64_t>(0);
  expect_error(bad_elem.b, "unknown array element type 99");
  Raw dup;
  dup.header(0, 2).kv_u32("a.b", 1).kv_u32("a.b", 2);
  expect_error(dup.b, "duplicate metadata key 'a.b'");
  for (uint32_t bad : {0u, 3u, 48u}) {
    Raw al;
    al.header(0, 1).kv_u32("general.alignment", bad);
    expect_error(al.b, "'general.alignment' is " + std::to_string(bad) +
                           "; it must be a nonzero power of two");
  }
  Raw al_type;
  al_type.header(0, 1).str("general.alignment").put<uint32_t>(10).put<uint64_t>(64);
  expect_error(al_type.b, "'general.alignment' must be UINT32, not UINT64");
  // Arrays nested kGgufMaxArrayDepth deep parse; one more level is rejected.
  for (int depth : {kGgufMaxArrayDepth, kGgufMaxArrayDepth + 1}) {
    Raw nest;
    nest.header(0, 1).str("deep").put<uint32_t>(9);
    for (int d = 1; d < depth; ++d) nest.put<uint32_t>(9).put<uint64_t>(1);
    nest.put<uint32_t>(0).put<uint64_t>(1).put<uint8_t>(42);
    if (depth == kGgufMaxArrayDepth)
      EXPECT_NO_THROW(parse_gguf(nest.b, kPath));
    else
      expect_error(nest.b, "metadata key 'deep' array element: arrays nested more than 8 deep");
  }
  Raw ctrl;  // control bytes in a key are escaped in messages
  ctrl.header(0, 2).kv_u32("x\n", 1).kv_u32("x\n", 1);
  expect_error(ctrl.b, "duplicate metadata key 'x\\x0a'");
}

TEST(GgufHostile, TensorInfoErrors) {
  auto one = [](std::vector<int64_t> ne, uint32_t type, uint64_t off, size_t data = 64) {
    Raw r;
    r.header(1, 0).tensor("w", std::move(ne), type, off).pad().zeros(data);
    return r.b;
  };
  EXPECT_NO_THROW(parse_gguf(one({4, 2}, 0, 0, 32), kPath));
  expect_error(one({1, 1, 1, 1, 1}, 0, 0), "tensor 'w': n_dims 5 exceeds the maximum of 4");
  expect_error(one({1ll << 40, 1ll << 40}, 0, 0), "tensor 'w': element count of shape ne=[");
  expect_error(one({1ll << 40, 1ll << 40}, 0, 0), "overflows 64 bits");
  expect_error(one({4, -1}, 0, 0), "tensor 'w': dimension ne[1] is negative (-1)");
  expect_error(one({4}, 4, 0), "tensor 'w': unknown ggml type id 4");
  expect_error(one({4}, 1000, 0), "unknown ggml type id 1000");
  expect_error(one({33}, 8, 0), "tensor 'w': row length ne[0]=33 is not a multiple of the Q8_0 block size 32");
  expect_error(one({1ll << 62}, 0, 0), "byte size of its shape overflows");
  expect_error(one({4}, 0, 64, 64), "tensor 'w': data [64, +16)");
  expect_error(one({4}, 0, 64, 64), "runs past the end of the file");
  expect_error(one({4}, 0, ~0ull & ~31ull), "runs past the end");
  expect_error(one({4}, 0, 8), "tensor 'w': data offset 8 is not a multiple of the alignment 32");
  expect_error(one({100}, 0, 0, 32), "runs past the end");
  Raw overlap;
  overlap.header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {4}, 0, 32).pad().zeros(128);
  expect_error(overlap.b, "tensors 'a' (data offset 0, 64 bytes) and 'b' (data offset 32) overlap");
  Raw overlap_rev;  // found regardless of the order of the infos
  overlap_rev.header(2, 0).tensor("b", {4}, 0, 32).tensor("a", {16}, 0, 0).pad().zeros(128);
  expect_error(overlap_rev.b, "overlap");
  Raw dup;
  dup.header(2, 0).tensor("a", {4}, 0, 0).tensor("a", {4}, 0, 32).pad().zeros(64);
  expect_error(dup.b, "duplicate tensor 'a'");
  Raw empty_ok;  // zero-sized tensors share offsets without overlapping
  empty_ok.header(3, 0).tensor("e1", {0}, 0, 0).tensor("e2", {4, 0}, 0, 0).tensor("f", {4}, 0, 0).pad().zeros(32);
  const GgufContents c = parse_gguf(empty_ok.b, kPath);
  EXPECT_EQ(c.tensors[1].shape, (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(c.tensors[1].data.size(), 0u);
  Raw custom_align;  // the alignment key governs both the data start and the offsets
  custom_align.header(2, 1).kv_u32("general.alignment", 256).tensor("a", {4}, 0, 0).tensor("b", {4}, 0, 256).pad(256).zeros(512);
  const GgufContents ca = parse_gguf(custom_align.b, kPath);
  EXPECT_EQ(ca.data_offset, 256u);
  EXPECT_EQ(ca.tensors[1].data.data() - custom_align.b.data(), 512);
}

TEST(GgufHostile, OpenMissingFileIsFileError) {
  EXPECT_THROW(GgufFile::open(kDir + "/does_not_exist.gguf"), FileError);
}

// GgufStreamWriter: the same bytes as GgufWriter however the data is cut into pieces; too much or
// too little data is an error that leaves no file behind.
TEST(GgufStreamWriter, PiecewiseEqualsWholeWriter) {
  const fs::path dir = fs::temp_directory_path() / ("schwarm_gguf_stream_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  GgufMetadata md = {{"general.alignment", GgufValue::u32(64)}, {"k", GgufValue::str("v")}};
  const std::vector<GgufTensorInfo> infos = {
      {"a", TensorType::F32, {3, 5}}, {"empty", TensorType::F32, {0}}, {"b", TensorType::Q8_0, {2, 32}}};
  std::vector<uint8_t> data;
  GgufWriter whole(64);
  whole.set("k", GgufValue::str("v"));
  for (const GgufTensorInfo& t : infos) {
    std::vector<uint8_t> bytes(gguf_tensor_nbytes(t));
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7 + data.size());
    if (t.type == TensorType::Q8_0)
      for (size_t i = 0; i < bytes.size(); i += 34) bytes[i + 1] = 0x3c;  // finite f16 scales
    whole.add_tensor(t.name, t.type, t.shape, bytes);
    data.insert(data.end(), bytes.begin(), bytes.end());
  }
  for (size_t piece : {size_t{1}, size_t{7}, size_t{60}, data.size()}) {
    const std::string path = (dir / ("s" + std::to_string(piece) + ".gguf")).string();
    GgufStreamWriter out(path, md, infos);
    for (size_t at = 0; at < data.size(); at += piece)
      out.append(std::span<const uint8_t>(data).subspan(at, std::min(piece, data.size() - at)));
    out.finish();
    EXPECT_EQ(read_bytes(path), whole.serialize()) << "pieces of " << piece;
    EXPECT_EQ(fs::file_size(path), out.total_bytes());
    EXPECT_FALSE(fs::exists(path + ".tmp"));
  }
  const std::string path = (dir / "bad.gguf").string();
  {
    GgufStreamWriter out(path, md, infos);
    out.append(std::span<const uint8_t>(data).first(10));
    EXPECT_THROW(out.finish(), Error);  // tensor 'a' has 10 of its 60 bytes
  }
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_FALSE(fs::exists(path));
  {
    GgufStreamWriter out(path, md, infos);
    std::vector<uint8_t> more = data;
    more.push_back(0);
    EXPECT_THROW(out.append(more), Error);
  }
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_THROW(GgufStreamWriter(path, md, {{"a", TensorType::Q8_0, {3}}}), Error);  // not whole blocks
  EXPECT_THROW(GgufStreamWriter(path, md, {{"a", TensorType::F32, {1}}, {"a", TensorType::F32, {1}}}), Error);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  fs::remove_all(dir);
}

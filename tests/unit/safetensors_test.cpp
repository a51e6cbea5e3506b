// safetensors reader: fixtures written by the reference `safetensors` package
// (tools/fixtures/make_safetensors_fixtures.py) and hostile images built here from valid ones.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/mapped_file.h"
#include "io/safetensors_file.h"
#include "schwarm/error.h"

namespace fs = std::filesystem;
using nlohmann::json;
using schwarm::FileError;
using schwarm::parse_safetensors;
using schwarm::SafetensorsCheckpoint;
using schwarm::TensorType;
using schwarm::TensorView;

namespace {

const std::string kDataDir = std::string(SCHWARM_TEST_DATA_DIR) + "/safetensors";
const std::string kMemPath = "mem.safetensors";

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

uint64_t fnv1a64(std::span<const uint8_t> b) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (uint8_t x : b) {
    h ^= x;
    h *= 0x100000001B3ull;
  }
  return h;
}

std::string hex(std::span<const uint8_t> b) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t x : b) {
    s += kHex[x >> 4];
    s += kHex[x & 15];
  }
  return s;
}

// An image: 8-byte little-endian header length, header text, data bytes.
std::vector<uint8_t> image(const std::string& header, const std::vector<uint8_t>& data = {}) {
  std::vector<uint8_t> out(8 + header.size() + data.size());
  const uint64_t n = header.size();
  for (size_t i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(n >> (8 * i));
  std::copy(header.begin(), header.end(), out.begin() + 8);
  std::copy(data.begin(), data.end(), out.begin() + 8 + static_cast<ptrdiff_t>(header.size()));
  return out;
}

// A small valid image; the tensors fill the data buffer exactly, so every prefix is invalid.
std::vector<uint8_t> small_valid_image() {
  std::vector<uint8_t> data(8 + 2 + 3 + 4);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 1);
  return image(
      R"({"__metadata__":{"format":"pt"},)"
      R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("h":{"dtype":"BF16","shape":[],"data_offsets":[8,10]},)"
      R"("q":{"dtype":"F8_E4M3","shape":[3,1],"data_offsets":[10,13]},)"
      R"("z":{"dtype":"I32","shape":[0,5],"data_offsets":[13,13]},)"
      R"("u":{"dtype":"U8","shape":[4],"data_offsets":[13,17]}}  )",
      data);
}

// The header of a one-tensor image around `entry` ({"a": entry}) with `data_bytes` zero bytes.
std::vector<uint8_t> one_tensor(const std::string& entry, size_t data_bytes = 8) {
  return image(R"({"a":)" + entry + "}", std::vector<uint8_t>(data_bytes));
}

// Parsing must fail with a FileError naming the file and containing `problem`.
void expect_error(const std::vector<uint8_t>& bytes, const std::string& problem) {
  try {
    parse_safetensors(bytes, kMemPath);
    ADD_FAILURE() << "no error; expected: " << problem;
  } catch (const FileError& e) {
    EXPECT_EQ(e.path(), kMemPath);
    EXPECT_NE(std::string(e.what()).find(kMemPath + ": "), std::string::npos) << e.what();
    EXPECT_NE(e.problem().find(problem), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << problem;
  }
}

void expect_open_error(const std::string& path, const std::string& file, const std::string& problem) {
  try {
    SafetensorsCheckpoint::open(path);
    ADD_FAILURE() << "no error; expected: " << problem;
  } catch (const FileError& e) {
    EXPECT_EQ(e.path(), file) << e.what();
    EXPECT_NE(e.problem().find(problem), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << problem;
  }
}

json expected() {
  std::ifstream in(kDataDir + "/expected.json");
  return json::parse(in);
}

// Compares parsed tensors of one file with the reference dump of that file.
void check_against_reference(const std::vector<const TensorView*>& tensors, const json& ref,
                             const uint8_t* buffer_base) {
  ASSERT_EQ(tensors.size(), ref["tensors"].size());
  for (const TensorView* t : tensors) {
    SCOPED_TRACE(t->name);
    ASSERT_TRUE(ref["tensors"].contains(t->name));
    const json& r = ref["tensors"][t->name];
    EXPECT_EQ(schwarm::tensor_type_name(t->type), r["dtype"].get<std::string>());
    EXPECT_EQ(t->shape, r["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(t->data.size(), r["nbytes"].get<size_t>());
    const auto offsets = r["data_offsets"].get<std::vector<uint64_t>>();
    EXPECT_EQ(static_cast<uint64_t>(t->data.data() - buffer_base), offsets[0]);
    char fnv[17];
    std::snprintf(fnv, sizeof fnv, "%016llx", static_cast<unsigned long long>(fnv1a64(t->data)));
    EXPECT_EQ(fnv, r["fnv1a64"].get<std::string>());
    if (r.contains("hex")) {
      EXPECT_EQ(hex(t->data), r["hex"].get<std::string>());
    }
  }
}

const uint8_t* buffer_base(std::span<const uint8_t> file) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | file[static_cast<size_t>(i)];
  return file.data() + 8 + n;
}

// A scratch directory removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path = fs::temp_directory_path() /
           ("schwarm_st_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// A copy of the sharded fixture with its index replaced by `index_text` (none if empty).
void copy_shards(const fs::path& to, const std::string& index_text) {
  for (const char* name : {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"})
    fs::copy_file(kDataDir + "/sharded/" + name, to / name);
  if (!index_text.empty()) write_text(to / "model.safetensors.index.json", index_text);
}

std::string index_json(const json& weight_map) {
  return json{{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}}.dump();
}

json fixture_weight_map() {
  std::ifstream in(kDataDir + "/sharded/model.safetensors.index.json");
  return json::parse(in)["weight_map"];
}

}  // namespace

// ---- valid files --------------------------------------------------------------------------

TEST(Safetensors, SingleFileMatchesReference) {
  const std::string path = kDataDir + "/single.safetensors";
  schwarm::MappedFile file(path);
  const auto contents = parse_safetensors(file.bytes(), path);
  const json ref = expected()["single.safetensors"];
  EXPECT_EQ(contents.metadata, (std::map<std::string, std::string>{{"format", "pt"}}));
  std::vector<const TensorView*> views;
  for (const TensorView& t : contents.tensors) {
    views.push_back(&t);
    EXPECT_EQ(t.file, path);
  }
  check_against_reference(views, ref, buffer_base(file.bytes()));
  for (size_t i = 1; i < contents.tensors.size(); ++i)  // sorted by data offset
    EXPECT_LE(contents.tensors[i - 1].data.data(), contents.tensors[i].data.data());

  const TensorView* w = contents.find_tensor("model.layers.0.mlp.experts.0.down_proj.weight");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->type, TensorType::F8_E4M3);
  EXPECT_EQ(w->shape, (std::vector<int64_t>{200, 300}));
  EXPECT_EQ(w->data.size(), 60000u);
  const TensorView* s = contents.find_tensor("model.layers.0.mlp.experts.0.down_proj.weight_scale_inv");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->type, TensorType::F32);
  EXPECT_EQ(s->shape, (std::vector<int64_t>{2, 3}));  // ceil(200/128) x ceil(300/128)

  const TensorView* scalar = contents.find_tensor("scalar");
  ASSERT_NE(scalar, nullptr);
  EXPECT_TRUE(scalar->shape.empty());
  EXPECT_EQ(scalar->numel(), 1);
  ASSERT_EQ(scalar->data.size(), 4u);
  float v = 0;
  std::memcpy(&v, scalar->data.data(), 4);
  EXPECT_EQ(v, 3.5f);

  const TensorView* f32 = contents.find_tensor("f32");
  ASSERT_NE(f32, nullptr);
  for (int i = 0; i < 12; ++i) {
    std::memcpy(&v, f32->data.data() + 4 * i, 4);
    EXPECT_EQ(v, static_cast<float>(i) * 0.25f - 1.0f);
  }
  const TensorView* empty = contents.find_tensor("empty");
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->shape, (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(empty->data.size(), 0u);
  EXPECT_EQ(contents.find_tensor("nope"), nullptr);
  for (const char* name : {"f16", "bf16", "i8", "i32", "i64", "u8"})
    EXPECT_NE(contents.find_tensor(name), nullptr) << name;
}

TEST(Safetensors, CheckpointFromSingleFile) {
  const std::string path = kDataDir + "/single.safetensors";
  const auto ck = SafetensorsCheckpoint::open(path);
  EXPECT_EQ(ck.files(), std::vector<std::string>{path});
  EXPECT_EQ(ck.tensors().size(), expected()["single.safetensors"]["tensors"].size());
  for (size_t i = 1; i < ck.tensors().size(); ++i)
    EXPECT_LT(ck.tensors()[i - 1].name, ck.tensors()[i].name);
  const TensorView* t = ck.find_tensor("i64");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->type, TensorType::I64);
  int64_t big = 0;
  std::memcpy(&big, t->data.data() + 16, 8);
  EXPECT_EQ(big, 9007199254740993);
  EXPECT_EQ(ck.find_tensor("i6"), nullptr);
  EXPECT_EQ(ck.find_tensor("zzz"), nullptr);
}

TEST(Safetensors, ShardedCheckpointWithIndex) {
  const std::string dir = kDataDir + "/sharded";
  const auto ck = SafetensorsCheckpoint::open(dir);
  ASSERT_EQ(ck.files().size(), 2u);
  ASSERT_EQ(ck.tensors().size(), 4u);
  const json ref = expected();
  for (const std::string& file : ck.files()) {
    const std::string rel = "sharded/" + fs::path(file).filename().string();
    ASSERT_TRUE(ref.contains(rel)) << rel;
    schwarm::MappedFile again(file);
    const auto contents = parse_safetensors(again.bytes(), file);
    std::vector<const TensorView*> views;
    for (const TensorView& t : contents.tensors) views.push_back(&t);
    check_against_reference(views, ref[rel], buffer_base(again.bytes()));
    size_t in_ck = 0;
    for (const TensorView& t : ck.tensors()) {
      if (t.file != file) continue;
      ++in_ck;
      const TensorView* same = contents.find_tensor(t.name);
      ASSERT_NE(same, nullptr) << t.name;
      EXPECT_EQ(t.type, same->type);
      EXPECT_EQ(t.shape, same->shape);
      EXPECT_EQ(hex(t.data), hex(same->data));
    }
    EXPECT_EQ(in_ck, 2u);
  }
  const TensorView* lm = ck.find_tensor("lm_head.weight");
  ASSERT_NE(lm, nullptr);
  EXPECT_EQ(lm->type, TensorType::F16);
  EXPECT_EQ(lm->shape, (std::vector<int64_t>{8, 4}));
  EXPECT_EQ(fs::path(lm->file).filename(), "model-00002-of-00002.safetensors");
  EXPECT_NE(ck.find_tensor("model.embed_tokens.weight"), nullptr);
}

TEST(Safetensors, DirectoryWithoutIndex) {
  TempDir tmp;
  copy_shards(tmp.path, "");
  const auto ck = SafetensorsCheckpoint::open(tmp.path.string());
  EXPECT_EQ(ck.files().size(), 2u);
  EXPECT_EQ(ck.tensors().size(), 4u);
  EXPECT_NE(ck.find_tensor("model.layers.1.self_attn.q_proj.weight"), nullptr);
}

TEST(Safetensors, AcceptsPaddingEmptyAndUnalignedTensors) {
  const auto bytes = small_valid_image();
  const auto c = parse_safetensors(bytes, kMemPath);
  ASSERT_EQ(c.tensors.size(), 5u);
  EXPECT_EQ(c.tensors[0].name, "w");
  const TensorView* q = c.find_tensor("q");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->data.size(), 3u);
  EXPECT_EQ(q->data.data(), bytes.data() + (bytes.size() - 17) + 10);  // odd offset is fine
  const TensorView* z = c.find_tensor("z");
  ASSERT_NE(z, nullptr);
  EXPECT_EQ(z->data.size(), 0u);
  // A header with no tensors at all, padded with spaces.
  EXPECT_TRUE(parse_safetensors(image("{}        "), kMemPath).tensors.empty());
  // An empty tensor sitting inside another tensor's bytes overlaps nothing.
  EXPECT_EQ(parse_safetensors(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                    R"("e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})",
                                    std::vector<uint8_t>(8)),
                              kMemPath)
                .tensors.size(),
            2u);
  // Gaps between tensors are tolerated.
  const auto gap = one_tensor(R"({"dtype":"U8","shape":[2],"data_offsets":[3,5]})");
  const auto g = parse_safetensors(gap, kMemPath);
  ASSERT_EQ(g.tensors.size(), 1u);
  EXPECT_EQ(g.tensors[0].data.data(), gap.data() + (gap.size() - 8) + 3);
}

// ---- hostile images -----------------------------------------------------------------------

TEST(SafetensorsHostile, EveryTruncationThrows) {
  const auto bytes = small_valid_image();
  ASSERT_NO_THROW(parse_safetensors(bytes, kMemPath));
  for (size_t n = 0; n < bytes.size(); ++n) {
    SCOPED_TRACE(n);
    const std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_THROW(parse_safetensors(prefix, kMemPath), FileError);
  }
  expect_error(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 5), "file too short");
  expect_error(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 40), "runs past the end of the file");
  expect_error(std::vector<uint8_t>(bytes.begin(), bytes.end() - 1), "run past the end of the data");
}

TEST(SafetensorsHostile, HeaderLength) {
  auto bytes = image("{}");
  bytes[0] = 200;  // longer than the file
  expect_error(bytes, "header length 200 runs past the end of the file");
  bytes[0] = 2;
  bytes[7] = 0x80;  // 2^63 + 2
  expect_error(bytes, "implausibly large");
  expect_error(image(""), "too short for a JSON object");
}

TEST(SafetensorsHostile, BadJson) {
  expect_error(image(R"({"a":{"dtype":"F32",)"), "invalid JSON in header at byte");
  expect_error(image(R"({"a" 1})"), "invalid JSON in header at byte 5");
  auto nul_padded = image(std::string("{}\0\0", 4));
  expect_error(nul_padded, "invalid JSON in header at byte 2 (file offset 10): NUL byte");
  expect_error(image("[1,2]"), "header is an array, not a JSON object");
  expect_error(image("  42  "), "header is an integer, not a JSON object");
  expect_error(image(R"({"a":[[[[[[1]]]]]]})"), "nests deeper than");
}

TEST(SafetensorsHostile, InvalidUtf8InName) {
  expect_error(image("{\"a\xff\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", {0}),
               "invalid UTF-8 in header at byte 3");
  expect_error(image("{\"\xc3\x28\":{}}"), "invalid UTF-8");
  expect_error(image("{\"a\\u0001\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", {0}),
               "control character");
}

TEST(SafetensorsHostile, DuplicateKeys) {
  expect_error(image(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                     R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                     {0, 0}),
               "duplicate key \"a\"");
  expect_error(one_tensor(R"({"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]})"),
               "duplicate key \"dtype\"");
  expect_error(image(R"({"__metadata__":{"k":"1","k":"2"}})"), "duplicate key \"k\"");
}

TEST(SafetensorsHostile, Entries) {
  expect_error(one_tensor("[]"), "tensor \"a\": entry is an array, not an object");
  expect_error(one_tensor(R"({"shape":[2],"data_offsets":[0,8]})"), "tensor \"a\": missing \"dtype\"");
  expect_error(one_tensor(R"({"dtype":"F32","data_offsets":[0,8]})"), "missing \"shape\"");
  expect_error(one_tensor(R"({"dtype":"F32","shape":[2]})"), "missing \"data_offsets\"");
  expect_error(one_tensor(R"({"dtype":7,"shape":[2],"data_offsets":[0,8]})"), "dtype is an integer");
  expect_error(image(R"({"__metadata__":{"format":1}})"), "__metadata__ entry \"format\" is an integer");
  expect_error(image(R"({"__metadata__":[]})"), "__metadata__ is an array");
}

TEST(SafetensorsHostile, UnknownDtype) {
  expect_error(one_tensor(R"({"dtype":"F7","shape":[2],"data_offsets":[0,8]})"),
               "tensor \"a\": unknown dtype \"F7\"");
  // GGML block types are no safetensors dtypes.
  expect_error(one_tensor(R"({"dtype":"Q4_K","shape":[256],"data_offsets":[0,144]})", 144),
               "tensor \"a\": unknown dtype \"Q4_K\"");
  expect_error(one_tensor(R"({"dtype":"f32","shape":[2],"data_offsets":[0,8]})"), "unknown dtype \"f32\"");
}

TEST(SafetensorsHostile, BadShapesAndOffsets) {
  // {tensor entry, expected problem}
  const std::pair<const char*, const char*> cases[] = {
      {R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})",
       "dim 0 is not a non-negative integer"},
      {R"({"dtype":"F32","shape":[1,2.5],"data_offsets":[0,8]})",
       "dim 1 is not a non-negative integer"},
      {R"({"dtype":"F32","shape":[2.0],"data_offsets":[0,8]})",
       "dim 0 is not a non-negative integer"},
      {R"({"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,8]})",
       "dim 0 is not a non-negative integer"},
      {R"({"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,8]})",
       "dim 0 is too large"},
      {R"({"dtype":"F32","shape":["2"],"data_offsets":[0,8]})",
       "dim 0 is not a non-negative integer"},
      {R"({"dtype":"F32","shape":2,"data_offsets":[0,8]})",
       "shape is an integer, not an array"},
      {R"({"dtype":"I64","shape":[4294967296,4294967296],"data_offsets":[0,8]})",
       "overflows"},
      {R"({"dtype":"U8","shape":[4294967296,2147483648],"data_offsets":[0,8]})",
       "overflows"},  // 2^63 elements: past int64
      {R"({"dtype":"F64","shape":[1152921504606846976],"data_offsets":[0,8]})",
       "overflows"},  // 2^60 x 8 bytes
      // data_offsets
      {R"({"dtype":"F32","shape":[2],"data_offsets":[0,12]})",
       "tensor \"a\": data_offsets [0, 12] run past the end of the data (8 bytes)"},
      {R"({"dtype":"F32","shape":[2],"data_offsets":[18446744073709551615,8]})",
       "begin after end"},
      {R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})",
       "data_offsets [8, 0] begin after end"},
      {R"({"dtype":"F32","shape":[2],"data_offsets":[0,4]})",
       "data_offsets [0, 4] hold 4 bytes but F32 [2] needs 8"},
      {R"({"dtype":"F32","shape":[2],"data_offsets":[0]})",
       "data_offsets must be an array [begin, end]"},
      {R"({"dtype":"F32","shape":[2],"data_offsets":[0,8,8]})",
       "data_offsets must be an array"},
      {R"({"dtype":"F32","shape":[2],"data_offsets":[-1,7]})",
       "are not non-negative integers"},
      {R"({"dtype":"F32","shape":[2],"data_offsets":[0,8.0]})",
       "are not non-negative integers"},
  };
  for (const auto& [entry, problem] : cases) {
    SCOPED_TRACE(entry);
    expect_error(one_tensor(entry), problem);
  }
}

TEST(SafetensorsHostile, Overlap) {
  expect_error(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                     R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                     std::vector<uint8_t>(8)),
               "tensors \"a\" [0, 8] and \"b\" [4, 8] overlap");
  expect_error(image(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                     R"("b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
                     std::vector<uint8_t>(4)),
               "overlap");
  expect_error(image(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},)"
                     R"("s":{"dtype":"U8","shape":[1],"data_offsets":[2,3]},)"
                     R"("b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}})",
                     std::vector<uint8_t>(8)),
               "overlap");
}

// ---- checkpoints --------------------------------------------------------------------------

TEST(SafetensorsCheckpointHostile, MissingPath) {
  expect_open_error(kDataDir + "/nope.safetensors", kDataDir + "/nope.safetensors",
                    "no such file or directory");
  TempDir tmp;
  expect_open_error(tmp.path.string(), tmp.path.string(), "no *.safetensors files");
}

TEST(SafetensorsCheckpointHostile, IndexPointsAtMissingShard) {
  TempDir tmp;
  json wm = fixture_weight_map();
  wm["lm_head.weight"] = "model-00003-of-00002.safetensors";
  copy_shards(tmp.path, index_json(wm));
  const std::string index = (tmp.path / "model.safetensors.index.json").string();
  expect_open_error(tmp.path.string(), index, "model-00003-of-00002.safetensors");
  expect_open_error(tmp.path.string(), index, "listed in weight_map is missing");
}

TEST(SafetensorsCheckpointHostile, IndexTensorMissingFromShard) {
  TempDir tmp;
  json wm = fixture_weight_map();
  wm["model.layers.2.mlp.gate.weight"] = "model-00001-of-00002.safetensors";
  copy_shards(tmp.path, index_json(wm));
  const std::string index = (tmp.path / "model.safetensors.index.json").string();
  expect_open_error(tmp.path.string(), index,
                    "tensor \"model.layers.2.mlp.gate.weight\" listed in weight_map is missing "
                    "from its shard");
  // Listed in the wrong shard.
  wm = fixture_weight_map();
  wm["lm_head.weight"] = "model-00001-of-00002.safetensors";
  write_text(tmp.path / "model.safetensors.index.json", index_json(wm));
  expect_open_error(tmp.path.string(), index, "(it is in ");
}

TEST(SafetensorsCheckpointHostile, IndexPathEscapes) {
  TempDir tmp;
  const std::string index = (tmp.path / "model.safetensors.index.json").string();
  json wm = fixture_weight_map();
  wm["lm_head.weight"] = "../model-00002-of-00002.safetensors";
  copy_shards(tmp.path, index_json(wm));
  expect_open_error(tmp.path.string(), index, "escapes the checkpoint directory");
  wm["lm_head.weight"] = "sub/../../x.safetensors";
  write_text(index, index_json(wm));
  expect_open_error(tmp.path.string(), index, "escapes the checkpoint directory");
  wm["lm_head.weight"] = kDataDir + "/sharded/model-00002-of-00002.safetensors";
  write_text(index, index_json(wm));
  expect_open_error(tmp.path.string(), index, "absolute");
  wm["lm_head.weight"] = "";
  write_text(index, index_json(wm));
  expect_open_error(tmp.path.string(), index, "empty shard file name");
  wm["lm_head.weight"] = 3;
  write_text(index, index_json(wm));
  expect_open_error(tmp.path.string(), index, "not a file name string");
  write_text(index, R"({"weight_map":{"a":"x.safetensors","a":"y.safetensors"}})");
  expect_open_error(tmp.path.string(), index, "duplicate key \"a\"");
  write_text(index, R"({"metadata":{}})");
  expect_open_error(tmp.path.string(), index, "no \"weight_map\"");
  write_text(index, R"({"weight_map":)");
  expect_open_error(tmp.path.string(), index, "invalid JSON in index");
  write_text(index, "");
  expect_open_error(tmp.path.string(), index, "invalid JSON in index");
}

TEST(SafetensorsCheckpointHostile, TensorInTwoShards) {
  TempDir tmp;
  copy_shards(tmp.path, "");
  fs::copy_file(kDataDir + "/sharded/model-00001-of-00002.safetensors", tmp.path / "z.safetensors");
  expect_open_error(tmp.path.string(), (tmp.path / "z.safetensors").string(), "is also in");
  // With an index too: the extra shard listed for one tensor brings a duplicate of the other.
  json wm = fixture_weight_map();
  wm["model.embed_tokens.weight"] = "z.safetensors";
  write_text(tmp.path / "model.safetensors.index.json", index_json(wm));
  expect_open_error(tmp.path.string(), (tmp.path / "z.safetensors").string(), "is also in");
}

TEST(SafetensorsCheckpointHostile, BrokenShardNamesShard) {
  TempDir tmp;
  copy_shards(tmp.path, index_json(fixture_weight_map()));
  const fs::path shard = tmp.path / "model-00002-of-00002.safetensors";
  auto bytes = read_bytes(shard.string());
  bytes.resize(bytes.size() - 1);
  write_bytes(shard, bytes);
  expect_open_error(tmp.path.string(), shard.string(), "run past the end of the data");
}

// Weights from GGUF files of every block type our quantizers write, and the loader's errors.
// Each case starts from a golden file made by llama.cpp's converter (qwen3-moe-f32: a GQA MoE with
// q/k norms; deepseek-v3-f32: MLA + V3 routing) and rewrites it with our GgufWriter:
//   - every matrix whose rows allow it stored as type T, against the same file with those values
//     widened back to F32: the logits must agree to 1e-5 on ref and cpu (the engine must read T as
//     the registry dequantizes it; whether T is accurate is the quant tests' business);
//   - a tensor dropped, or given the wrong shape: make_model throws an Error naming the file and the
//     tensor.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "golden_harness.h"
#include "core/tensor_type.h"
#include "io/gguf_file.h"
#include "schwarm/error.h"

namespace schwarm {
namespace {

// The Golden suite of the harness is instantiated by the golden test files, not here.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Golden);

std::string tmp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("schwarm-weights-" + std::to_string(::getpid()) + "-" + name)).string();
}

std::vector<float> to_f32(const TensorView& t) {
  std::vector<float> out(static_cast<size_t>(t.numel()));
  type_traits(t.type).dequantize(t.data.data(), out.data(), t.numel());
  return out;
}

std::span<const uint8_t> bytes_of(const std::vector<float>& v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(float)};
}

// Copies `src` with a per-tensor edit: edit(view, writer) adds the tensor (or not).
template <class Edit>
std::string rewrite(const std::string& src, const std::string& out_name, Edit edit) {
  const GgufFile in = GgufFile::open(src);
  GgufWriter w;
  for (const auto& [k, v] : in.metadata()) w.set(k, v);
  for (const TensorView& t : in.tensors()) edit(t, w);
  const std::string path = tmp_path(out_name);
  w.write(path);
  return path;
}

// A router (ffn_gate_inp) stays F32, as llama.cpp's converter keeps it.
bool quantizable(const TensorView& t, TensorType type) {
  return t.shape.size() >= 2 && t.name.find("ffn_gate_inp") == std::string::npos &&
         t.shape.back() % type_traits(type).block_size == 0;
}

std::vector<float> prompt_logits(const std::string& path, const std::string& backend, const std::vector<int32_t>& prompt) {
  const Checkpoint cp = Checkpoint::open(path);
  const std::unique_ptr<Model> model = make_model(cp);
  const std::unique_ptr<Backend> be = backend == "ref" ? make_ref_backend() : make_cpu_backend(2);
  std::vector<std::vector<float>> layers;
  return run_prompt_keeping_layers(*model, *be, prompt, layers);
}

struct TypeCase {
  std::string golden_case;
  TensorType type;
};
void PrintTo(const TypeCase& c, std::ostream* os) { *os << c.golden_case << "/" << tensor_type_name(c.type); }

class GgufWeightTypes : public ::testing::TestWithParam<TypeCase> {};

TEST_P(GgufWeightTypes, ReadAsTheRegistryDequantizes) {
  const TypeCase& c = GetParam();
  const std::string src = case_dir(c.golden_case) + "/gguf/" + c.golden_case + "-f32.gguf";
  const std::string tname(tensor_type_name(c.type));
  int converted = 0;
  const std::string typed = rewrite(src, c.golden_case + "-" + tname + ".gguf", [&](const TensorView& t, GgufWriter& w) {
    if (!quantizable(t, c.type)) return w.add_tensor(t.name, t.type, t.shape, t.data);
    const std::vector<float> x = to_f32(t);
    std::vector<uint8_t> q(*tensor_nbytes(c.type, t.shape));
    type_traits(c.type).quantize(x.data(), q.data(), t.numel());
    w.add_tensor(t.name, c.type, t.shape, q);
    ++converted;
  });
  const std::string widened = rewrite(typed, c.golden_case + "-" + tname + "-widened.gguf", [](const TensorView& t, GgufWriter& w) {
    if (t.type == TensorType::F32) return w.add_tensor(t.name, t.type, t.shape, t.data);
    const std::vector<float> x = to_f32(t);
    w.add_tensor(t.name, TensorType::F32, t.shape, bytes_of(x));
  });
  ASSERT_GT(converted, 10) << "too few matrices could be stored as " << tname;
  const auto prompt = read_json(case_dir(c.golden_case) + "/reference/prompt.json")["ids"].get<std::vector<int32_t>>();
  const int64_t vocab = 512;
  for (const char* backend : {"ref", "cpu"}) {
    const std::vector<float> a = prompt_logits(typed, backend, prompt), b = prompt_logits(widened, backend, prompt);
    const double err = max_rel_error(a, b, vocab);
    std::printf("[weights] %s as %s (%d matrices)/%s: vs widened to F32 %.3g\n", c.golden_case.c_str(), tname.c_str(),
                converted, backend, err);
    EXPECT_LE(err, 1e-5) << backend;
  }
  std::filesystem::remove(typed);
  std::filesystem::remove(widened);
}

INSTANTIATE_TEST_SUITE_P(
    Golden, GgufWeightTypes,
    ::testing::Values(TypeCase{"qwen3-moe", TensorType::F16}, TypeCase{"qwen3-moe", TensorType::BF16},
                      TypeCase{"qwen3-moe", TensorType::Q4_0}, TypeCase{"qwen3-moe", TensorType::Q4_1},
                      TypeCase{"qwen3-moe", TensorType::Q5_0}, TypeCase{"qwen3-moe", TensorType::Q5_1},
                      TypeCase{"qwen3-moe", TensorType::Q8_0}, TypeCase{"deepseek-v3", TensorType::Q4_0},
                      TypeCase{"deepseek-v3", TensorType::BF16}),
    [](const ::testing::TestParamInfo<TypeCase>& p) {
      std::string n = p.param.golden_case + "_" + std::string(tensor_type_name(p.param.type));
      for (char& ch : n)
        if (ch == '-') ch = '_';
      return n;
    });

// make_model on `path` must throw an Error whose text contains every one of `parts`.
void expect_load_error(const std::string& path, std::initializer_list<std::string> parts) {
  try {
    const Checkpoint cp = Checkpoint::open(path);
    (void)make_model(cp);
    ADD_FAILURE() << "no error for " << path;
  } catch (const Error& e) {
    for (const std::string& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

TEST(ModelWeights, MissingTensorIsAnErrorNamingFileAndTensor) {
  for (const char* golden_case : {"qwen3-moe", "deepseek-v3"}) {
    const std::string src = case_dir(golden_case) + "/gguf/" + golden_case + "-f32.gguf";
    const std::string dropped = "blk.1.ffn_down_exps.weight";
    const std::string path = rewrite(src, std::string(golden_case) + "-missing.gguf", [&](const TensorView& t, GgufWriter& w) {
      if (t.name != dropped) w.add_tensor(t.name, t.type, t.shape, t.data);
    });
    expect_load_error(path, {path, dropped});
    std::filesystem::remove(path);
  }
}

TEST(ModelWeights, MisshapedTensorIsAnErrorNamingFileTensorAndShape) {
  const std::string src = case_dir("qwen3-moe") + "/gguf/qwen3-moe-f32.gguf";
  const std::string bad = "blk.0.attn_q.weight";
  const std::string path = rewrite(src, "qwen3-moe-misshaped.gguf", [&](const TensorView& t, GgufWriter& w) {
    if (t.name != bad) return w.add_tensor(t.name, t.type, t.shape, t.data);
    std::vector<int64_t> shape = t.shape;
    shape[0] /= 2;  // half the rows: same type, fewer bytes
    w.add_tensor(t.name, t.type, shape, t.data.subspan(0, t.data.size() / 2));
  });
  expect_load_error(path, {path, bad, "shape"});
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace schwarm

// Golden tests on GGUF files made by llama.cpp's own converter (convert_hf_to_gguf.py, via
// tools/fixtures/make_golden_gguf.py): tests/data/golden/<case>/gguf/<case>-{f32,f16,q8_0}.gguf,
// the same tiny seeded checkpoints as golden_deepseek_test / golden_gqa_test, so the oracle is the
// same transformers fp32 reference (reference/logits.npy, continuation.json). On ref and cpu:
//   - f32 (bf16 weights widened exactly): ||a - b|| / ||b|| <= 1e-4 per prompt position, and the
//     32-token greedy continuation identical;
//   - f16: every bf16 weight of these checkpoints is exactly representable in f16 (8 mantissa
//     bits fit in 11; the exponents stay within f16's range, apart from tiny values that land in
//     f16's subnormals with an absolute error <= 3e-8), so f16 files must be as tight as f32 (observed <= 4.4e-6):
//     1e-4 and the identical continuation. deepseek-v3-fp8 is the exception: the converter
//     dequantizes FP8 x f32 block scale, whose products need more than f16's 11 bits; its f16
//     file is held to kFp8F16Tol (observed below) and top-1 agreement, the continuation checked
//     only as far as the reference margins allow (see there);
//   - q8_0: per-case limits (kQ8Limits, see there why top-1 cannot agree everywhere) and the greedy
//     continuation identical up to the first reference step with a margin < 0.25.
// Every (case, type) the fixture script writes is listed here; a missing file is a failure.
#include "golden_harness.h"

#include <cstdlib>
#include <filesystem>

namespace schwarm {
namespace {

// q8_0 (llama.cpp quantizes every matrix here, token_embd included, to 32-value blocks with an f16
// scale): the noise at the embedding is 0.6% relative (theory for Gaussian blocks: absmax/127/sqrt(12)
// over the RMS, ~0.5%), 1.7-8% at the logits where every discrete decision survives (qwen3-moe,
// mixtral, deepseek-v2-lite). These fixtures are built to make routing discriminating (router
// decisions only >= 1e-3 from a tie), so that much noise flips some experts: the per-layer profile
// shows the error jump at the first MoE layer (deepseek-v3: 3.8% after the dense layer 0, 37% after
// layer 1), and a flipped expert moves a position's logits by tens of percent. The prompt positions
// were not chosen for their margins either (only the continuation was): even dense llama, at 4%
// error, changes the top-1 token at 4 of 32 positions. So q8_0 cannot be
// held to one tolerance and top-1 everywhere against the fp32 reference; each case is held to its
// observed figures with headroom (a regression guard, not an accuracy claim): max relative error
// per position, and the least number of the 32 prompt positions whose top-1 token must agree.
struct Q8Limit {
  const char* golden_case;
  double tol;       // observed max, ref and cpu alike (they agree to 1e-6)
  int min_top1;     // observed agreement
};
constexpr Q8Limit kQ8Limits[] = {
    {"deepseek-v2-lite", 0.1, 32},  // 0.0765, 32/32
    {"deepseek-v2", 0.5, 30},       // 0.363, 30/32 (routing flips at layer 2)
    {"deepseek-v3", 0.6, 29},       // 0.490, 29/32 (routing flips at layer 1)
    {"deepseek-v3-fp8", 0.7, 26},   // 0.546, 26/32 (routing flips at layer 1)
    {"qwen3-moe", 0.05, 32},        // 0.0165, 32/32
    {"mixtral", 0.05, 31},          // 0.0312, 31/32
    {"olmoe", 0.25, 29},            // 0.181, 29/32
    {"llama", 0.06, 28},            // 0.0400, 28/32 (dense: near-ties at prompt positions)
};
const Q8Limit& q8_limit(const std::string& c) {
  for (const Q8Limit& l : kQ8Limits)
    if (c == l.golden_case) return l;
  throw std::runtime_error("no q8_0 limit for " + c);
}
// f16 of the dequantized FP8 weights (fp8 x f32 block scale needs more than f16's 11 bits, so each
// weight is rounded, 2^-12 relative): observed 2.16e-3 on ref and cpu, held to 5e-3.
constexpr double kFp8F16Tol = 5e-3;

struct GgufParam {
  std::string golden_case;
  std::string type;  // f32, f16, q8_0
  std::string backend;
};
void PrintTo(const GgufParam& p, std::ostream* os) { *os << p.golden_case << "-" << p.type << "/" << p.backend; }

// argmax of each row of `cols` values.
std::vector<int64_t> row_argmax(std::span<const float> x, int64_t cols) {
  std::vector<int64_t> out;
  for (size_t r = 0; r * static_cast<size_t>(cols) < x.size(); ++r) {
    const auto row = x.subspan(r * static_cast<size_t>(cols), static_cast<size_t>(cols));
    out.push_back(std::max_element(row.begin(), row.end()) - row.begin());
  }
  return out;
}

class GoldenGguf : public ::testing::TestWithParam<GgufParam> {
 protected:
  void SetUp() override {
    const GgufParam& p = GetParam();
    dir_ = case_dir(p.golden_case);
    path_ = dir_ + "/gguf/" + p.golden_case + "-" + p.type + ".gguf";
    ASSERT_TRUE(std::filesystem::is_regular_file(path_))
        << path_ << " is missing: run tools/fixtures/make_golden_gguf.py (see tools/fixtures/README-golden.md)";
    cp_ = std::make_unique<Checkpoint>(Checkpoint::open(path_));
    ASSERT_EQ(cp_->format(), CheckpointFormat::Gguf);
    model_ = make_model(*cp_);
    backend_ = p.backend == "ref" ? make_ref_backend() : make_cpu_backend(2);
    prompt_ = read_json(dir_ + "/reference/prompt.json")["ids"].get<std::vector<int32_t>>();
    vocab_ = model_->config().vocab_size;
  }
  double tolerance() const {
    const GgufParam& p = GetParam();
    if (p.type == "q8_0") return q8_limit(p.golden_case).tol;
    if (p.type == "f16" && p.golden_case == "deepseek-v3-fp8") return kFp8F16Tol;
    return kTol;
  }
  bool exact_type() const { return tolerance() == kTol; }

  std::string dir_, path_;
  std::unique_ptr<Checkpoint> cp_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Backend> backend_;
  std::vector<int32_t> prompt_;
  int64_t vocab_ = 0;
};

TEST_P(GoldenGguf, PromptLogitsMatchTransformers) {
  const NpyArray ref = read_npy_f32(dir_ + "/reference/logits.npy");
  ASSERT_EQ(ref.shape, (std::vector<int64_t>{static_cast<int64_t>(prompt_.size()), vocab_}));
  std::vector<std::vector<float>> layer_out;
  const std::vector<float> logits = run_prompt_keeping_layers(*model_, *backend_, prompt_, layer_out);
  ASSERT_EQ(logits.size(), ref.data.size());
  const double err = max_rel_error(logits, ref.data, vocab_);
  const std::vector<int64_t> got = row_argmax(logits, vocab_), want = row_argmax(ref.data, vocab_);
  int agree = 0;
  for (size_t i = 0; i < got.size(); ++i) agree += got[i] == want[i];
  std::printf("[golden-gguf] %s-%s/%s: max relative logit error per position %.3g (tolerance %.3g), top-1 %d/%zu\n",
              GetParam().golden_case.c_str(), GetParam().type.c_str(), GetParam().backend.c_str(), err, tolerance(),
              agree, got.size());
  EXPECT_LE(err, tolerance());
  if (err > tolerance() || std::getenv("SCHWARM_GOLDEN_LAYERS"))  // where does it start to go wrong?
    print_layer_errors(dir_, layer_out);
  if (GetParam().type == "q8_0") {
    EXPECT_GE(agree, q8_limit(GetParam().golden_case).min_top1) << "top-1 agreement over the prompt positions";
    return;
  }
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], want[i]) << "top-1 token at prompt position " << i;
}

TEST_P(GoldenGguf, GreedyContinuationMatches) {
  const nlohmann::json cont = read_json(dir_ + "/reference/continuation.json");
  const auto expected = cont["ids"].get<std::vector<int32_t>>();
  Engine engine(*model_, *backend_, {.cache_tokens = 128, .page_tokens = 8});
  const int64_t id = engine.submit(prompt_, static_cast<int64_t>(expected.size()));
  engine.run();
  const std::vector<int32_t>& got = engine.output(id);
  ASSERT_EQ(got.size(), expected.size());
  if (exact_type()) {  // f32 and exact f16: the whole continuation
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], expected[i]) << "first difference at step " << i << " (reference margin there "
                                     << cont["steps"][i]["margin"].get<double>() << ")";
    return;
  }
  // Approximate weights: greedy paths may part at a near-tie of the reference and then differ
  // legitimately; report how far they agree, and require agreement up to the first step whose
  // reference margin is small enough for the observed error to flip it (margin < 0.25 for q8_0,
  // < 0.02 for fp8-as-f16).
  const double flip = GetParam().type == "q8_0" ? 0.25 : 0.02;
  size_t same = 0;
  while (same < got.size() && got[same] == expected[same]) ++same;
  size_t must = 0;
  while (must < expected.size() && cont["steps"][must]["margin"].get<double>() >= flip) ++must;
  std::printf("[golden-gguf] %s-%s/%s: greedy continuation identical for %zu of %zu steps (required %zu)\n",
              GetParam().golden_case.c_str(), GetParam().type.c_str(), GetParam().backend.c_str(), same, got.size(),
              must);
  EXPECT_GE(same, must);
}

// f32 files only for these (repository size); f16 and q8_0 for every case.
const std::string kF32Cases[] = {"deepseek-v3", "qwen3-moe"};

std::vector<GgufParam> gguf_params() {
  std::vector<GgufParam> out;
  for (const char* t : {"f32", "f16", "q8_0"})
    for (const Param& p : golden_params({"deepseek-v2-lite", "deepseek-v2", "deepseek-v3", "deepseek-v3-fp8",
                                          "qwen3-moe", "mixtral", "olmoe", "llama"})) {
      if (std::string(t) == "f32" && std::find(std::begin(kF32Cases), std::end(kF32Cases), p.golden_case) == std::end(kF32Cases))
        continue;
      out.push_back({p.golden_case, t, p.backend});
    }
  return out;
}

std::string gguf_param_name(const ::testing::TestParamInfo<GgufParam>& p) {
  return golden_param_name({Param{p.param.golden_case + "-" + p.param.type, p.param.backend}, p.index});
}

// The harness's Golden suite runs on the safetensors checkpoints (golden_deepseek_test,
// golden_gqa_test); here only its helpers are used.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Golden);

INSTANTIATE_TEST_SUITE_P(Converted, GoldenGguf, ::testing::ValuesIn(gguf_params()), gguf_param_name);

}  // namespace
}  // namespace schwarm

#pragma once
// The golden test suite shared by every family (golden_deepseek_test.cpp, golden_gqa_test.cpp):
// a family's forward pass against transformers' fp32 logits on tiny seeded checkpoints
// (tests/data/golden/, see tools/fixtures/README-golden.md). Include it from exactly one test file
// per executable and instantiate the `Golden` suite with that family's cases, e.g.
//   INSTANTIATE_TEST_SUITE_P(DeepSeek, Golden, ::testing::ValuesIn(golden_params({"deepseek-v3"})), golden_param_name);
// Each case runs on the ref, the cpu and the cuda backend (skipped, saying why, without a GPU):
//   - logits of every prompt position: ||a - b|| / ||b|| <= 1e-4 per position (on failure the
//     per-layer error against hidden_states.npy is printed);
//   - the 32-token greedy continuation through the Engine and the KV cache: identical ids;
//   - cache: prefill N then decode 1 == row N of a full prefill, with small, fragmented pages;
//   - batch: 3 prompts of different lengths in one forward == each alone (batch_logits.npy);
//   - mixed batch: one request decoding while another prefills == each alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "io/checkpoint.h"
#include "model/model.h"
#include "runtime/engine.h"
#include "runtime/kv_cache.h"
#include "runtime/npy.h"

namespace schwarm {
namespace {

constexpr double kTol = 1e-4;

std::string case_dir(const std::string& name) { return std::string(SCHWARM_TEST_DATA_DIR) + "/golden/" + name; }

nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path);
  return nlohmann::json::parse(f);
}

// max over rows of ||a_r - b_r|| / ||b_r||, rows of `cols` values.
double max_rel_error(std::span<const float> a, std::span<const float> b, int64_t cols) {
  double worst = 0;
  for (size_t r = 0; r * static_cast<size_t>(cols) < b.size(); ++r) {
    double d = 0, n = 0;
    for (int64_t c = 0; c < cols; ++c) {
      const size_t i = r * static_cast<size_t>(cols) + static_cast<size_t>(c);
      d += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
      n += static_cast<double>(b[i]) * b[i];
    }
    worst = std::max(worst, std::sqrt(d) / std::sqrt(n));
  }
  return worst;
}

// Runs sequences laid out in one batch over a fresh cache; returns logits of every token.
struct Runner {
  Model& model;
  Backend& backend;
  KvCache cache;
  Runner(Model& m, Backend& b, int64_t pages, int64_t page_tokens)
      : model(m), backend(b), cache(m.kv_layout(), pages, page_tokens) {}

  // tokens of several (seq id, ids, first pos) chunks, in one forward.
  struct Chunk {
    int32_t seq;
    std::vector<int32_t> ids;
    int32_t first_pos;
  };
  std::vector<float> run(const std::vector<Chunk>& chunks, const ForwardOptions& fo = {}) {
    std::vector<int32_t> tokens, seq, pos;
    for (const Chunk& c : chunks) {
      cache.reserve(c.seq, c.first_pos + static_cast<int64_t>(c.ids.size()));
      for (size_t i = 0; i < c.ids.size(); ++i) {
        tokens.push_back(c.ids[i]);
        seq.push_back(c.seq);
        pos.push_back(c.first_pos + static_cast<int32_t>(i));
      }
    }
    BatchLayout b;
    b.n_tokens = static_cast<int64_t>(tokens.size());
    b.seq = seq;
    b.pos = pos;
    b.page_table = cache.page_tables();
    b.page_tokens = cache.page_tokens();
    return model.forward(b, tokens, cache.layers(), backend, fo);
  }
};

struct Param {
  std::string golden_case;
  std::string backend;
};
void PrintTo(const Param& p, std::ostream* os) { *os << p.golden_case << "/" << p.backend; }

// Runs the whole prompt as one sequence and keeps the embedding, every layer's output and the
// final norm (the rows of the reference hidden_states.npy) in layer_out.
inline std::vector<float> run_prompt_keeping_layers(Model& model, Backend& backend, const std::vector<int32_t>& prompt,
                                                    std::vector<std::vector<float>>& layer_out) {
  Runner r(model, backend, 4, 16);
  const int32_t s = r.cache.add_sequence();
  ForwardOptions fo;
  fo.dump = [&](const std::string& name, int64_t, std::span<const float> d, int64_t, int64_t) {
    if (name == "layer_out" || name == "embed" || name == "final_norm") layer_out.emplace_back(d.begin(), d.end());
  };
  return r.run({{s, prompt, 0}}, fo);
}

// The prompt's logits (every position) run as one sequence, against a reference logits.npy
// [prompt length, vocab]: err is the max relative error per position; layer_out as above.
struct PromptCheck {
  std::vector<float> logits;
  NpyArray ref;
  double err = 0;
  std::vector<std::vector<float>> layer_out;
};
inline PromptCheck check_prompt_logits(Model& model, Backend& backend, const std::vector<int32_t>& prompt,
                                       const std::string& logits_npy, int64_t vocab) {
  PromptCheck c;
  c.ref = read_npy_f32(logits_npy);
  if (c.ref.shape != std::vector<int64_t>{static_cast<int64_t>(prompt.size()), vocab})
    throw std::runtime_error(logits_npy + ": shape is not [prompt length, vocab]");
  c.logits = run_prompt_keeping_layers(model, backend, prompt, c.layer_out);
  if (c.logits.size() != c.ref.data.size()) throw std::runtime_error("logits of the wrong size");
  c.err = max_rel_error(c.logits, c.ref.data, vocab);
  return c;
}

// argmax of each row of `cols` values.
inline std::vector<int64_t> row_argmax(std::span<const float> x, int64_t cols) {
  std::vector<int64_t> out;
  for (size_t r = 0; r * static_cast<size_t>(cols) < x.size(); ++r) {
    const auto row = x.subspan(r * static_cast<size_t>(cols), static_cast<size_t>(cols));
    out.push_back(std::max_element(row.begin(), row.end()) - row.begin());
  }
  return out;
}

// Prints the relative error of each kept layer against the reference hidden states of dir.
inline void print_layer_errors(const std::string& dir, const std::vector<std::vector<float>>& layer_out) {
  const NpyArray hs = read_npy_f32(dir + "/reference/hidden_states.npy");  // [L + 2, T, hidden]
  const int64_t hid = hs.shape[2], per = hs.shape[1] * hid;
  for (size_t i = 0; i < layer_out.size() && static_cast<int64_t>(i) < hs.shape[0]; ++i)
    std::printf("  hidden_states[%zu]: max rel error %.3g\n", i,
                max_rel_error(layer_out[i], std::span<const float>(hs.data).subspan(i * static_cast<size_t>(per), static_cast<size_t>(per)), hid));
}

// Runs the prompt's greedy continuation through the Engine and the KV cache and checks it, id for
// id, against a reference continuation.json ("ids", per-step "margin", "min_margin").
inline void expect_greedy_continuation(Model& model, Backend& backend, const std::vector<int32_t>& prompt,
                                       const std::string& continuation_json) {
  const nlohmann::json cont = read_json(continuation_json);
  const auto expected = cont["ids"].get<std::vector<int32_t>>();
  Engine engine(model, backend, {.cache_tokens = 128, .page_tokens = 8});
  const int64_t id = engine.submit(prompt, static_cast<int64_t>(expected.size()));
  engine.run();
  const std::vector<int32_t>& got = engine.output(id);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(got[i], expected[i]) << "first difference at step " << i << " (reference margin there "
                                   << cont["steps"][i]["margin"].get<double>() << ", min_margin "
                                   << cont["min_margin"].get<double>() << ")";
  EXPECT_EQ(engine.cache().free_pages(), engine.cache().n_pages()) << "finished requests return their pages";
}

// The backend a golden case names ("ref", "cpu" with 2 threads, "cuda"); nullptr where this machine
// has none (cuda without a GPU): the caller skips with why_no_backend().
inline std::unique_ptr<Backend> make_golden_backend(const std::string& name) {
  if (name == "cuda") return make_cuda_backend();
  return name == "ref" ? make_ref_backend() : make_cpu_backend(2);
}
inline std::string why_no_backend(const std::string& name) {
  return name + " backend not available here: " +
         (cuda_backend_compiled() ? "no CUDA device on this machine" : "built without CUDA");
}

class Golden : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    dir_ = case_dir(GetParam().golden_case);
    cp_ = std::make_unique<Checkpoint>(Checkpoint::open(dir_));
    model_ = make_model(*cp_);
    backend_ = make_golden_backend(GetParam().backend);
    if (!backend_) GTEST_SKIP() << why_no_backend(GetParam().backend);
    prompt_ = read_json(dir_ + "/reference/prompt.json")["ids"].get<std::vector<int32_t>>();
    vocab_ = model_->config().vocab_size;
  }
  std::string dir_;
  std::unique_ptr<Checkpoint> cp_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Backend> backend_;
  std::vector<int32_t> prompt_;
  int64_t vocab_ = 0;
};

TEST_P(Golden, PromptLogitsMatchTransformers) {
  const NpyArray ref = read_npy_f32(dir_ + "/reference/logits.npy");
  ASSERT_EQ(ref.shape, (std::vector<int64_t>{static_cast<int64_t>(prompt_.size()), vocab_}));
  std::vector<std::vector<float>> layer_out;
  const std::vector<float> logits = run_prompt_keeping_layers(*model_, *backend_, prompt_, layer_out);
  const double err = max_rel_error(logits, ref.data, vocab_);
  std::printf("[golden] %s/%s: max relative logit error per position %.3g\n", GetParam().golden_case.c_str(),
              GetParam().backend.c_str(), err);
  EXPECT_LE(err, kTol);
  if (err > kTol) print_layer_errors(dir_, layer_out);  // where does it start to go wrong?
}

TEST_P(Golden, GreedyContinuationMatches) {
  expect_greedy_continuation(*model_, *backend_, prompt_, dir_ + "/reference/continuation.json");
}

TEST_P(Golden, PrefillThenDecodeEqualsLongerPrefill) {
  const NpyArray ref = read_npy_f32(dir_ + "/reference/logits.npy");
  for (int32_t n : {1, 5, 16, 31}) {
    // Small pages and a second sequence interleaving its pages with ours: positions cross pages
    // and the page table is not contiguous.
    Runner r(*model_, *backend_, 32, 4);
    const int32_t s = r.cache.add_sequence(), other = r.cache.add_sequence();
    std::vector<int32_t> head(prompt_.begin(), prompt_.begin() + n);
    for (int32_t p = 0; p < n; p += 4) {
      r.cache.reserve(s, std::min(p + 4, n));
      r.cache.reserve(other, p + 4);
    }
    r.run({{s, head, 0}});
    const std::vector<float> step = r.run({{s, {prompt_[static_cast<size_t>(n)]}, n}});
    const std::span<const float> want = std::span<const float>(ref.data).subspan(static_cast<size_t>(n * vocab_), static_cast<size_t>(vocab_));
    const double err = max_rel_error(step, want, vocab_);
    EXPECT_LE(err, kTol) << "prefill " << n << " then decode 1";
  }
}

TEST_P(Golden, BatchOfDifferentLengthsEqualsEachAlone) {
  const nlohmann::json bj = read_json(dir_ + "/reference/batch.json");
  const NpyArray ref = read_npy_f32(dir_ + "/reference/batch_logits.npy");
  const auto prompts = bj["prompts"].get<std::vector<std::vector<int32_t>>>();
  Runner r(*model_, *backend_, 16, 8);
  std::vector<Runner::Chunk> chunks;
  for (const auto& p : prompts) chunks.push_back({r.cache.add_sequence(), p, 0});
  const std::vector<float> logits = r.run(chunks);
  ASSERT_EQ(logits.size(), ref.data.size());
  const double err = max_rel_error(logits, ref.data, vocab_);
  std::printf("[golden] %s/%s: batch max relative error %.3g\n", GetParam().golden_case.c_str(),
              GetParam().backend.c_str(), err);
  EXPECT_LE(err, kTol);
  // last-token-only output: one row per sequence, in batch order.
  Runner r2(*model_, *backend_, 16, 8);
  for (auto& c : chunks) c.seq = r2.cache.add_sequence();
  const std::vector<float> last = r2.run(chunks, {.last_token_only = true});
  ASSERT_EQ(last.size(), prompts.size() * static_cast<size_t>(vocab_));
  const auto offsets = bj["row_offsets"].get<std::vector<int64_t>>();
  for (size_t i = 0; i < prompts.size(); ++i) {
    const int64_t row = offsets[i] + static_cast<int64_t>(prompts[i].size()) - 1;
    EXPECT_LE(max_rel_error(std::span<const float>(last).subspan(i * static_cast<size_t>(vocab_), static_cast<size_t>(vocab_)),
                            std::span<const float>(ref.data).subspan(static_cast<size_t>(row * vocab_), static_cast<size_t>(vocab_)), vocab_),
              kTol) << "sequence " << i;
  }
}

TEST_P(Golden, DecodeAndPrefillMixedInOneBatch) {
  const auto expected = read_json(dir_ + "/reference/continuation.json")["ids"].get<std::vector<int32_t>>();
  const auto prompts = read_json(dir_ + "/reference/batch.json")["prompts"].get<std::vector<std::vector<int32_t>>>();
  // Alone, for the batch prompt.
  Engine alone(*model_, *backend_, {.cache_tokens = 64, .page_tokens = 4});
  const int64_t b0 = alone.submit(prompts[1], 8);
  alone.run();
  // Together: the main prompt decodes while the batch prompt is prefilled in the same forward.
  Engine mixed(*model_, *backend_, {.cache_tokens = 128, .page_tokens = 4});
  const int64_t a = mixed.submit(prompt_, 12);
  ASSERT_TRUE(mixed.step());
  ASSERT_TRUE(mixed.step());
  const int64_t b = mixed.submit(prompts[1], 8);
  mixed.run();
  EXPECT_EQ(mixed.output(a), std::vector<int32_t>(expected.begin(), expected.begin() + 12));
  EXPECT_EQ(mixed.output(b), alone.output(b0));
}

TEST_P(Golden, OutOfVocabularyIdIsAClearError) {
  Engine engine(*model_, *backend_);
  try {
    engine.submit({1, 2, static_cast<int32_t>(vocab_)}, 1);
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("out of the vocabulary range"), std::string::npos) << e.what();
  }
}

// The backends every golden case runs on.
inline constexpr const char* kGoldenBackends[] = {"ref", "cpu", "cuda"};

inline std::vector<Param> golden_params(std::initializer_list<const char*> cases) {
  std::vector<Param> p;
  for (const char* c : cases)
    for (const char* b : kGoldenBackends) p.push_back({c, b});
  return p;
}

inline std::string golden_param_name(const ::testing::TestParamInfo<Param>& p) {
  std::string n = p.param.golden_case + "_" + p.param.backend;
  for (char& ch : n)
    if (ch == '-') ch = '_';
  return n;
}

}  // namespace
}  // namespace schwarm

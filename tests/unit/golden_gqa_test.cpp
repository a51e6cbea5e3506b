// Golden tests: the GQA family's forward pass (src/model/gqa.cpp: Qwen3-MoE, Mixtral, OLMoE, Llama
// with llama3 rope scaling) against transformers' fp32 logits on tiny seeded checkpoints
// (tests/data/golden/, see tools/fixtures/README-golden.md).
// Each case runs on the ref and the cpu backend:
//   - logits of every prompt position: ||a - b|| / ||b|| <= 1e-4 per position (on failure the
//     per-layer error against hidden_states.npy is printed);
//   - the 32-token greedy continuation through the Engine and the KV cache: identical ids;
//   - cache: prefill N then decode 1 == row N of a full prefill, with small, fragmented pages;
//   - batch: 3 prompts of different lengths in one forward == each alone (batch_logits.npy);
//   - mixed batch: one request decoding while another prefills == each alone;
//   - GGUF: the same weights written as llama.cpp's converter lays them out (names, stacked experts,
//     arch "llama" Q/K rows permuted, llama3 scaling as rope_freqs) give the same logits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "io/checkpoint.h"
#include "io/gguf_file.h"
#include "model/model.h"
#include "model/rope.h"
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

class GoldenGqa : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    dir_ = case_dir(GetParam().golden_case);
    cp_ = std::make_unique<Checkpoint>(Checkpoint::open(dir_));
    model_ = make_model(*cp_);
    backend_ = GetParam().backend == "ref" ? make_ref_backend() : make_cpu_backend(2);
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

TEST_P(GoldenGqa, PromptLogitsMatchTransformers) {
  const NpyArray ref = read_npy_f32(dir_ + "/reference/logits.npy");
  ASSERT_EQ(ref.shape, (std::vector<int64_t>{static_cast<int64_t>(prompt_.size()), vocab_}));
  Runner r(*model_, *backend_, 4, 16);
  const int32_t s = r.cache.add_sequence();
  std::vector<std::vector<float>> layer_out;
  ForwardOptions fo;
  fo.dump = [&](const std::string& name, int64_t, std::span<const float> d, int64_t, int64_t) {
    if (name == "layer_out" || name == "embed" || name == "final_norm") layer_out.emplace_back(d.begin(), d.end());
  };
  const std::vector<float> logits = r.run({{s, prompt_, 0}}, fo);
  const double err = max_rel_error(logits, ref.data, vocab_);
  std::printf("[golden] %s/%s: max relative logit error per position %.3g\n", GetParam().golden_case.c_str(),
              GetParam().backend.c_str(), err);
  EXPECT_LE(err, kTol);
  if (err > kTol) {  // where does it start to go wrong?
    const NpyArray hs = read_npy_f32(dir_ + "/reference/hidden_states.npy");  // [L + 2, T, hidden]
    const int64_t hid = hs.shape[2], per = hs.shape[1] * hid;
    for (size_t i = 0; i < layer_out.size() && static_cast<int64_t>(i) < hs.shape[0]; ++i)
      std::printf("  hidden_states[%zu]: max rel error %.3g\n", i,
                  max_rel_error(layer_out[i], std::span<const float>(hs.data).subspan(i * static_cast<size_t>(per), static_cast<size_t>(per)), hid));
  }
}

// The checkpoint rewritten as a GGUF file the way llama.cpp's converter lays it out: its names,
// experts stacked [E, rows, cols], arch "llama" (Llama, Mixtral) with each head's Q/K rows permuted
// (row 2j <- j, row 2j+1 <- j + d/2), llama3 scaling as the rope_freqs factors. Weights keep their
// type (bf16), so the logits must match the safetensors run.
std::string write_gguf_copy(const Checkpoint& hf, const ModelConfig& c, const std::string& path) {
  const bool llama = c.family == ArchFamily::Llama || c.family == ArchFamily::Mixtral;
  const std::string arch = llama ? "llama" : c.family == ArchFamily::Olmoe ? "olmoe" : "qwen3moe";
  GgufWriter w;
  auto u32 = [](int64_t v) { return GgufValue::u32(static_cast<uint32_t>(v)); };
  w.set("general.architecture", GgufValue::str(arch));
  w.set(arch + ".block_count", u32(c.num_layers));
  w.set(arch + ".context_length", u32(c.max_position_embeddings));
  w.set(arch + ".embedding_length", u32(c.hidden_size));
  w.set(arch + ".feed_forward_length", u32(c.intermediate_size));
  w.set(arch + ".attention.head_count", u32(c.num_heads));
  w.set(arch + ".attention.head_count_kv", u32(c.num_kv_heads));
  w.set(arch + ".attention.key_length", u32(c.head_dim));
  w.set(arch + ".attention.value_length", u32(c.head_dim));
  w.set(arch + ".attention.layer_norm_rms_epsilon", GgufValue::f32(static_cast<float>(c.rms_norm_eps)));
  w.set(arch + ".rope.freq_base", GgufValue::f32(static_cast<float>(c.rope_theta)));
  w.set(arch + ".vocab_size", u32(c.vocab_size));
  if (c.is_moe()) {
    w.set(arch + ".expert_count", u32(c.n_routed_experts));
    w.set(arch + ".expert_used_count", u32(c.num_experts_per_tok));
    w.set(arch + ".expert_feed_forward_length", u32(c.moe_intermediate_size));
    w.set(arch + ".expert_weights_norm", GgufValue::boolean(c.norm_topk_prob));
  }
  auto get = [&](const std::string& name) -> const TensorView& {
    const TensorView* t = hf.find_tensor(name);
    if (!t) throw std::runtime_error("no tensor " + name);
    return *t;
  };
  auto copy = [&](const std::string& to, const std::string& from) {
    const TensorView& t = get(from);
    w.add_tensor(to, t.type, t.shape, t.data);
  };
  auto permuted = [&](const std::string& to, const std::string& from, int64_t heads) {
    const TensorView& t = get(from);
    const int64_t hd = c.head_dim, rows = t.shape[0];
    const size_t row_bytes = t.data.size() / static_cast<size_t>(rows);
    std::vector<uint8_t> out(t.data.size());
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t j = 0; j < hd; ++j) {
        const int64_t src = h * hd + (j % 2 == 0 ? j / 2 : j / 2 + hd / 2);
        std::memcpy(&out[static_cast<size_t>(h * hd + j) * row_bytes], &t.data[static_cast<size_t>(src) * row_bytes], row_bytes);
      }
    w.add_tensor(to, t.type, t.shape, out);
  };
  copy("token_embd.weight", "model.embed_tokens.weight");
  copy("output_norm.weight", "model.norm.weight");
  copy("output.weight", "lm_head.weight");
  if (c.rope_scaling.type == "llama3") {  // factors = plain inv_freq / scaled inv_freq
    ModelConfig plain = c;
    plain.rope_scaling.type = "none";
    const RopeSpec a = make_rope_spec(plain, c.head_dim, RopeStyle::Halves), b = make_rope_spec(c, c.head_dim, RopeStyle::Halves);
    std::vector<float> f(a.inv_freq.size());
    for (size_t i = 0; i < f.size(); ++i) f[i] = a.inv_freq[i] / b.inv_freq[i];
    w.add_tensor("rope_freqs.weight", TensorType::F32, {static_cast<int64_t>(f.size())},
                 std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(f.data()), f.size() * sizeof(float)));
  }
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string hp = "model.layers." + std::to_string(l) + ".", gp = "blk." + std::to_string(l) + ".";
    copy(gp + "attn_norm.weight", hp + "input_layernorm.weight");
    copy(gp + "ffn_norm.weight", hp + "post_attention_layernorm.weight");
    if (llama) {
      permuted(gp + "attn_q.weight", hp + "self_attn.q_proj.weight", c.num_heads);
      permuted(gp + "attn_k.weight", hp + "self_attn.k_proj.weight", c.num_kv_heads);
    } else {
      copy(gp + "attn_q.weight", hp + "self_attn.q_proj.weight");
      copy(gp + "attn_k.weight", hp + "self_attn.k_proj.weight");
      copy(gp + "attn_q_norm.weight", hp + "self_attn.q_norm.weight");
      copy(gp + "attn_k_norm.weight", hp + "self_attn.k_norm.weight");
    }
    copy(gp + "attn_v.weight", hp + "self_attn.v_proj.weight");
    copy(gp + "attn_output.weight", hp + "self_attn.o_proj.weight");
    if (!c.layer_is_moe(l)) {
      for (const char* p : {"gate", "up", "down"}) copy(gp + "ffn_" + p + ".weight", hp + "mlp." + p + "_proj.weight");
      continue;
    }
    const bool mixtral = c.family == ArchFamily::Mixtral;
    const std::string moe = hp + (mixtral ? "block_sparse_moe." : "mlp.");
    copy(gp + "ffn_gate_inp.weight", moe + "gate.weight");
    const std::pair<const char*, const char*> parts[] = {{"gate", mixtral ? "w1" : "gate_proj"},
                                                         {"up", mixtral ? "w3" : "up_proj"},
                                                         {"down", mixtral ? "w2" : "down_proj"}};
    for (const auto& [g, h] : parts) {
      std::vector<uint8_t> bytes;
      std::vector<int64_t> shape;
      for (int64_t e = 0; e < c.n_routed_experts; ++e) {
        const TensorView& t = get(moe + "experts." + std::to_string(e) + "." + h + ".weight");
        bytes.insert(bytes.end(), t.data.begin(), t.data.end());
        shape = {c.n_routed_experts, t.shape[0], t.shape[1]};
      }
      const TensorView& t0 = get(moe + "experts.0." + h + ".weight");
      w.add_tensor(gp + "ffn_" + g + "_exps.weight", t0.type, shape, bytes);
    }
  }
  w.write(path);
  return path;
}

TEST_P(GoldenGqa, GgufLayoutGivesTheSameLogits) {
  const std::string path = ::testing::TempDir() + "/golden_gqa_" + GetParam().golden_case + "_" + GetParam().backend + ".gguf";
  write_gguf_copy(*cp_, model_->config(), path);
  const Checkpoint gcp = Checkpoint::open(path);
  const auto gguf = make_model(gcp);
  EXPECT_EQ(gguf->config().family, model_->config().family);
  const NpyArray ref = read_npy_f32(dir_ + "/reference/logits.npy");
  Runner r(*gguf, *backend_, 4, 16);
  const int32_t s = r.cache.add_sequence();
  const std::vector<float> logits = r.run({{s, prompt_, 0}});
  const double err = max_rel_error(logits, ref.data, vocab_);
  std::printf("[golden] %s/%s gguf: max relative logit error per position %.3g\n", GetParam().golden_case.c_str(),
              GetParam().backend.c_str(), err);
  EXPECT_LE(err, kTol);
  std::filesystem::remove(path);
}

TEST_P(GoldenGqa, GreedyContinuationMatches) {
  const nlohmann::json cont = read_json(dir_ + "/reference/continuation.json");
  const auto expected = cont["ids"].get<std::vector<int32_t>>();
  Engine engine(*model_, *backend_, {.cache_tokens = 128, .page_tokens = 8});
  const int64_t id = engine.submit(prompt_, static_cast<int64_t>(expected.size()));
  engine.run();
  const std::vector<int32_t>& got = engine.output(id);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(got[i], expected[i]) << "first difference at step " << i << " (reference margin there "
                                   << cont["steps"][i]["margin"].get<double>() << ", min_margin "
                                   << cont["min_margin"].get<double>() << ")";
  EXPECT_EQ(engine.cache().free_pages(), engine.cache().n_pages()) << "finished requests return their pages";
}

TEST_P(GoldenGqa, PrefillThenDecodeEqualsLongerPrefill) {
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

TEST_P(GoldenGqa, BatchOfDifferentLengthsEqualsEachAlone) {
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

TEST_P(GoldenGqa, DecodeAndPrefillMixedInOneBatch) {
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

TEST_P(GoldenGqa, OutOfVocabularyIdIsAClearError) {
  Engine engine(*model_, *backend_);
  try {
    engine.submit({1, 2, static_cast<int32_t>(vocab_)}, 1);
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("out of the vocabulary range"), std::string::npos) << e.what();
  }
}

std::vector<Param> params() {
  std::vector<Param> p;
  for (const char* c : {"qwen3-moe", "mixtral", "olmoe", "llama"})
    for (const char* b : {"ref", "cpu"}) p.push_back({c, b});
  return p;
}

std::string param_name(const ::testing::TestParamInfo<Param>& p) {
  std::string n = p.param.golden_case + "_" + p.param.backend;
  for (char& ch : n)
    if (ch == '-') ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenGqa, ::testing::ValuesIn(params()), param_name);

TEST(GoldenGqaLoad, FamilyAndKvLayout) {
  for (const char* name : {"qwen3-moe", "mixtral", "olmoe", "llama"}) {
    const Checkpoint cp = Checkpoint::open(case_dir(name));
    const auto model = make_model(cp);
    const ModelConfig& c = model->config();
    const auto kv = model->kv_layout();
    ASSERT_EQ(static_cast<int64_t>(kv.size()), c.num_layers) << name;
    EXPECT_EQ(kv[0].k_width, c.num_kv_heads * c.head_dim) << name;
    EXPECT_EQ(kv[0].v_width, c.num_kv_heads * c.head_dim) << name;
  }
}

}  // namespace
}  // namespace schwarm

// Golden tests of the GQA family (src/model/gqa.cpp: Qwen3-MoE, Mixtral, OLMoE, Llama with llama3
// rope scaling): the shared suite of golden_harness.h on ref and cpu, plus
//   - GGUF: the same weights written as llama.cpp's converter lays them out (names, stacked experts,
//     arch "llama" Q/K rows permuted, llama3 scaling as rope_freqs) give the same logits;
//   - each case loads as its family with GQA cache widths.
#include "golden_harness.h"

#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <utility>

#include "io/gguf_file.h"
#include "model/rope.h"

namespace schwarm {
namespace {

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

TEST_P(Golden, GgufLayoutGivesTheSameLogits) {
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

INSTANTIATE_TEST_SUITE_P(Gqa, Golden, ::testing::ValuesIn(golden_params({"qwen3-moe", "mixtral", "olmoe", "llama"})),
                         golden_param_name);

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

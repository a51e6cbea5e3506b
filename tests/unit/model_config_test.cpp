// ModelConfig: the published config.json of every supported family parses with its key fields,
// bad input gives errors that name the key, GGUF metadata (as convert_hf_to_gguf.py writes it)
// gives the same config as config.json, and parameter counts match the published figures.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "model/model_config.h"
#include "schwarm/error.h"

namespace schwarm {
namespace {

using json = nlohmann::json;

std::string fixture(const std::string& name) {
  return std::string(SCHWARM_TEST_DATA_DIR) + "/configs/" + name + "/config.json";
}
ModelConfig load(const std::string& name) { return config_from_hf_file(fixture(name)); }

json load_json(const std::string& name) {
  std::ifstream in(fixture(name));
  return json::parse(in);
}

// Expects config_from_hf_json to throw an Error whose text contains every piece.
void expect_error(const json& j, std::initializer_list<std::string> pieces) {
  try {
    config_from_hf_json(j, "test.json");
    ADD_FAILURE() << "no error for " << j.dump();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("test.json: ", 0), 0u) << what;
    for (const auto& p : pieces) EXPECT_NE(what.find(p), std::string::npos) << what << " lacks " << p;
  }
}

// ---- every family parses ------------------------------------------------------------------

TEST(ModelConfigHf, DeepSeekV3) {
  const ModelConfig c = load("DeepSeek-V3");
  EXPECT_EQ(c.architecture, "DeepseekV3ForCausalLM");
  EXPECT_EQ(c.model_type, "deepseek_v3");
  EXPECT_EQ(c.family, ArchFamily::DeepSeek);
  EXPECT_EQ(c.vocab_size, 129280);
  EXPECT_EQ(c.hidden_size, 7168);
  EXPECT_EQ(c.num_layers, 61);
  EXPECT_EQ(c.num_heads, 128);
  EXPECT_EQ(c.num_kv_heads, 128);
  EXPECT_EQ(c.intermediate_size, 18432);
  EXPECT_EQ(c.max_position_embeddings, 163840);
  EXPECT_TRUE(c.mla);
  EXPECT_EQ(c.q_lora_rank, 1536);
  EXPECT_EQ(c.kv_lora_rank, 512);
  EXPECT_EQ(c.qk_nope_head_dim, 128);
  EXPECT_EQ(c.qk_rope_head_dim, 64);
  EXPECT_EQ(c.v_head_dim, 128);
  EXPECT_EQ(c.head_dim, 192);
  EXPECT_EQ(c.n_routed_experts, 256);
  EXPECT_EQ(c.n_shared_experts, 1);
  EXPECT_EQ(c.num_experts_per_tok, 8);
  EXPECT_EQ(c.moe_intermediate_size, 2048);
  EXPECT_EQ(c.shared_expert_intermediate_size, 2048);
  EXPECT_EQ(c.first_k_dense_replace, 3);
  EXPECT_EQ(c.n_group, 8);
  EXPECT_EQ(c.topk_group, 4);
  EXPECT_EQ(c.topk_method, TopkMethod::NoauxTc);
  EXPECT_EQ(c.scoring, MoeScoring::Sigmoid);
  EXPECT_DOUBLE_EQ(c.routed_scaling_factor, 2.5);
  EXPECT_TRUE(c.norm_topk_prob);
  EXPECT_EQ(c.num_nextn_predict_layers, 1);
  EXPECT_EQ(c.quant_method, "fp8");
  EXPECT_EQ(c.fp8_block_size[0], 128);
  EXPECT_EQ(c.fp8_block_size[1], 128);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.rope_scaling.type, "yarn");
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 40.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 4096);
  EXPECT_DOUBLE_EQ(c.rope_scaling.beta_fast, 32.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.beta_slow, 1.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.mscale, 1.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.mscale_all_dim, 1.0);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.layer_is_moe(0));
  EXPECT_FALSE(c.layer_is_moe(2));
  EXPECT_TRUE(c.layer_is_moe(3));
  EXPECT_TRUE(c.layer_is_moe(60));
  EXPECT_FALSE(c.layer_is_moe(61));
  EXPECT_STREQ(arch_family_name(c.family), "deepseek");
}

TEST(ModelConfigHf, KimiK2) {
  const ModelConfig c = load("Kimi-K2-Instruct");
  EXPECT_EQ(c.architecture, "DeepseekV3ForCausalLM");
  EXPECT_EQ(c.model_type, "kimi_k2");
  EXPECT_EQ(c.family, ArchFamily::DeepSeek);
  EXPECT_EQ(c.vocab_size, 163840);
  EXPECT_EQ(c.num_heads, 64);
  EXPECT_EQ(c.n_routed_experts, 384);
  EXPECT_EQ(c.n_shared_experts, 1);
  EXPECT_EQ(c.num_experts_per_tok, 8);
  EXPECT_EQ(c.first_k_dense_replace, 1);
  EXPECT_EQ(c.n_group, 1);
  EXPECT_EQ(c.topk_group, 1);
  EXPECT_EQ(c.topk_method, TopkMethod::NoauxTc);
  EXPECT_EQ(c.scoring, MoeScoring::Sigmoid);
  EXPECT_DOUBLE_EQ(c.routed_scaling_factor, 2.827);
  EXPECT_DOUBLE_EQ(c.rope_theta, 50000.0);
  EXPECT_EQ(c.rope_scaling.type, "yarn");
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 32.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.beta_fast, 1.0);
  EXPECT_EQ(c.num_nextn_predict_layers, 0);
  EXPECT_EQ(c.fp8_block_size[0], 128);
}

TEST(ModelConfigHf, DeepSeekV2) {
  const ModelConfig c = load("DeepSeek-V2");
  EXPECT_EQ(c.architecture, "DeepseekV2ForCausalLM");
  EXPECT_EQ(c.hidden_size, 5120);
  EXPECT_EQ(c.num_layers, 60);
  EXPECT_EQ(c.q_lora_rank, 1536);
  EXPECT_EQ(c.kv_lora_rank, 512);
  EXPECT_EQ(c.n_routed_experts, 160);
  EXPECT_EQ(c.n_shared_experts, 2);
  EXPECT_EQ(c.shared_expert_intermediate_size, 3072);
  EXPECT_EQ(c.num_experts_per_tok, 6);
  EXPECT_EQ(c.moe_intermediate_size, 1536);
  EXPECT_EQ(c.first_k_dense_replace, 1);
  EXPECT_EQ(c.n_group, 8);
  EXPECT_EQ(c.topk_group, 3);
  EXPECT_EQ(c.topk_method, TopkMethod::GroupLimitedGreedy);
  EXPECT_EQ(c.scoring, MoeScoring::Softmax);
  EXPECT_DOUBLE_EQ(c.routed_scaling_factor, 16.0);
  EXPECT_FALSE(c.norm_topk_prob);
  EXPECT_DOUBLE_EQ(c.rope_scaling.mscale, 0.707);
  EXPECT_DOUBLE_EQ(c.rope_scaling.mscale_all_dim, 0.707);
  EXPECT_EQ(c.quant_method, "");
  EXPECT_EQ(c.fp8_block_size[0], 0);
}

TEST(ModelConfigHf, DeepSeekV2Lite) {
  const ModelConfig c = load("DeepSeek-V2-Lite");
  EXPECT_EQ(c.hidden_size, 2048);
  EXPECT_EQ(c.num_layers, 27);
  EXPECT_EQ(c.num_heads, 16);
  EXPECT_EQ(c.q_lora_rank, 0);  // null: no q compression
  EXPECT_EQ(c.kv_lora_rank, 512);
  EXPECT_EQ(c.n_routed_experts, 64);
  EXPECT_EQ(c.n_shared_experts, 2);
  EXPECT_EQ(c.num_experts_per_tok, 6);
  EXPECT_EQ(c.moe_intermediate_size, 1408);
  EXPECT_EQ(c.n_group, 1);
  EXPECT_EQ(c.topk_group, 1);
  EXPECT_EQ(c.topk_method, TopkMethod::Greedy);
  EXPECT_DOUBLE_EQ(c.routed_scaling_factor, 1.0);
  EXPECT_EQ(c.rope_scaling.type, "yarn");
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 40.0);
}

TEST(ModelConfigHf, Qwen3Moe) {
  const ModelConfig c = load("Qwen3-30B-A3B");
  EXPECT_EQ(c.family, ArchFamily::Qwen3Moe);
  EXPECT_EQ(c.hidden_size, 2048);
  EXPECT_EQ(c.num_layers, 48);
  EXPECT_EQ(c.num_heads, 32);
  EXPECT_EQ(c.num_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 128);  // explicit, not hidden / heads = 64
  EXPECT_EQ(c.n_routed_experts, 128);
  EXPECT_EQ(c.num_experts_per_tok, 8);
  EXPECT_EQ(c.moe_intermediate_size, 768);
  EXPECT_EQ(c.n_shared_experts, 0);
  EXPECT_TRUE(c.norm_topk_prob);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_EQ(c.rope_scaling.type, "none");
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);
  EXPECT_TRUE(c.layer_is_moe(0));
  const ModelConfig b = load("Qwen3-235B-A22B");
  EXPECT_EQ(b.num_layers, 94);
  EXPECT_EQ(b.num_heads, 64);
  EXPECT_EQ(b.moe_intermediate_size, 1536);
}

TEST(ModelConfigHf, Qwen3MoeSparseStep) {
  json j = load_json("Qwen3-30B-A3B");
  j["decoder_sparse_step"] = 2;
  j["mlp_only_layers"] = {5};
  const ModelConfig c = config_from_hf_json(j, "x");
  EXPECT_FALSE(c.layer_is_moe(0));
  EXPECT_TRUE(c.layer_is_moe(1));
  EXPECT_FALSE(c.layer_is_moe(5));
  EXPECT_TRUE(c.layer_is_moe(7));
}

TEST(ModelConfigHf, Mixtral) {
  const ModelConfig c = load("Mixtral-8x7B-v0.1");
  EXPECT_EQ(c.family, ArchFamily::Mixtral);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.num_kv_heads, 8);
  EXPECT_EQ(c.n_routed_experts, 8);
  EXPECT_EQ(c.num_experts_per_tok, 2);
  EXPECT_EQ(c.moe_intermediate_size, 14336);
  EXPECT_TRUE(c.norm_topk_prob);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5);
}

TEST(ModelConfigHf, Olmoe) {
  const ModelConfig c = load("OLMoE-1B-7B-0924");
  EXPECT_EQ(c.family, ArchFamily::Olmoe);
  EXPECT_EQ(c.n_routed_experts, 64);
  EXPECT_EQ(c.num_experts_per_tok, 8);
  EXPECT_EQ(c.moe_intermediate_size, 1024);
  EXPECT_FALSE(c.norm_topk_prob);
  EXPECT_TRUE(c.qk_norm);
}

TEST(ModelConfigHf, DenseFamilies) {
  const ModelConfig l = load("Llama-3.1-8B");
  EXPECT_EQ(l.family, ArchFamily::Llama);
  EXPECT_FALSE(l.is_moe());
  EXPECT_EQ(l.head_dim, 128);
  EXPECT_EQ(l.rope_scaling.type, "llama3");
  EXPECT_DOUBLE_EQ(l.rope_scaling.factor, 8.0);
  EXPECT_DOUBLE_EQ(l.rope_scaling.low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(l.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(l.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_DOUBLE_EQ(l.rope_theta, 500000.0);
  const ModelConfig q2 = load("Qwen2.5-7B");
  EXPECT_EQ(q2.family, ArchFamily::Qwen2);
  EXPECT_TRUE(q2.attention_bias);
  EXPECT_EQ(q2.head_dim, 128);
  EXPECT_EQ(q2.num_kv_heads, 4);
  const ModelConfig q3 = load("Qwen3-8B");
  EXPECT_EQ(q3.family, ArchFamily::Qwen3);
  EXPECT_TRUE(q3.qk_norm);
  EXPECT_FALSE(q3.attention_bias);
  EXPECT_EQ(q3.head_dim, 128);
}

TEST(ModelConfigHf, ModelTypeWithoutArchitectures) {
  json j = load_json("DeepSeek-V3");
  j.erase("architectures");
  const ModelConfig c = config_from_hf_json(j, "x");
  EXPECT_EQ(c.family, ArchFamily::DeepSeek);
  EXPECT_EQ(c.architecture, "deepseek_v3");
}

TEST(ModelConfigHf, TransformersDefaults) {
  // DeepseekV3Config defaults fill the MoE keys when they are absent.
  json j = load_json("DeepSeek-V3");
  for (const char* k : {"n_routed_experts", "n_group", "topk_group", "topk_method", "scoring_func",
                        "routed_scaling_factor", "norm_topk_prob", "first_k_dense_replace"})
    j.erase(k);
  const ModelConfig c = config_from_hf_json(j, "x");
  EXPECT_EQ(c.n_routed_experts, 256);
  EXPECT_EQ(c.n_group, 8);
  EXPECT_EQ(c.topk_group, 4);
  EXPECT_EQ(c.topk_method, TopkMethod::NoauxTc);
  EXPECT_EQ(c.scoring, MoeScoring::Sigmoid);
  EXPECT_DOUBLE_EQ(c.routed_scaling_factor, 2.5);
  EXPECT_TRUE(c.norm_topk_prob);
  EXPECT_EQ(c.first_k_dense_replace, 3);
  // Mixtral: head_dim = hidden / heads, num_key_value_heads defaults to the head count.
  json m = load_json("Mixtral-8x7B-v0.1");
  m.erase("num_key_value_heads");
  m.erase("rope_theta");
  const ModelConfig mc = config_from_hf_json(m, "x");
  EXPECT_EQ(mc.num_kv_heads, 32);
  EXPECT_DOUBLE_EQ(mc.rope_theta, 1e6);
  // Qwen3: head_dim defaults to 128.
  json q = load_json("Qwen3-8B");
  q.erase("head_dim");
  EXPECT_EQ(config_from_hf_json(q, "x").head_dim, 128);
}

// ---- errors ---------------------------------------------------------------------------------

TEST(ModelConfigErrors, UnknownArchitecture) {
  json j = load_json("Llama-3.1-8B");
  j["architectures"] = {"GPT2LMHeadModel"};
  expect_error(j, {"'architectures'", "GPT2LMHeadModel"});
  j["architectures"] = json::array();
  expect_error(j, {"'architectures'"});
  j["architectures"] = "LlamaForCausalLM";
  expect_error(j, {"'architectures'"});
  j.erase("architectures");
  j["model_type"] = "gpt2";
  expect_error(j, {"'model_type'", "gpt2"});
  j.erase("model_type");
  expect_error(j, {"'architectures'", "missing"});
}

TEST(ModelConfigErrors, MissingAndWrongType) {
  json j = load_json("DeepSeek-V3");
  j.erase("hidden_size");
  expect_error(j, {"'hidden_size'", "missing"});
  j = load_json("DeepSeek-V3");
  j["num_hidden_layers"] = "61";
  expect_error(j, {"'num_hidden_layers'", "integer", "string"});
  j = load_json("DeepSeek-V3");
  j["kv_lora_rank"] = 512.5;
  expect_error(j, {"'kv_lora_rank'", "integer"});
  j = load_json("DeepSeek-V3");
  j["norm_topk_prob"] = 1;
  expect_error(j, {"'norm_topk_prob'", "boolean"});
  j = load_json("DeepSeek-V3");
  j["rms_norm_eps"] = "1e-6";
  expect_error(j, {"'rms_norm_eps'", "number"});
  j = load_json("DeepSeek-V3");
  j["rope_scaling"]["factor"] = "40";
  expect_error(j, {"'rope_scaling.factor'"});
  j = load_json("DeepSeek-V3");
  j["rope_scaling"]["type"] = "ntk-magic";
  expect_error(j, {"'rope_scaling.type'", "ntk-magic"});
  j = load_json("DeepSeek-V3");
  j["topk_method"] = "best";
  expect_error(j, {"'topk_method'"});
  j = load_json("DeepSeek-V3");
  j["scoring_func"] = "relu";
  expect_error(j, {"'scoring_func'"});
  j = load_json("DeepSeek-V3");
  j["vocab_size"] = 18446744073709551615ull;
  expect_error(j, {"'vocab_size'"});
  j = load_json("DeepSeek-V3");
  j["quantization_config"]["weight_block_size"] = {128};
  expect_error(j, {"'quantization_config.weight_block_size'"});
}

TEST(ModelConfigErrors, OutOfRangeAndInconsistent) {
  json j = load_json("DeepSeek-V3");
  j["num_experts_per_tok"] = 257;
  expect_error(j, {"'num_experts_per_tok'"});
  j = load_json("DeepSeek-V3");
  j["topk_group"] = 9;
  expect_error(j, {"'topk_group'"});
  j = load_json("DeepSeek-V3");
  j["n_group"] = 7;
  expect_error(j, {"'n_group'", "divide"});
  j = load_json("DeepSeek-V3");
  j["hidden_size"] = -7168;
  expect_error(j, {"'hidden_size'"});
  j = load_json("DeepSeek-V3");
  j["first_k_dense_replace"] = 62;
  expect_error(j, {"'first_k_dense_replace'"});
  j = load_json("DeepSeek-V3");
  j["moe_intermediate_size"] = -1;
  expect_error(j, {"'moe_intermediate_size'"});
  j = load_json("DeepSeek-V3");
  j["qk_rope_head_dim"] = 63;
  expect_error(j, {"'qk_rope_head_dim'"});
  j = load_json("Mixtral-8x7B-v0.1");
  j["num_experts_per_tok"] = 9;
  expect_error(j, {"'num_experts_per_tok'"});
  j = load_json("Mixtral-8x7B-v0.1");
  j["num_local_experts"] = -8;
  expect_error(j, {"'num_local_experts'"});
  j = load_json("Mixtral-8x7B-v0.1");
  j["num_key_value_heads"] = 5;
  expect_error(j, {"'num_key_value_heads'", "divide"});
  j = load_json("Mixtral-8x7B-v0.1");
  j["num_attention_heads"] = 33;
  expect_error(j, {"'num_attention_heads'"});
  j = load_json("Qwen3-30B-A3B");
  j["num_experts_per_tok"] = 0;
  expect_error(j, {"'num_experts_per_tok'"});
  j = load_json("Qwen3-30B-A3B");
  j["mlp_only_layers"] = {48};
  expect_error(j, {"'mlp_only_layers'"});
  j = load_json("Llama-3.1-8B");
  j["rms_norm_eps"] = -1e-5;
  expect_error(j, {"'rms_norm_eps'"});
  j = load_json("Llama-3.1-8B");
  j["rope_scaling"].erase("original_max_position_embeddings");
  expect_error(j, {"'rope_scaling.original_max_position_embeddings'"});
  j = load_json("Llama-3.1-8B");
  j["num_hidden_layers"] = 0;
  expect_error(j, {"'num_hidden_layers'"});
}

TEST(ModelConfigErrors, NotAnObject) {
  expect_error(json::array({1, 2}), {"object"});
  expect_error(json(42), {"object"});
  expect_error(json(nullptr), {"object"});
}

TEST(ModelConfigErrors, FileErrors) {
  EXPECT_THROW(config_from_hf_file(std::string(SCHWARM_TEST_DATA_DIR) + "/configs/nope.json"),
               Error);
  try {
    config_from_hf_file(std::string(SCHWARM_TEST_DATA_DIR) + "/configs/nope.json");
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("nope.json"), std::string::npos);
  }
}

// ---- GGUF metadata --------------------------------------------------------------------------

GgufValue tokens(size_t n) {
  GgufArray a;
  a.elem_type = GgufValueType::STRING;
  a.items.assign(n, GgufValue::str("t"));
  return GgufValue::array(std::move(a));
}

// What convert_hf_to_gguf.py (DeepseekV2Model, MLA-as-MQA layout) writes for DeepSeek-V3.
GgufMetadata gguf_deepseek_v3() {
  const std::string a = "deepseek2.";
  return {
      {"general.architecture", GgufValue::str("deepseek2")},
      {a + "vocab_size", GgufValue::u32(129280)},
      {a + "context_length", GgufValue::u32(163840)},
      {a + "embedding_length", GgufValue::u32(7168)},
      {a + "feed_forward_length", GgufValue::u32(18432)},
      {a + "block_count", GgufValue::u32(61)},
      {a + "attention.head_count", GgufValue::u32(128)},
      {a + "attention.head_count_kv", GgufValue::u32(1)},
      {a + "rope.freq_base", GgufValue::f32(10000.0f)},
      {a + "attention.layer_norm_rms_epsilon", GgufValue::f32(1e-6f)},
      {a + "expert_used_count", GgufValue::u32(8)},
      {a + "leading_dense_block_count", GgufValue::u32(3)},
      {a + "attention.q_lora_rank", GgufValue::u32(1536)},
      {a + "attention.kv_lora_rank", GgufValue::u32(512)},
      {a + "attention.key_length", GgufValue::u32(576)},
      {a + "attention.value_length", GgufValue::u32(512)},
      {a + "attention.key_length_mla", GgufValue::u32(192)},
      {a + "attention.value_length_mla", GgufValue::u32(128)},
      {a + "expert_feed_forward_length", GgufValue::u32(2048)},
      {a + "expert_count", GgufValue::u32(256)},
      {a + "expert_shared_count", GgufValue::u32(1)},
      {a + "expert_weights_scale", GgufValue::f32(2.5f)},
      {a + "expert_weights_norm", GgufValue::boolean(true)},
      {a + "expert_gating_func", GgufValue::u32(2)},
      {a + "expert_group_count", GgufValue::u32(8)},
      {a + "expert_group_used_count", GgufValue::u32(4)},
      {a + "rope.dimension_count", GgufValue::u32(64)},
      {a + "rope.scaling.type", GgufValue::str("yarn")},
      {a + "rope.scaling.factor", GgufValue::f32(40.0f)},
      {a + "rope.scaling.original_context_length", GgufValue::u32(4096)},
      {a + "rope.scaling.yarn_log_multiplier", GgufValue::f32(0.1f)},
  };
}

// An older DeepSeek-V2-Lite conversion: key_length = qk_nope + qk_rope, per-head kv count, no
// q_lora_rank, no gating func (softmax), vocabulary from the token list.
GgufMetadata gguf_deepseek_v2_lite() {
  const std::string a = "deepseek2.";
  return {
      {"general.architecture", GgufValue::str("deepseek2")},
      {a + "context_length", GgufValue::u32(163840)},
      {a + "embedding_length", GgufValue::u32(2048)},
      {a + "feed_forward_length", GgufValue::u32(10944)},
      {a + "block_count", GgufValue::u32(27)},
      {a + "attention.head_count", GgufValue::u32(16)},
      {a + "attention.head_count_kv", GgufValue::u32(16)},
      {a + "rope.freq_base", GgufValue::f32(10000.0f)},
      {a + "attention.layer_norm_rms_epsilon", GgufValue::f32(1e-6f)},
      {a + "expert_used_count", GgufValue::u32(6)},
      {a + "leading_dense_block_count", GgufValue::u32(1)},
      {a + "attention.kv_lora_rank", GgufValue::u32(512)},
      {a + "attention.key_length", GgufValue::u32(192)},
      {a + "attention.value_length", GgufValue::u32(128)},
      {a + "expert_feed_forward_length", GgufValue::u32(1408)},
      {a + "expert_count", GgufValue::u32(64)},
      {a + "expert_shared_count", GgufValue::u32(2)},
      {a + "expert_weights_scale", GgufValue::f32(1.0f)},
      {a + "rope.dimension_count", GgufValue::u32(64)},
      {a + "rope.scaling.type", GgufValue::str("yarn")},
      {a + "rope.scaling.factor", GgufValue::f32(40.0f)},
      {a + "rope.scaling.original_context_length", GgufValue::u32(4096)},
      {a + "rope.scaling.yarn_log_multiplier", GgufValue::f32(0.0707f)},
      {"tokenizer.ggml.tokens", tokens(102400)},
  };
}

GgufMetadata gguf_qwen3moe() {
  const std::string a = "qwen3moe.";
  return {
      {"general.architecture", GgufValue::str("qwen3moe")},
      {a + "block_count", GgufValue::u32(48)},
      {a + "context_length", GgufValue::u32(40960)},
      {a + "embedding_length", GgufValue::u32(2048)},
      {a + "feed_forward_length", GgufValue::u32(6144)},
      {a + "attention.head_count", GgufValue::u32(32)},
      {a + "attention.head_count_kv", GgufValue::u32(4)},
      {a + "rope.freq_base", GgufValue::f32(1000000.0f)},
      {a + "attention.layer_norm_rms_epsilon", GgufValue::f32(1e-6f)},
      {a + "expert_used_count", GgufValue::u32(8)},
      {a + "attention.key_length", GgufValue::u32(128)},
      {a + "attention.value_length", GgufValue::u32(128)},
      {a + "expert_count", GgufValue::u32(128)},
      {a + "expert_feed_forward_length", GgufValue::u32(768)},
      {"tokenizer.ggml.tokens", tokens(151936)},
  };
}

GgufMetadata gguf_mixtral() {
  const std::string a = "llama.";
  return {
      {"general.architecture", GgufValue::str("llama")},
      {a + "vocab_size", GgufValue::u32(32000)},
      {a + "context_length", GgufValue::u32(32768)},
      {a + "embedding_length", GgufValue::u32(4096)},
      {a + "block_count", GgufValue::u32(32)},
      {a + "feed_forward_length", GgufValue::u32(14336)},
      {a + "rope.dimension_count", GgufValue::u32(128)},
      {a + "attention.head_count", GgufValue::u32(32)},
      {a + "attention.head_count_kv", GgufValue::u32(8)},
      {a + "rope.freq_base", GgufValue::f32(1000000.0f)},
      {a + "attention.layer_norm_rms_epsilon", GgufValue::f32(1e-5f)},
      {a + "expert_count", GgufValue::u32(8)},
      {a + "expert_used_count", GgufValue::u32(2)},
  };
}

GgufMetadata gguf_olmoe() {
  const std::string a = "olmoe.";
  return {
      {"general.architecture", GgufValue::str("olmoe")},
      {a + "vocab_size", GgufValue::u32(50304)},
      {a + "block_count", GgufValue::u32(16)},
      {a + "context_length", GgufValue::u32(4096)},
      {a + "embedding_length", GgufValue::u32(2048)},
      {a + "feed_forward_length", GgufValue::u32(1024)},
      {a + "attention.head_count", GgufValue::u32(16)},
      {a + "attention.head_count_kv", GgufValue::u32(16)},
      {a + "rope.freq_base", GgufValue::f32(10000.0f)},
      {a + "attention.layer_norm_rms_epsilon", GgufValue::f32(1e-5f)},
      {a + "expert_count", GgufValue::u32(64)},
      {a + "expert_used_count", GgufValue::u32(8)},
  };
}

// Every field both formats carry must agree.
void expect_same(const ModelConfig& g, const ModelConfig& h) {
  EXPECT_EQ(g.family, h.family);
  EXPECT_EQ(g.vocab_size, h.vocab_size);
  EXPECT_EQ(g.hidden_size, h.hidden_size);
  EXPECT_EQ(g.num_layers, h.num_layers);
  EXPECT_EQ(g.num_heads, h.num_heads);
  EXPECT_EQ(g.num_kv_heads, h.num_kv_heads);
  EXPECT_EQ(g.head_dim, h.head_dim);
  EXPECT_EQ(g.intermediate_size, h.intermediate_size);
  EXPECT_EQ(g.max_position_embeddings, h.max_position_embeddings);
  EXPECT_DOUBLE_EQ(g.rms_norm_eps, h.rms_norm_eps);
  EXPECT_DOUBLE_EQ(g.rope_theta, h.rope_theta);
  EXPECT_EQ(g.attention_bias, h.attention_bias);
  EXPECT_EQ(g.qk_norm, h.qk_norm);
  EXPECT_EQ(g.mla, h.mla);
  EXPECT_EQ(g.q_lora_rank, h.q_lora_rank);
  EXPECT_EQ(g.kv_lora_rank, h.kv_lora_rank);
  EXPECT_EQ(g.qk_nope_head_dim, h.qk_nope_head_dim);
  EXPECT_EQ(g.qk_rope_head_dim, h.qk_rope_head_dim);
  EXPECT_EQ(g.v_head_dim, h.v_head_dim);
  EXPECT_EQ(g.n_routed_experts, h.n_routed_experts);
  EXPECT_EQ(g.n_shared_experts, h.n_shared_experts);
  EXPECT_EQ(g.num_experts_per_tok, h.num_experts_per_tok);
  EXPECT_EQ(g.moe_intermediate_size, h.moe_intermediate_size);
  EXPECT_EQ(g.shared_expert_intermediate_size, h.shared_expert_intermediate_size);
  EXPECT_EQ(g.first_k_dense_replace, h.first_k_dense_replace);
  EXPECT_EQ(g.topk_method, h.topk_method);
  EXPECT_EQ(g.scoring, h.scoring);
  EXPECT_DOUBLE_EQ(g.routed_scaling_factor, h.routed_scaling_factor);
  EXPECT_EQ(g.norm_topk_prob, h.norm_topk_prob);
  EXPECT_EQ(g.rope_scaling.type, h.rope_scaling.type);
  EXPECT_DOUBLE_EQ(g.rope_scaling.factor, h.rope_scaling.factor);
  EXPECT_EQ(g.rope_scaling.original_max_position_embeddings,
            h.rope_scaling.original_max_position_embeddings);
  EXPECT_DOUBLE_EQ(g.rope_scaling.mscale_all_dim, h.rope_scaling.mscale_all_dim);
  EXPECT_EQ(count_params(g).total, count_params(h).total);
  EXPECT_EQ(count_params(g).active, count_params(h).active);
}

TEST(ModelConfigGguf, DeepSeekV3MatchesHf) {
  const ModelConfig g = config_from_gguf(gguf_deepseek_v3(), "v3.gguf");
  const ModelConfig h = load("DeepSeek-V3");
  expect_same(g, h);
  EXPECT_EQ(g.n_group, h.n_group);
  EXPECT_EQ(g.topk_group, h.topk_group);
  EXPECT_EQ(g.architecture, "deepseek2");
}

TEST(ModelConfigGguf, DeepSeekV2LiteMatchesHf) {
  const ModelConfig g = config_from_gguf(gguf_deepseek_v2_lite(), "lite.gguf");
  expect_same(g, load("DeepSeek-V2-Lite"));
  EXPECT_DOUBLE_EQ(g.rope_scaling.mscale, 0.707);
}

TEST(ModelConfigGguf, Qwen3MoeMatchesHf) {
  expect_same(config_from_gguf(gguf_qwen3moe(), "q.gguf"), load("Qwen3-30B-A3B"));
}

TEST(ModelConfigGguf, MixtralMatchesHf) {
  const ModelConfig g = config_from_gguf(gguf_mixtral(), "m.gguf");
  EXPECT_EQ(g.family, ArchFamily::Mixtral);
  expect_same(g, load("Mixtral-8x7B-v0.1"));
}

TEST(ModelConfigGguf, OlmoeMatchesHf) {
  expect_same(config_from_gguf(gguf_olmoe(), "o.gguf"), load("OLMoE-1B-7B-0924"));
}

TEST(ModelConfigGguf, LlamaWithoutExpertsIsLlama) {
  GgufMetadata md = gguf_mixtral();
  std::erase_if(md, [](const auto& kv) { return kv.first.find("expert") != std::string::npos; });
  const ModelConfig c = config_from_gguf(md, "l.gguf");
  EXPECT_EQ(c.family, ArchFamily::Llama);
  EXPECT_FALSE(c.is_moe());
}

void expect_gguf_error(const GgufMetadata& md, const std::string& piece) {
  try {
    config_from_gguf(md, "bad.gguf");
    ADD_FAILURE() << "no error, wanted " << piece;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(piece), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("bad.gguf: ", 0), 0u) << e.what();
  }
}

void set_key(GgufMetadata& md, const std::string& key, GgufValue v) {
  for (auto& kv : md)
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  md.emplace_back(key, std::move(v));
}

TEST(ModelConfigGguf, Errors) {
  GgufMetadata md = gguf_deepseek_v3();
  set_key(md, "general.architecture", GgufValue::str("gpt2"));
  expect_gguf_error(md, "'general.architecture'");
  md = gguf_deepseek_v3();
  std::erase_if(md, [](const auto& kv) { return kv.first == "deepseek2.block_count"; });
  expect_gguf_error(md, "'deepseek2.block_count' is missing");
  md = gguf_deepseek_v3();
  set_key(md, "deepseek2.embedding_length", GgufValue::str("7168"));
  expect_gguf_error(md, "'deepseek2.embedding_length'");
  md = gguf_deepseek_v3();
  set_key(md, "deepseek2.expert_used_count", GgufValue::u32(300));
  expect_gguf_error(md, "'deepseek2.expert_used_count'");
  md = gguf_deepseek_v3();
  set_key(md, "deepseek2.expert_gating_func", GgufValue::u32(3));
  expect_gguf_error(md, "'deepseek2.expert_gating_func'");
  md = gguf_deepseek_v3();
  set_key(md, "deepseek2.expert_group_used_count", GgufValue::u32(9));
  expect_gguf_error(md, "'deepseek2.expert_group_used_count'");
  md = gguf_deepseek_v3();
  set_key(md, "deepseek2.attention.key_length_mla", GgufValue::u32(64));
  expect_gguf_error(md, "'deepseek2.attention.key_length_mla'");
  md = gguf_deepseek_v3();
  set_key(md, "deepseek2.embedding_length", GgufValue::u64(~uint64_t{0}));
  expect_gguf_error(md, "'deepseek2.embedding_length'");
  md = gguf_olmoe();
  std::erase_if(md, [](const auto& kv) { return kv.first == "olmoe.vocab_size"; });
  expect_gguf_error(md, "'olmoe.vocab_size' is missing");
  md = gguf_mixtral();
  set_key(md, "llama.attention.head_count_kv", GgufValue::u32(5));
  expect_gguf_error(md, "'llama.attention.head_count_kv'");
  expect_gguf_error({}, "'general.architecture' is missing");
}

// ---- parameter counts -------------------------------------------------------------------------

struct Published {
  const char* name;
  double total, total_tol;    // billions, relative tolerance
  double active, active_tol;  // 0: not checked
  bool active_without_embedding;  // DeepSeek/Moonshot count the output head, not the input table
};

// Tolerances: 1% where the publisher gives three significant digits (46.7B, 8.03B, 671B); where
// the figure is rounded to two digits ("21B", "2.4B", "1.3B") about half a unit of the last digit
// relative to the value (21 +- 0.5 -> 2.5%). Kimi K2's "1T" is one digit: 3%.
// DeepSeek's and Moonshot's "activated" figures leave out the input embedding (DeepSeek-V3
// README_WEIGHTS.md: 36.6B "including 0.9B for the output Head"); Qwen, Mistral and AI2 count it.
TEST(ModelConfigParams, MatchPublishedFigures) {
  const Published cases[] = {
      {"DeepSeek-V3", 671, 0.01, 36.6, 0.01, true},        // HF "685B" adds the 14B MTP layer
      {"DeepSeek-V2", 236, 0.01, 21, 0.025, true},          // V2 report
      {"DeepSeek-V2-Lite", 15.7, 0.01, 2.4, 0.025, true},   // V2 report (card: "16B")
      {"Kimi-K2-Instruct", 1000, 0.03, 32, 0.025, true},    // card: "1T total, 32B activated"
      {"Qwen3-30B-A3B", 30.5, 0.01, 3.3, 0.02, false},      // Qwen3 card
      {"Qwen3-235B-A22B", 235, 0.01, 22, 0.025, false},     // Qwen3 card
      {"Mixtral-8x7B-v0.1", 46.7, 0.01, 12.9, 0.01, false}, // Mistral: 46.7B / 12.9B
      {"OLMoE-1B-7B-0924", 6.9, 0.01, 1.3, 0.04, false},    // OLMoE paper: 6.9B / 1.3B
      {"Llama-3.1-8B", 8.03, 0.01, 0, 0, false},            // Meta card
      {"Qwen2.5-7B", 7.61, 0.01, 0, 0, false},              // Qwen2.5 card
      {"Qwen3-8B", 8.2, 0.01, 0, 0, false},                 // Qwen3 card
  };
  for (const auto& p : cases) {
    const ModelConfig c = load(p.name);
    const ParamCounts n = count_params(c);
    const double total = n.total / 1e9;
    const double active = (n.active - (p.active_without_embedding ? n.embedding : 0)) / 1e9;
    std::printf("%-20s total %9.3fB  active %7.3fB%s  (published %gB / %gB)\n", p.name, total,
                active, p.active_without_embedding ? " w/o embedding" : "", p.total, p.active);
    EXPECT_NEAR(total, p.total, p.total * p.total_tol) << p.name;
    if (p.active > 0) {
      EXPECT_NEAR(active, p.active, p.active * p.active_tol) << p.name;
    }
    if (!c.is_moe()) {
      EXPECT_EQ(n.total, n.active) << p.name;
    }
  }
}

TEST(ModelConfigParams, DeepSeekV3Details) {
  const ModelConfig c = load("DeepSeek-V3");
  const ParamCounts n = count_params(c);
  // DeepSeek's README_WEIGHTS.md: 36.6B activated, counting the output head but not the input
  // embedding.
  EXPECT_EQ(n.embedding, int64_t{129280} * 7168);
  EXPECT_NEAR((n.active - n.embedding) / 1e9, 36.6, 0.05);
  // Tying the embeddings removes exactly one vocab x hidden matrix.
  ModelConfig t = c;
  t.tie_word_embeddings = true;
  EXPECT_EQ(n.total - count_params(t).total, n.embedding);
}

TEST(ModelConfigParams, ExactSmallModel) {
  // A tiny Mixtral: hand-counted.
  json j = {{"architectures", {"MixtralForCausalLM"}}, {"vocab_size", 10}, {"hidden_size", 4},
            {"num_hidden_layers", 1}, {"num_attention_heads", 2}, {"num_key_value_heads", 1},
            {"intermediate_size", 6}, {"num_local_experts", 3}, {"num_experts_per_tok", 2}};
  const ParamCounts n = count_params(config_from_hf_json(j, "tiny"));
  // embed 40 + lm_head 40 + final norm 4; attn q 16 + k 8 + v 8 + o 16 = 48; norms 8;
  // router 12; experts 3 * 72.
  EXPECT_EQ(n.total, 40 + 40 + 4 + 48 + 8 + 12 + 3 * 72);
  EXPECT_EQ(n.active, 40 + 40 + 4 + 48 + 8 + 12 + 2 * 72);
}

TEST(ModelConfigParams, OverflowIsAnError) {
  ModelConfig c = load("DeepSeek-V3");
  c.n_routed_experts = int64_t{1} << 40;
  c.moe_intermediate_size = int64_t{1} << 40;
  EXPECT_THROW(count_params(c), Error);
}

}  // namespace
}  // namespace schwarm

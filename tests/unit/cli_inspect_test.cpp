// Runs the `schwarm` binary as a user would: inspect on the tiny checkpoints (HF directory,
// single shard, GGUF) and on broken input.
#include <gtest/gtest.h>

#include "cli_runner.h"
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {
using schwarm_test::run_cli;
using schwarm_test::RunResult;
namespace fs = std::filesystem;
using nlohmann::json;


const fs::path kCheckpoints = fs::path(SCHWARM_TEST_DATA_DIR) / "checkpoints";

json expected() {
  std::ifstream in(kCheckpoints / "tiny-deepseek-v3.expected.json");
  return json::parse(in);
}

json inspect_json(const fs::path& p) {
  RunResult r = run_cli("inspect --json '" + p.string() + "'");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  return json::parse(r.out);
}

TEST(CliInspect, HfDirectoryJson) {
  const json e = expected();
  const json j = inspect_json(kCheckpoints / "tiny-deepseek-v3");
  EXPECT_EQ(j["format"], "safetensors");
  EXPECT_EQ(j["files"].size(), 2u);
  EXPECT_EQ(j["architecture"], "DeepseekV3ForCausalLM");
  EXPECT_EQ(j["family"], "deepseek");
  EXPECT_TRUE(j["config_error"].is_null()) << j["config_error"];
  EXPECT_EQ(j["params"]["total"], e["total_params"]);
  EXPECT_EQ(j["params"]["active"], e["active_params"]);
  EXPECT_EQ(j["tensors"].size(), e["hf_tensors"]);
  const json& h = j["hyperparameters"];
  EXPECT_EQ(h["kv_lora_rank"], 32);
  EXPECT_EQ(h["q_lora_rank"], 48);
  EXPECT_EQ(h["n_routed_experts"], 8);
  EXPECT_EQ(h["num_experts_per_tok"], 2);
  EXPECT_EQ(h["topk_method"], "noaux_tc");
  EXPECT_EQ(h["scoring_func"], "sigmoid");
  EXPECT_EQ(h["rope_scaling"], "yarn");
  EXPECT_DOUBLE_EQ(h["routed_scaling_factor"].get<double>(), 2.5);
  const json& t = j["tokenizer"];
  EXPECT_EQ(t["source"], "tokenizer.json");
  EXPECT_EQ(t["model"], "BPE");
  EXPECT_EQ(t["vocab_size"], e["vocab_size"]);
  EXPECT_EQ(t["merges"], e["merges"]);
  EXPECT_EQ(t["added_tokens"], e["added_tokens"]);
  EXPECT_EQ(t["bos_token"], e["bos_token"]);
  EXPECT_EQ(t["bos_id"], 0);
  EXPECT_EQ(t["eos_id"], 1);
  EXPECT_EQ(t["chat_template"], true);
  // Every tensor's bytes: bf16 except the f32 router bias.
  uint64_t sum = 0;
  for (const json& ts : j["tensors"]) {
    int64_t n = 1;
    for (const json& d : ts["shape"]) n *= d.get<int64_t>();
    const bool f32 = ts["name"].get<std::string>().ends_with("e_score_correction_bias");
    EXPECT_EQ(ts["type"], f32 ? "F32" : "BF16") << ts["name"];
    EXPECT_EQ(ts["bytes"].get<int64_t>(), n * (f32 ? 4 : 2)) << ts["name"];
    sum += ts["bytes"].get<uint64_t>();
  }
  EXPECT_EQ(j["tensor_bytes"].get<uint64_t>(), sum);
}

TEST(CliInspect, GgufAgreesWithHf) {
  const json e = expected();
  const json j = inspect_json(kCheckpoints / "tiny-deepseek-v3-q8_0.gguf");
  EXPECT_EQ(j["format"], "gguf");
  EXPECT_EQ(j["architecture"], "deepseek2");
  EXPECT_EQ(j["family"], "deepseek");
  EXPECT_TRUE(j["config_error"].is_null()) << j["config_error"];
  EXPECT_EQ(j["params"]["total"], e["total_params"]);
  EXPECT_EQ(j["params"]["active"], e["active_params"]);
  EXPECT_EQ(j["tensors"].size(), e["gguf_tensors"]);
  const json hf = inspect_json(kCheckpoints / "tiny-deepseek-v3");
  for (const char* key : {"hidden_size", "num_layers", "num_heads", "q_lora_rank", "kv_lora_rank",
                          "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "n_routed_experts",
                          "n_shared_experts", "num_experts_per_tok", "moe_intermediate_size",
                          "first_k_dense_replace", "n_group", "topk_group", "scoring_func",
                          "norm_topk_prob", "routed_scaling_factor", "vocab_size"}) {
    EXPECT_EQ(j["hyperparameters"][key], hf["hyperparameters"][key]) << key;
  }
  const json& t = j["tokenizer"];
  EXPECT_EQ(t["source"], "gguf");
  EXPECT_EQ(t["model"], "gpt2");
  EXPECT_EQ(t["vocab_size"], e["vocab_size"]);
  EXPECT_EQ(t["merges"], e["merges"]);
  EXPECT_EQ(t["bos_token"], e["bos_token"]);
  EXPECT_EQ(t["eos_token"], e["eos_token"]);
  EXPECT_EQ(t["chat_template"], true);
  EXPECT_EQ(j["metadata"]["general.architecture"], "deepseek2");
}

TEST(CliInspect, TableShowsTheSameFacts) {
  RunResult r = run_cli("inspect '" + (kCheckpoints / "tiny-deepseek-v3").string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("DeepseekV3ForCausalLM"), std::string::npos);
  EXPECT_NE(r.out.find("233.2 K total, 159.4 K active per token"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("model.layers.2.mlp.experts.7.down_proj.weight"), std::string::npos);
  EXPECT_NE(r.out.find("kv_lora_rank"), std::string::npos);
  EXPECT_NE(r.out.find("kv cache        480 bytes per token"), std::string::npos) << r.out;
}

// KV cache bytes per token of tiny-deepseek-v3, by hand from its config.json: MLA caches the
// compressed latent (kv_lora_rank = 32 floats) and the shared rope key (qk_rope_head_dim = 8
// floats) per layer, f32: (32 + 8) * 4 bytes * 3 layers (num_hidden_layers) = 480 bytes. The GGUF
// twin has the same config, so the same number.
TEST(CliInspect, KvCacheBytesPerToken) {
  EXPECT_EQ(inspect_json(kCheckpoints / "tiny-deepseek-v3")["kv_cache_bytes_per_token"], 480);
  EXPECT_EQ(inspect_json(kCheckpoints / "tiny-deepseek-v3-q8_0.gguf")["kv_cache_bytes_per_token"], 480);
  // GQA (golden qwen3-moe): 2 * num_kv_heads * head_dim * 4 bytes per layer.
  const json q = inspect_json(fs::path(SCHWARM_TEST_DATA_DIR) / "golden" / "qwen3-moe");
  const json& h = q["hyperparameters"];
  EXPECT_EQ(q["kv_cache_bytes_per_token"],
            h["num_layers"].get<int64_t>() * 2 * h["num_kv_heads"].get<int64_t>() * h["head_dim"].get<int64_t>() * 4);
}

TEST(CliInspect, SingleShardFileUsesConfigBesideIt) {
  const json j = inspect_json(kCheckpoints / "tiny-deepseek-v3" / "model-00002-of-00002.safetensors");
  EXPECT_EQ(j["files"].size(), 1u);
  EXPECT_EQ(j["architecture"], "DeepseekV3ForCausalLM");
  for (const json& ts : j["tensors"])
    EXPECT_NE(ts["name"].get<std::string>().find(".layers.2."), std::string::npos);
}

TEST(CliInspect, MissingPathIsAClearError) {
  RunResult r = run_cli("inspect /nonexistent/model.gguf");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("schwarm: error: /nonexistent/model.gguf: no such file or directory"),
            std::string::npos)
      << r.out;
}

TEST(CliInspect, TruncatedGgufIsAClearError) {
  const fs::path tmp =
      fs::temp_directory_path() / ("schwarm_cli_trunc_" + std::to_string(getpid()) + ".gguf");
  fs::copy_file(kCheckpoints / "tiny-deepseek-v3-q8_0.gguf", tmp, fs::copy_options::overwrite_existing);
  fs::resize_file(tmp, fs::file_size(tmp) / 2);
  RunResult r = run_cli("inspect '" + tmp.string() + "'");
  fs::remove(tmp);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("schwarm: error: " + tmp.string() + ": "), std::string::npos) << r.out;
}

TEST(CliInspect, DirectoryWithoutWeightsIsAClearError) {
  RunResult r = run_cli("inspect '" + fs::path(SCHWARM_TEST_DATA_DIR).string() + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("holds no *.safetensors files"), std::string::npos) << r.out;
}

TEST(CliInspect, UnknownOptionIsRejected) {
  RunResult r = run_cli("inspect --bogus x");
  EXPECT_NE(r.exit_code, 0);
}

}  // namespace

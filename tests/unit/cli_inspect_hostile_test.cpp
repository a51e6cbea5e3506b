// `schwarm inspect` on checkpoints that parse but that schwarm cannot run (unknown architecture,
// non-UTF-8 names) and on broken side files: clear words, valid JSON, never a crash.
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
#include <vector>

#include "io/gguf_file.h"

namespace {
using schwarm_test::run_cli;
using schwarm_test::RunResult;
namespace fs = std::filesystem;
using nlohmann::json;
using schwarm::GgufValue;


class ScratchDir {
 public:
  ScratchDir() : path_(fs::temp_directory_path() / ("schwarm_cli_" + std::to_string(getpid()) + "_" +
                                                   std::to_string(counter_++))) {
    fs::create_directories(path_);
  }
  ~ScratchDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

TEST(CliInspectHostile, UnknownGgufArchitectureStillListsTensors) {
  ScratchDir dir;
  const fs::path file = dir.path() / "mystery.gguf";
  schwarm::GgufWriter w;
  w.set("general.architecture", GgufValue::str("mamba9"));
  const std::vector<float> values(64, 1.0f);
  // A tensor name with bytes that are not UTF-8 (0xFF, a lone continuation byte 0x80).
  w.add_tensor("blk.0.\xff\x80weird.weight", schwarm::TensorType::F32, {2, 32},
               {reinterpret_cast<const uint8_t*>(values.data()), values.size() * sizeof(float)});
  w.write(file.string());

  RunResult r = run_cli("inspect --json '" + file.string() + "'", /*with_stderr=*/false);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const json j = json::parse(r.out);  // must be valid JSON despite the name
  EXPECT_EQ(j["architecture"], "mamba9");
  EXPECT_NE(j["config_error"].get<std::string>().find("general.architecture"), std::string::npos)
      << j["config_error"];
  ASSERT_EQ(j["tensors"].size(), 1u);
  EXPECT_EQ(j["tensors"][0]["name"], "blk.0.\xEF\xBF\xBD\xEF\xBF\xBDweird.weight");
  EXPECT_EQ(j["params"]["total"], 64);
  EXPECT_EQ(j["params"]["active"], 64);

  RunResult table = run_cli("inspect '" + file.string() + "'");
  EXPECT_EQ(table.exit_code, 0) << table.out;
  EXPECT_NE(table.out.find("config          not usable: "), std::string::npos) << table.out;
}

TEST(CliInspectHostile, UnknownHfArchitectureNamesTheKey) {
  ScratchDir dir;
  fs::copy(fs::path(SCHWARM_TEST_DATA_DIR) / "checkpoints" / "tiny-deepseek-v3", dir.path(),
           fs::copy_options::recursive);
  write_text(dir.path() / "config.json", R"({"architectures": ["FooForCausalLM"], "hidden_size": 64})");
  RunResult r = run_cli("inspect --json '" + dir.path().string() + "'", false);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const json j = json::parse(r.out);
  const std::string err = j["config_error"].get<std::string>();
  EXPECT_NE(err.find("'architectures'"), std::string::npos) << err;
  EXPECT_NE(err.find("FooForCausalLM"), std::string::npos) << err;
  // Routed experts are there but top-k is unknown: active parameters cannot be given.
  EXPECT_TRUE(j["params"]["active"].is_null());
}

TEST(CliInspectHostile, BrokenConfigJsonIsAnError) {
  ScratchDir dir;
  fs::copy(fs::path(SCHWARM_TEST_DATA_DIR) / "checkpoints" / "tiny-deepseek-v3", dir.path(),
           fs::copy_options::recursive);
  write_text(dir.path() / "config.json", "{\"architectures\": [");
  RunResult r = run_cli("inspect '" + dir.path().string() + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find((dir.path() / "config.json").string()), std::string::npos) << r.out;
}

TEST(CliInspectHostile, BrokenTokenizerJsonNamesTheFile) {
  ScratchDir dir;
  fs::copy(fs::path(SCHWARM_TEST_DATA_DIR) / "checkpoints" / "tiny-deepseek-v3", dir.path(),
           fs::copy_options::recursive);
  write_text(dir.path() / "tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"x\"}}}");
  RunResult r = run_cli("inspect '" + dir.path().string() + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("tokenizer.json: vocab entry 'a' has no integer id"), std::string::npos) << r.out;

  write_text(dir.path() / "tokenizer.json", std::string("{\"model\": \xff}"));
  r = run_cli("inspect '" + dir.path().string() + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("tokenizer.json: not valid JSON"), std::string::npos) << r.out;
}

TEST(CliInspectHostile, NotACheckpointFile) {
  ScratchDir dir;
  write_text(dir.path() / "notes.txt", "hello");
  RunResult r = run_cli("inspect '" + (dir.path() / "notes.txt").string() + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("unknown checkpoint format"), std::string::npos) << r.out;
}

}  // namespace

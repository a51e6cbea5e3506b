// schwarm generate / schwarm logits run as a user would, on the deepseek-v3 golden checkpoint.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/wait.h>
#include <vector>

#include "runtime/npy.h"

#include "cli_runner.h"

namespace {

using schwarm_test::run_cli;

const std::string kDir = std::string(SCHWARM_TEST_DATA_DIR) + "/golden/deepseek-v3";

nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  return nlohmann::json::parse(f);
}

std::string join(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t i : ids) {
    if (!s.empty()) s += ',';
    s += std::to_string(i);
  }
  return s;
}

TEST(CliGenerate, GreedyIdsMatchTheReference) {
  const auto prompt = read_json(kDir + "/reference/prompt.json")["ids"].get<std::vector<int32_t>>();
  const auto cont = read_json(kDir + "/reference/continuation.json")["ids"].get<std::vector<int32_t>>();
  const schwarm_test::RunResult r = run_cli("generate -m " + kDir + " --ids " + join(prompt) + " -n 32 --temp 0 --print-ids");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, join(cont) + "\n");
}

TEST(CliGenerate, BadIdsAndTextPromptAreClearErrors) {
  schwarm_test::RunResult r = run_cli("generate -m " + kDir + " --ids 1,2,512 -n 2");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("token id 512"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("out of the vocabulary range [0, 512)"), std::string::npos) << r.out;
  r = run_cli("generate -m " + kDir + " --ids 1,x,3");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("'x' is not a token id"), std::string::npos) << r.out;
  r = run_cli("generate -m " + kDir + " -p hello");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("not supported yet"), std::string::npos) << r.out;
  r = run_cli("logits -m " + kDir + " --ids -1 -o /dev/null");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("token id -1"), std::string::npos) << r.out;
}

TEST(CliLogits, WritesEveryPositionAsNpy) {
  const auto prompt = read_json(kDir + "/reference/prompt.json")["ids"].get<std::vector<int32_t>>();
  const std::string out = ::testing::TempDir() + "/schwarm_cli_logits.npy";
  const std::string dump = ::testing::TempDir() + "/schwarm_cli_dump";
  const schwarm_test::RunResult r = run_cli("logits -m " + kDir + " --ids " + join(prompt) + " -o " + out + " --dump " + dump);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const schwarm::NpyArray got = schwarm::read_npy_f32(out);
  const schwarm::NpyArray ref = schwarm::read_npy_f32(kDir + "/reference/logits.npy");
  ASSERT_EQ(got.shape, ref.shape);
  for (int64_t row = 0; row < ref.shape[0]; ++row) {
    double d = 0, n = 0;
    for (int64_t c = 0; c < ref.shape[1]; ++c) {
      const size_t i = static_cast<size_t>(row * ref.shape[1] + c);
      d += (got.data[i] - ref.data[i]) * static_cast<double>(got.data[i] - ref.data[i]);
      n += ref.data[i] * static_cast<double>(ref.data[i]);
    }
    EXPECT_LE(d, 1e-8 * n) << "position " << row;
  }
  const schwarm::NpyArray layer = schwarm::read_npy_f32(dump + "/layer_out.2.npy");
  EXPECT_EQ(layer.shape, (std::vector<int64_t>{static_cast<int64_t>(prompt.size()), 128}));
}

}  // namespace

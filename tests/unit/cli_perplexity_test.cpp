// schwarm perplexity on the shipped schwarm-tiny model against the training tools' own figure
// (models/schwarm-tiny/perplexity.json, transformers fp32 with llama-perplexity's definition;
// issue: equal within 0.5%), and chat / generate without -m using that model.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_runner.h"

namespace schwarm_test {
namespace {

const std::string kModels = std::string(SCHWARM_SOURCE_DIR) + "/models";

nlohmann::json expected_perplexity() {
  std::ifstream f(kModels + "/schwarm-tiny/perplexity.json");
  return nlohmann::json::parse(f);
}

TEST(CliPerplexity, SchwarmTinyMatchesTheTrainingToolsFigure) {
  const nlohmann::json want = expected_perplexity();
  for (const char* ctx : {"256", "128"}) {
    for (const auto& [model, key] : {std::pair{"schwarm-tiny", "safetensors_or_f16"}, std::pair{"schwarm-tiny-f16.gguf", "safetensors_or_f16"},
                                     std::pair{"schwarm-tiny-q8_0.gguf", "q8_0"}}) {
      const RunResult r = run_cli("perplexity -q --json -m '" + kModels + "/" + model + "' -f '" + kModels +
                                      "/schwarm-tiny/heldout.txt' -c " + ctx,
                                  /*with_stderr=*/false);
      ASSERT_EQ(r.exit_code, 0) << r.out;
      const nlohmann::json got = nlohmann::json::parse(r.out);
      const double expected = want["by_n_ctx"][ctx][key]["ppl"].get<double>();
      const double ppl = got["perplexity"].get<double>();
      std::printf("[perplexity] %s -c %s: %.5f (training tools: %.5f)\n", model, ctx, ppl, expected);
      EXPECT_LE(std::abs(ppl - expected) / expected, 0.005) << model << " -c " << ctx;
      EXPECT_EQ(got["scored_tokens"].get<int64_t>(), want["by_n_ctx"][ctx]["scored_tokens"].get<int64_t>());
      EXPECT_EQ(got["chunks"].get<int64_t>(), want["by_n_ctx"][ctx]["n_chunk"].get<int64_t>());
    }
  }
}

TEST(CliPerplexity, TooShortTextIsOneClearLine) {
  TempDir d;
  const std::string f = d.file("short.txt");
  std::ofstream(f) << "a few words only";
  const RunResult r = run_cli("perplexity -q -m '" + kModels + "/schwarm-tiny-q8_0.gguf' -f '" + f + "' -c 256");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("at least 2 x context"), std::string::npos) << r.out;
}

// Without -m, generate and chat use the shipped model: the same tokens as naming it.
TEST(CliDefaultModel, GenerateAndChatUseSchwarmTiny) {
  const std::string args = " -q -p 'dog (noun):' -n 12 --temp 0 --print-ids";
  const RunResult named = run_cli("generate -m '" + kModels + "/schwarm-tiny-q8_0.gguf'" + args, false);
  const RunResult dflt = run_shell("env -u SCHWARM_MODEL '" + std::string(SCHWARM_CLI_PATH) + "' generate" + args);
  ASSERT_EQ(named.exit_code, 0) << named.out;
  ASSERT_EQ(dflt.exit_code, 0) << dflt.out;
  EXPECT_EQ(dflt.out, named.out);
  const RunResult chat = run_shell("printf 'What does \"river\" mean?\\n/exit\\n' | env -u SCHWARM_MODEL '" +
                                   std::string(SCHWARM_CLI_PATH) + "' chat -q -n 8");
  EXPECT_EQ(chat.exit_code, 0) << chat.out;
  EXPECT_FALSE(chat.out.empty());
  const RunResult missing = run_shell("SCHWARM_MODEL=/nonexistent/model.gguf '" + std::string(SCHWARM_CLI_PATH) +
                                      "' generate -q -p hi 2>&1");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find("/nonexistent/model.gguf"), std::string::npos) << missing.out;
}

}  // namespace
}  // namespace schwarm_test

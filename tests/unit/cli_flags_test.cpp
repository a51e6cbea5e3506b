// Bad command lines and bad input for generate and chat: a non-zero exit and one clear line on
// stderr that names the problem (never a stack dump or CLI11's two-line usage hint).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "cli_runner.h"

namespace {

using schwarm_test::run_cli_split;

const std::string kModel = std::string(SCHWARM_TEST_DATA_DIR) + "/checkpoints/tiny-deepseek-v3";

TEST(CliFlags, OutOfRangeValuesAreRejectedInOneLine) {
  for (const std::string cmd : {"generate -p hi", "chat"})
    for (const auto& [args, expect] : std::vector<std::pair<std::string, std::string>>{
             {"--temp -1", "--temp: temperature must be >= 0, got -1"},
             {"--temp nan", "--temp"},
             {"--temp 1e300", "--temp: temperature must be a finite float (at most 3.402823466e+38), got 1e+300"},
             {"--top-k 1e300", "--top-k"},
             {"--temp hot", "--temp: expects a number, got 'hot'"},
             {"--top-p 2", "--top-p: top_p must be in (0, 1], got 2"},
             {"--min-p -0.5", "--min-p"},
             {"--top-k -1", "--top-k"},
             {"--repeat-penalty 0", "--repeat-penalty: repeat_penalty must be > 0"},
             {"-n -5", "--n-predict: must be in [-1, "},
             {"-c -1", "--ctx-size"},
             {"-t -2", "--threads"},
             {"--backend gpu", "--backend"},
             {"--no-such-flag", "--no-such-flag"},
         }) {
      const auto r = run_cli_split(cmd + " -m '" + kModel + "' -q " + args, "");
      EXPECT_EQ(r.exit_code, 2) << cmd << " " << args;
      EXPECT_EQ(r.err.rfind("schwarm: error: ", 0), 0u) << r.err;
      EXPECT_NE(r.err.find(expect), std::string::npos) << cmd << " " << args << ": " << r.err;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
}

TEST(CliFlags, UserErrorsAreOneLine) {
  for (const auto& [args, expect] : std::vector<std::pair<std::string, std::string>>{
           {"generate -m /no/such/model -p hi", "/no/such/model: no such file or directory"},
           {"chat -m /no/such/model", "/no/such/model: no such file or directory"},
           {"generate -m '" + kModel + "' -p 'a long prompt of many words' -c 4",
            "tokens, too long for the context of 4 tokens"},
           {"generate -m '" + kModel + "' -f /no/such/prompt.txt",
            "/no/such/prompt.txt: cannot read"},
           {"generate -m '" + kModel + "'", "give the prompt either as text with -p"},
           {"generate -m '" + kModel + "' -p hi --stop ''",
            "--stop: a stop string must not be empty"},
       }) {
    const auto r = run_cli_split(args + " -q", "");
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_NE(r.err.find(expect), std::string::npos) << args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

TEST(CliFlags, HelpExplainsTheFlags) {
  for (const std::string cmd : {"chat", "generate", "bench"}) {
    const auto r = run_cli_split(cmd + " --help");
    EXPECT_EQ(r.exit_code, 0) << cmd;
    for (const char* flag : {"-m,--model", "-t,--threads", "-q,--quiet"})
      EXPECT_NE(r.out.find(flag), std::string::npos) << cmd << " " << flag;
  }
  const auto g = run_cli_split("generate --help");
  for (const char* flag :
       {"--temp", "--top-k", "--top-p", "--min-p", "--repeat-penalty", "-s,--seed",
        "-n,--n-predict", "-c,--ctx-size", "-f,--file", "--jsonl", "--parallel"})
    EXPECT_NE(g.out.find(flag), std::string::npos) << flag;
}

TEST(CliFlags, UnknownArchitectureAndTruncatedFileAreOneLine) {
  schwarm_test::TempDir dir;
  const std::string fake = dir.file("fake");
  std::filesystem::copy(kModel, fake);
  nlohmann::json config = nlohmann::json::parse(schwarm_test::slurp(fake + "/config.json"));
  config["architectures"] = {"FooBarForCausalLM"};
  std::ofstream(fake + "/config.json") << config.dump();
  const std::string gguf =
      std::string(SCHWARM_TEST_DATA_DIR) + "/checkpoints/tiny-deepseek-v3-q8_0.gguf";
  std::ofstream(dir.file("cut.gguf"), std::ios::binary) << schwarm_test::slurp(gguf).substr(0, 100);
  for (const auto& [args, expect] : std::vector<std::pair<std::string, std::string>>{
           {"chat -m '" + fake + "'", "unknown architecture 'FooBarForCausalLM'"},
           {"generate -p hi -m '" + fake + "'", "unknown architecture 'FooBarForCausalLM'"},
           {"bench -p 1 -n 0 -r 1 -m '" + dir.file("cut.gguf") + "'", "cut.gguf: "},
       }) {
    const auto r = run_cli_split(args + " -q", "");
    EXPECT_EQ(r.exit_code, 1) << args;
    EXPECT_EQ(r.err.rfind("schwarm: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(expect), std::string::npos) << args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace

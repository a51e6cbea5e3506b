// schwarm bench on tiny-deepseek-v3 with small -p/-n/-r: the JSON records carry llama-bench's
// fields with sane values, one per (threads, test); the markdown table has a row per test.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <numeric>
#include <string>

#include "cli_runner.h"

namespace {

using schwarm_test::run_cli_split;

const std::string kModel = std::string(SCHWARM_TEST_DATA_DIR) + "/checkpoints/tiny-deepseek-v3";

TEST(CliBench, JsonRecordsHaveLlamaBenchFields) {
  const auto r = run_cli_split("bench -m '" + kModel + "' -p 8 -n 4 -r 2 -t 1,2 --json -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const nlohmann::json all = nlohmann::json::parse(r.out);
  ASSERT_TRUE(all.is_array());
  ASSERT_EQ(all.size(), 4u) << all.dump(1);
  for (size_t i = 0; i < all.size(); ++i) {
    const nlohmann::json& j = all[i];
    for (const char* k :
         {"model_filename", "model_type", "model_size", "model_n_params", "n_prompt", "n_gen",
          "n_threads", "avg_ns", "stddev_ns", "avg_ts", "stddev_ts", "samples_ns", "samples_ts",
          "peak_rss_bytes", "backend", "test_time"})
      ASSERT_TRUE(j.contains(k)) << k;
    EXPECT_EQ(j["model_filename"], kModel);
    EXPECT_EQ(j["backend"], "cpu");
    EXPECT_EQ(j["n_threads"], i < 2 ? 1 : 2);
    EXPECT_EQ(j["n_prompt"], i % 2 == 0 ? 8 : 0);
    EXPECT_EQ(j["n_gen"], i % 2 == 0 ? 0 : 4);
    EXPECT_GT(j["model_size"].get<uint64_t>(), 100000u);
    EXPECT_GT(j["model_n_params"].get<uint64_t>(), 100000u);
    EXPECT_GT(j["peak_rss_bytes"].get<uint64_t>(), 1u << 20);
    const auto ns = j["samples_ns"].get<std::vector<uint64_t>>();
    const auto ts = j["samples_ts"].get<std::vector<double>>();
    ASSERT_EQ(ns.size(), 2u);
    ASSERT_EQ(ts.size(), 2u);
    const double tokens = j["n_prompt"].get<double>() + j["n_gen"].get<double>();
    for (size_t s = 0; s < 2; ++s) {
      EXPECT_GT(ns[s], 0u);
      EXPECT_NEAR(ts[s], tokens * 1e9 / static_cast<double>(ns[s]), 1e-6 * ts[s]);
    }
    EXPECT_NEAR(j["avg_ns"].get<double>(), (ns[0] + ns[1]) / 2.0, 1.0);
    EXPECT_NEAR(j["avg_ts"].get<double>(), (ts[0] + ts[1]) / 2.0, 1e-6 * ts[0]);
    EXPECT_GE(j["stddev_ts"].get<double>(), 0.0);
  }
}

TEST(CliBench, MarkdownTableAndJsonl) {
  const auto md = run_cli_split("bench -m '" + kModel + "' -p 8 -n 2 -r 1 -q");
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_EQ(md.out.rfind("| model ", 0), 0u) << md.out;
  EXPECT_NE(md.out.find("| pp8 "), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("| tg2 "), std::string::npos) << md.out;
  EXPECT_EQ(std::count(md.out.begin(), md.out.end(), '\n'), 4) << md.out;  // header, rule, 2 rows
  const auto jl = run_cli_split("bench -m '" + kModel + "' -p 0 -n 2 -r 1 -o jsonl -q");
  ASSERT_EQ(jl.exit_code, 0) << jl.err;
  EXPECT_EQ(nlohmann::json::parse(jl.out)["n_gen"], 2);
}

TEST(CliBench, BadValuesAreOneLine) {
  for (const auto& [args, expect] : std::vector<std::pair<std::string, std::string>>{
           {"-r 0", "--repetitions: must be in [1, 100000], got 0"},
           {"-p 0 -n 0", "nothing to measure"},
           {"-t -1", "--threads"},
           {"-o xml", "--output"},
           {"--backend gpu", "--backend"},
       }) {
    const auto r = run_cli_split("bench -m '" + kModel + "' -q " + args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_NE(r.err.find(expect), std::string::npos) << args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  const auto missing = run_cli_split("bench -m /nonexistent/model -p 1 -n 0 -r 1 -q");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "schwarm: error: /nonexistent/model: no such file or directory\n");
}

}  // namespace

// schwarm generate --jsonl: a batch with broken lines on tiny-deepseek-v3. Error records name the
// line and the rest run; records keep the input's order and ids; every request's tokens equal a
// single `schwarm generate` of the same prompt (greedy and seeded), whatever --parallel is.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_runner.h"

namespace {

using nlohmann::json;
using schwarm_test::run_cli;
using schwarm_test::run_cli_split;
using schwarm_test::slurp;
using schwarm_test::TempDir;

const std::string kModel = std::string(SCHWARM_TEST_DATA_DIR) + "/checkpoints/tiny-deepseek-v3";

const char* const kBatch =
    R"({"id": "a", "prompt": "Hello world", "max_tokens": 5})"
    "\n"
    "not json\n"
    R"({"id": 7, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3})"
    "\n"
    "\n"
    R"({"id": "c", "prompt": "x", "temprature": 0.5})"
    "\n"
    R"({"id": "d", "prompt": "The swarm", "max_tokens": 6, "seed": 3, "temperature": 0.8, "top_k": 20})"
    "\n"
    R"({"prompt": "Hello world", "max_tokens": 2, "stop": ["zzz"]})"
    "\n"
    R"({"id": "e", "prompt": "Hello world", "max_tokens": -2})"
    "\n";

std::vector<json> parse_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

// The ids a single run prints with --print-ids.
std::string single(const std::string& args) {
  const auto r = run_cli("generate -m '" + kModel + "' " + args + " --print-ids -q", false);
  EXPECT_EQ(r.exit_code, 0) << args;
  return r.out;
}

std::string ids_of(const json& record) {
  std::string s;
  for (const auto& t : record.at("tokens")) {
    if (!s.empty()) s += ',';
    s += std::to_string(t.get<int>());
  }
  return s + "\n";
}

TEST(CliBatch, BrokenLinesGetErrorRecordsAndTheRestMatchesSingleRuns) {
  TempDir dir;
  const std::string in = dir.file("in.jsonl"), out = dir.file("out.jsonl");
  std::ofstream(in) << kBatch;
  const auto r = run_cli_split("generate -m '" + kModel + "' --jsonl '" + in + "' --out '" + out +
                               "' --parallel 2 --print-ids -q");
  EXPECT_EQ(r.exit_code, 1) << "some lines failed";
  EXPECT_EQ(r.err, "schwarm: 3 of 7 requests failed (their records say why)\n");
  EXPECT_EQ(r.out, "");
  const std::vector<json> recs = parse_lines(slurp(out));
  ASSERT_EQ(recs.size(), 7u) << slurp(out);
  // Order and ids: the input's; a line without an id gets its line number.
  const std::vector<json> ids = {"a", nullptr, 7, "c", "d", 7, "e"};
  const std::vector<int> lines = {1, 2, 3, 5, 6, 7, 8};
  for (size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(recs[i]["id"], ids[i]) << i;
    EXPECT_EQ(recs[i]["line"], lines[i]) << i;
  }
  EXPECT_NE(recs[1]["error"].get<std::string>().find("in.jsonl:2: invalid JSON"), std::string::npos)
      << recs[1];
  EXPECT_NE(recs[3]["error"].get<std::string>().find("in.jsonl:5: unknown key 'temprature'"),
            std::string::npos);
  EXPECT_NE(recs[6]["error"].get<std::string>().find("in.jsonl:8: max_tokens must be >= -1"),
            std::string::npos);

  EXPECT_EQ(ids_of(recs[0]), single("-p 'Hello world' -n 5 --temp 0"));
  EXPECT_EQ(recs[0]["generated_tokens"], 5);
  EXPECT_EQ(recs[0]["finish_reason"], "max_tokens");
  EXPECT_GT(recs[0]["timings"]["decode_ms"].get<double>(), 0.0);
  EXPECT_EQ(ids_of(recs[4]), single("-p 'The swarm' -n 6 --seed 3 --temp 0.8 --top-k 20"));
  EXPECT_EQ(ids_of(recs[5]), single("-p 'Hello world' -n 2 --temp 0"));
  // A conversation goes through the chat template, as chat's first turn does.
  const auto chat =
      run_cli_split("chat -m '" + kModel + "' -n 3 --temp 0 --print-prompt-ids -q", "Hi\n");
  const std::string prompt = chat.err.substr(chat.err.find("] ") + 2);
  EXPECT_EQ(ids_of(recs[2]),
            single("--ids " + prompt.substr(0, prompt.find('\n')) + " -n 3 --temp 0"));
  // Text: what the single run streams.
  const auto text =
      run_cli("generate -m '" + kModel + "' -p 'Hello world' -n 5 --temp 0 -q", false);
  EXPECT_EQ(recs[0]["text"].get<std::string>() + "\n", text.out);
}

TEST(CliBatch, ParallelismDoesNotChangeTheResults) {
  TempDir dir;
  const std::string in = dir.file("in.jsonl");
  std::ofstream(in) << kBatch;
  std::vector<std::vector<json>> runs;
  for (const char* p : {"1", "3", "16"}) {
    const auto r =
        run_cli("generate -m '" + kModel + "' --jsonl '" + in + "' --parallel " + p + " -q", false);
    EXPECT_EQ(r.exit_code, 1);
    std::vector<json> recs = parse_lines(r.out);  // stdout without --out
    for (json& j : recs) j.erase("timings");
    runs.push_back(recs);
  }
  ASSERT_EQ(runs[0].size(), 7u);
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_EQ(runs[0], runs[2]);
  EXPECT_FALSE(runs[0][0].contains("tokens")) << "tokens only with --print-ids";
}

TEST(CliBatch, FileAndFlagProblemsAreOneLine) {
  TempDir dir;
  const std::string in = dir.file("in.jsonl");
  std::ofstream(in) << R"({"prompt": "hi"})"
                       "\n";
  for (const auto& [args, expect] : std::vector<std::pair<std::string, std::string>>{
           {"--jsonl '" + dir.file("missing.jsonl") + "'", "missing.jsonl: cannot read"},
           {"--jsonl '" + in + "' --parallel 0", "--parallel: must be in [1, 4096], got 0"},
           {"--jsonl '" + in + "' -p hi", "not both"},
           {"-p hi --out x.jsonl", "--out and --parallel go with --jsonl"},
           {"--jsonl '" + in + "' --out '" + dir.file("no/such/dir/out.jsonl") + "'",
            "out.jsonl: cannot write"},
       }) {
    const auto r = run_cli_split("generate -m '" + kModel + "' -q " + args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_NE(r.err.find(expect), std::string::npos) << args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

// Ctrl-C (SIGINT) during a batch: the running request ends as cancelled, the waiting ones get an
// error record, every record is a whole line, and the exit status is 130. The first request is
// tiny; the 60 others sample until the model's end-of-sequence (a few hundred tokens each, about
// a quarter of a second here), so the signal, sent after a second, lands mid-batch.
TEST(CliBatch, InterruptedBatchKeepsEveryRecordWritten) {
  TempDir dir;
  const std::string in = dir.file("in.jsonl"), out = dir.file("out.jsonl");
  const int n = 61;
  {
    std::ofstream f(in);
    f << R"({"id": 0, "prompt": "Hello", "max_tokens": 1})"
         "\n";
    for (int i = 1; i < n; ++i)
      f << R"({"id": )" << i
        << R"(, "prompt": "Hello", "max_tokens": -1, "temperature": 1, "seed": )" << i << "}\n";
  }
  const auto r = schwarm_test::run_shell(std::string(SCHWARM_CLI_PATH) + " generate -m '" + kModel +
                                         "' --jsonl '" + in + "' --out '" + out +
                                         "' --parallel 1 -q 2>/dev/null & pid=$!; " +
                                         "sleep 1; kill -INT $pid; wait $pid; echo \"exit=$?\"");
  EXPECT_EQ(r.out, "exit=130\n");
  const std::vector<json> recs = parse_lines(slurp(out));
  ASSERT_EQ(recs.size(), static_cast<size_t>(n)) << slurp(out);
  EXPECT_EQ(recs[0]["finish_reason"], "max_tokens");
  // Done ones, then (maybe) the one that was running, then the ones that never started.
  size_t i = 1;
  while (i < recs.size() && recs[i].value("finish_reason", "") == "stop_id") ++i;
  if (i < recs.size() && recs[i].value("finish_reason", "") == "cancelled") ++i;
  ASSERT_LT(i, recs.size()) << "the batch ended before the signal";
  for (; i < recs.size(); ++i)
    EXPECT_EQ(recs[i].value("error", ""), in + ":" + std::to_string(i + 1) + ": cancelled");
}

}  // namespace

// Runs `schwarm tokenize` as a user would: the tiny DeepSeek-V3 checkpoint as an HF directory and
// as GGUF (same ids), output formats, BOS and special-token switches, bad input, and byte-exact
// agreement with llama.cpp's llama-tokenize output (committed under
// tests/data/tokenizer/llama-tokenize-output/, made by tools/fixtures/make_tokenizer_references.py)
// on the cached vocab GGUFs.
#include <gtest/gtest.h>

#include "cli_runner.h"
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {
using schwarm_test::run_cli;
using schwarm_test::RunResult;
namespace fs = std::filesystem;


std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const fs::path kData = SCHWARM_TEST_DATA_DIR;
const fs::path kHf = kData / "checkpoints" / "tiny-deepseek-v3";
const fs::path kGguf = kData / "checkpoints" / "tiny-deepseek-v3-q8_0.gguf";

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

fs::path temp_file(const std::string& name, const std::string& bytes) {
  const fs::path p = fs::temp_directory_path() / ("schwarm_cli_tokenize_" + std::to_string(getpid()) + "_" + name);
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

TEST(CliTokenize, HfDirectoryAndGgufGiveTheSameIds) {
  for (const char* prompt : {"hello world 12345", "<｜User｜>hi there<｜Assistant｜>", "a  b\\tc\\n"}) {
    const RunResult hf = run_cli("tokenize -m " + q(kHf) + " --ids -p '" + prompt + "'", false);
    const RunResult gg = run_cli("tokenize -m " + q(kGguf) + " --ids -p '" + prompt + "'", false);
    ASSERT_EQ(hf.exit_code, 0) << hf.out;
    ASSERT_EQ(gg.exit_code, 0) << gg.out;
    EXPECT_EQ(hf.out, gg.out) << prompt;
    // The tiny checkpoint adds BOS (id 0).
    EXPECT_EQ(hf.out.rfind("[0, ", 0), 0u) << hf.out;
    EXPECT_EQ(hf.out.back(), '\n');
  }
}

TEST(CliTokenize, PieceFormatAndSwitches) {
  const RunResult ids = run_cli("tokenize -m " + q(kGguf) + " --ids -p 'hi<｜User｜>'", false);
  const RunResult pieces = run_cli("tokenize -m " + q(kGguf) + " -p 'hi<｜User｜>'", false);
  ASSERT_EQ(pieces.exit_code, 0) << pieces.out;
  // "     0 -> '<｜begin▁of▁sentence｜>'" first: six-wide id, the piece in quotes.
  EXPECT_EQ(pieces.out.rfind("     0 -> '<｜begin▁of▁sentence｜>'\n", 0), 0u) << pieces.out;
  EXPECT_NE(pieces.out.find("     2 -> '<｜User｜>'\n"), std::string::npos) << pieces.out;

  const RunResult no_bos = run_cli("tokenize -m " + q(kGguf) + " --ids --no-bos -p 'hi<｜User｜>'", false);
  ASSERT_EQ(no_bos.exit_code, 0);
  EXPECT_EQ("[0, " + no_bos.out.substr(1), ids.out);

  const RunResult plain = run_cli("tokenize -m " + q(kGguf) + " --ids --no-parse-special -p 'hi<｜User｜>'", false);
  ASSERT_EQ(plain.exit_code, 0);
  EXPECT_EQ(plain.out.find(", 2]"), std::string::npos) << plain.out;
  EXPECT_GT(plain.out.size(), ids.out.size());

  const RunResult count = run_cli("tokenize -m " + q(kGguf) + " --ids --show-count -p 'hi'", false);
  EXPECT_NE(count.out.find("Total number of tokens: "), std::string::npos) << count.out;

  const RunResult empty = run_cli("tokenize -m " + q(kGguf) + " --ids --no-bos -p ''", false);
  EXPECT_EQ(empty.exit_code, 0);
  EXPECT_EQ(empty.out, "[]\n");
}

TEST(CliTokenize, EscapesLikeLlamaTokenize) {
  const RunResult esc = run_cli("tokenize -m " + q(kGguf) + " --ids -p 'a\\nb'", false);
  const fs::path f = temp_file("nl.txt", "a\nb");
  const RunResult file = run_cli("tokenize -m " + q(kGguf) + " --ids -f " + q(f), false);
  const RunResult raw = run_cli("tokenize -m " + q(kGguf) + " --ids --no-escape -p 'a\\nb'", false);
  fs::remove(f);
  EXPECT_EQ(esc.out, file.out);
  EXPECT_NE(esc.out, raw.out);
}

TEST(CliTokenize, FileAndStdinReadBytesAsTheyAre) {
  const std::string text = "line one\r\nline two  \n\n";
  const fs::path f = temp_file("crlf.txt", text);
  const RunResult file = run_cli("tokenize -m " + q(kHf) + " --ids --no-escape -f " + q(f), false);
  const RunResult in = run_cli("tokenize -m " + q(kHf) + " --ids --no-escape --stdin < " + q(f), false);
  fs::remove(f);
  ASSERT_EQ(file.exit_code, 0) << file.out;
  EXPECT_EQ(file.out, in.out);
}

TEST(CliTokenize, InvalidUtf8IsAClearError) {
  const RunResult p = run_cli("tokenize -m " + q(kGguf) + " -p 'ok\\xff'");
  EXPECT_EQ(p.exit_code, 1) << p.out;
  EXPECT_NE(p.out.find("not valid UTF-8"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("offset 2"), std::string::npos) << p.out;

  const fs::path f = temp_file("bad.txt", std::string("abc\xC3\x28 def"));
  const RunResult r = run_cli("tokenize -m " + q(kGguf) + " -f " + q(f));
  fs::remove(f);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("not valid UTF-8"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(f.filename().string()), std::string::npos) << r.out;
}

TEST(CliTokenize, MissingInputsAreNamed) {
  const RunResult nofile = run_cli("tokenize -m " + q(kGguf) + " -f /nonexistent/prompt.txt");
  EXPECT_EQ(nofile.exit_code, 1) << nofile.out;
  EXPECT_NE(nofile.out.find("/nonexistent/prompt.txt"), std::string::npos) << nofile.out;

  const RunResult nomodel = run_cli("tokenize -m /nonexistent/model.gguf -p hi");
  EXPECT_EQ(nomodel.exit_code, 1) << nomodel.out;
  EXPECT_NE(nomodel.out.find("/nonexistent/model.gguf"), std::string::npos) << nomodel.out;

  const RunResult noprompt = run_cli("tokenize -m " + q(kGguf));
  EXPECT_NE(noprompt.exit_code, 0) << noprompt.out;
  const RunResult both = run_cli("tokenize -m " + q(kGguf) + " -p a -f b");
  EXPECT_NE(both.exit_code, 0) << both.out;
}

// Each file there is NAME.args (the llama-tokenize arguments after -m VOCAB, one per line) and
// NAME.out (its stdout); NAME starts with the vocab name and "--".
TEST(CliTokenize, SameOutputAsLlamaTokenize) {
  const fs::path dir = kData / "tokenizer" / "llama-tokenize-output";
  const fs::path models = SCHWARM_LLAMA_CPP_MODELS_DIR;
  int compared = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".args") continue;
    const std::string stem = e.path().stem().string();
    const std::string vocab = stem.substr(0, stem.find("--"));
    const fs::path gguf = models / ("ggml-vocab-" + vocab + ".gguf");
    if (!fs::exists(gguf)) continue;
    std::string args;
    std::istringstream lines(read_all(e.path()));
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("corpus/", 0) == 0) line = (kData / "tokenizer" / line).string();
      args += " " + q(line);
    }
    const RunResult r = run_cli("tokenize -m " + q(gguf) + args, false);
    EXPECT_EQ(r.exit_code, 0) << stem;
    EXPECT_EQ(r.out, read_all(fs::path(dir) / (stem + ".out"))) << stem;
    ++compared;
  }
  if (compared == 0) GTEST_SKIP() << "no cached vocab GGUFs: run scripts/fetch-test-data.sh";
}

}  // namespace

// schwarm chat over a pipe on tiny-deepseek-v3 (random weights, a DeepSeek-style chat template):
// the prompt of each turn is checked against `schwarm template` + `schwarm tokenize` of the same
// conversation, turn 2 evaluates only its new tokens, the answers equal `schwarm generate` on the
// same ids, and the commands work. No model output is hard-coded: two paths are compared.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "cli_runner.h"

namespace {

using schwarm_test::run_cli;
using schwarm_test::run_cli_split;
using schwarm_test::TempDir;

const std::string kModel = std::string(SCHWARM_TEST_DATA_DIR) + "/checkpoints/tiny-deepseek-v3";

std::vector<int32_t> parse_ids(std::string s) {
  std::vector<int32_t> ids;
  for (char& c : s)
    if (c == '[' || c == ']' || c == ',' || c == '\n') c = ' ';
  std::istringstream in(s);
  for (int32_t v; in >> v;) ids.push_back(v);
  return ids;
}

std::string join(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t t : ids) {
    if (!s.empty()) s += ',';
    s += std::to_string(t);
  }
  return s;
}

// `schwarm template` for these messages (a JSON array: nlohmann reads {x} as x itself).
std::string render(const TempDir& dir, const nlohmann::json& messages, bool add_generation_prompt) {
  const std::string ctx = dir.file("ctx.json");
  std::ofstream(ctx) << nlohmann::json{{"messages", messages},
                                       {"add_generation_prompt", add_generation_prompt}}
                            .dump();
  const auto r = run_cli("template -m '" + kModel + "' --context '" + ctx + "'", false);
  EXPECT_EQ(r.exit_code, 0);
  return r.out;
}

// `schwarm tokenize` of the text, no BOS added (the template writes it).
std::vector<int32_t> tokenize(const TempDir& dir, const std::string& text) {
  const std::string f = dir.file("text.txt");
  std::ofstream(f, std::ios::binary) << text;
  const auto r = run_cli("tokenize -m '" + kModel + "' -f '" + f + "' --no-bos --ids", false);
  EXPECT_EQ(r.exit_code, 0);
  return parse_ids(r.out);
}

// The rest of every line of `text` that starts with `prefix`.
std::vector<std::string> lines_after(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) out.push_back(line.substr(prefix.size()));
  return out;
}

struct TurnCounts {
  long prompt = -1, cached = -1;
};
std::vector<TurnCounts> timings(const std::string& err) {
  std::vector<TurnCounts> out;
  const std::regex re(R"(^\[(\d+) prompt tokens \((\d+) cached\))");
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);)
    if (std::smatch m; std::regex_search(line, m, re))
      out.push_back({std::stol(m[1]), std::stol(m[2])});
  return out;
}

const nlohmann::json kUser1 = {{"role", "user"}, {"content", "Hello there"}};
const nlohmann::json kUser2 = {{"role", "user"}, {"content", "And now?"}};

// What the template adds for turn 2 after the history (turn 1's prompt and answer): rendered with
// a placeholder answer "X", since the template copies the answer verbatim.
std::vector<int32_t> expected_turn2(const TempDir& dir) {
  const std::string before = render(dir, nlohmann::json::array({kUser1}), true) + "X";
  const std::string full = render(
      dir, nlohmann::json::array({kUser1, {{"role", "assistant"}, {"content", "X"}}, kUser2}),
      true);
  EXPECT_EQ(full.compare(0, before.size(), before), 0) << full;
  return tokenize(dir, full.substr(before.size()));
}

TEST(CliChat, TurnsFollowTheTemplateAndTurnTwoPrefillsOnlyItsTokens) {
  TempDir dir;
  const int n = 4;
  const auto r =
      run_cli_split("chat -m '" + kModel + "' -n 4 --temp 0 --print-prompt-ids --timings -q",
                    "Hello there\nAnd now?\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> prompts = lines_after(r.err, "[prompt ids] ");
  ASSERT_EQ(prompts.size(), 2u) << r.err;
  const std::vector<int32_t> turn1 =
      tokenize(dir, render(dir, nlohmann::json::array({kUser1}), true));
  EXPECT_EQ(parse_ids(prompts[0]), turn1);
  const std::vector<int32_t> turn2 = expected_turn2(dir);
  EXPECT_EQ(parse_ids(prompts[1]), turn2);

  // Turn 2 evaluates its new tokens and the last answer token (not evaluated yet); the rest of the
  // history comes from the KV cache.
  const std::vector<TurnCounts> t = timings(r.err);
  ASSERT_EQ(t.size(), 2u) << r.err;
  EXPECT_EQ(t[0].prompt, static_cast<long>(turn1.size()));
  EXPECT_EQ(t[0].cached, 0);
  EXPECT_EQ(t[1].prompt, static_cast<long>(turn2.size()) + 1);
  EXPECT_EQ(t[1].cached, static_cast<long>(turn1.size()) + n - 1);

  // The first answer is what generate gives for the same ids.
  const auto g =
      run_cli("generate -m '" + kModel + "' --ids " + join(turn1) + " -n 4 --temp 0", false);
  ASSERT_EQ(g.exit_code, 0);
  EXPECT_EQ(r.out.compare(0, g.out.size(), g.out), 0) << r.out << "\nvs\n" << g.out;
}

TEST(CliChat, CommandsOverAPipe) {
  TempDir dir;
  const std::string flags = "chat -m '" + kModel + "' -n 3 --temp 0 --print-prompt-ids -q";
  const auto plain = run_cli_split(flags, "Hello there\nAnd now?\n");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const std::string file = dir.file("chat.json");
  const auto r =
      run_cli_split(flags, "Hello there\n/stats\n/save " + file + "\n/reset\n/stats\n/load " +
                               file + "\n/stats\nAnd now?\n/exit\nnever answered\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("(saved to " + file + ")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(conversation reset)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(loaded " + file + ")"), std::string::npos) << r.out;
  // /stats: the history before /save, none after /reset, the same again after /load.
  const std::vector<std::string> used = lines_after(r.out, "context: ");
  ASSERT_EQ(used.size(), 3u) << r.out;
  const size_t turn1 = tokenize(dir, render(dir, nlohmann::json::array({kUser1}), true)).size();
  EXPECT_EQ(used[0].substr(0, used[0].find(' ')), std::to_string(turn1 + 3)) << used[0];
  EXPECT_EQ(used[1].substr(0, used[1].find(' ')), "0") << used[1];
  EXPECT_EQ(used[2].substr(0, used[2].find('(')), used[0].substr(0, used[0].find('(')));
  // After /load, turn 2 appends the same ids and gets the same answer as without save and load;
  // /exit ends the chat before the last line.
  const std::vector<std::string> a = lines_after(plain.err, "[prompt ids] "),
                                 b = lines_after(r.err, "[prompt ids] ");
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u) << r.err;
  EXPECT_EQ(a, b);
  const auto g = run_cli("generate -m '" + kModel + "' --ids " + b[0] + " -n 3 --temp 0", false);
  ASSERT_EQ(plain.out.compare(0, g.out.size(), g.out), 0);
  const std::string answer2 = plain.out.substr(g.out.size());
  ASSERT_GE(r.out.size(), answer2.size());
  EXPECT_EQ(r.out.substr(r.out.size() - answer2.size()), answer2) << r.out;
  EXPECT_EQ(r.out.compare(0, g.out.size(), g.out), 0) << r.out;
}

TEST(CliChat, BadCommandsAndFilesAreOneLineAndTheChatGoesOn) {
  TempDir dir;
  const std::string junk = dir.file("junk.json");
  std::ofstream(junk) << "{\"format\": \"something else\"}";
  const auto r = run_cli_split(
      "chat -m '" + kModel + "' -n 2 --temp 0 -q",
      "/bogus\n/load " + dir.file("missing.json") + "\n/load " + junk + "\n/save\nHi\n/stats\n");
  EXPECT_EQ(r.exit_code, 1) << "a failed turn is reported in the exit code of a piped chat";
  EXPECT_NE(r.err.find("schwarm: error: unknown command /bogus"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("missing.json: cannot read"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("junk.json: not a schwarm chat file"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/save needs a file name"), std::string::npos) << r.err;
  EXPECT_EQ(lines_after(r.err, "schwarm: error: ").size(), 4u) << r.err;
  EXPECT_NE(r.out.find("turns: 1"), std::string::npos) << r.out;  // the chat went on
}

TEST(CliChat, SystemPromptIsTheFirstMessage) {
  TempDir dir;
  const auto r = run_cli_split(
      "chat -m '" + kModel + "' -n 1 --temp 0 --print-prompt-ids -q --system-prompt 'Be brief.'",
      "Hello there\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> p = lines_after(r.err, "[prompt ids] ");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(parse_ids(p[0]),
            tokenize(dir, render(dir,
                                 nlohmann::json::array(
                                     {{{"role", "system"}, {"content", "Be brief."}}, kUser1}),
                                 true)));
}

TEST(CliChat, ACheckpointWithoutChatTemplateIsOneClearError) {
  const auto r = run_cli_split(
      "chat -m '" + std::string(SCHWARM_TEST_DATA_DIR) + "/golden/deepseek-v3' -q", "Hi\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no chat template"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace

// schwarm template: renders a checkpoint's chat template (HF directory and GGUF twin alike) or a
// .jinja file with a JSON context, printing the prompt exactly.
#include <gtest/gtest.h>

#include "cli_runner.h"
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {
using schwarm_test::run_cli;
using schwarm_test::RunResult;

namespace fs = std::filesystem;


const fs::path kCheckpoints = fs::path(SCHWARM_TEST_DATA_DIR) / "checkpoints";

fs::path write_temp(const std::string& name, const std::string& text) {
  const fs::path p = fs::temp_directory_path() / ("schwarm_cli_template_" + name);
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

const char* kContext = R"({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
  {"role": "user", "content": "2+2?"}], "add_generation_prompt": true})";

TEST(CliTemplate, HfDirectoryAndGgufRenderTheSame) {
  const fs::path ctx = write_temp("ctx.json", kContext);
  const RunResult hf = run_cli("template -m '" + (kCheckpoints / "tiny-deepseek-v3").string() + "' --context '" + ctx.string() + "'", false);
  const RunResult gguf =
      run_cli("template -m '" + (kCheckpoints / "tiny-deepseek-v3-q8_0.gguf").string() + "' --context '" + ctx.string() + "'", false);
  ASSERT_EQ(hf.exit_code, 0);
  ASSERT_EQ(gguf.exit_code, 0);
  EXPECT_EQ(hf.out, gguf.out);
  // The checkpoint's bos token fills what the context leaves out; nothing is appended.
  EXPECT_EQ(hf.out.rfind("<｜begin▁of▁sentence｜>", 0), 0u) << hf.out;
  EXPECT_NE(hf.out.find("2+2?"), std::string::npos) << hf.out;
  EXPECT_NE(hf.out.back(), '\n');
}

TEST(CliTemplate, ContextTokensWinOverTheCheckpoints) {
  const fs::path ctx = write_temp("ctx_bos.json", R"({"messages": [{"role": "user", "content": "x"}], "bos_token": "[B]"})");
  const RunResult r = run_cli("template -m '" + (kCheckpoints / "tiny-deepseek-v3").string() + "' --context '" + ctx.string() + "'", false);
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("[B]", 0), 0u) << r.out;
}

TEST(CliTemplate, TemplateFilePrintsExactly) {
  const fs::path t = write_temp("t.jinja", "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{{ strftime_now('%Y') }}\n");
  const fs::path ctx = write_temp("ctx2.json", R"({"messages": [{"role": "user", "content": "é"}]})");
  const RunResult r = run_cli("template --template '" + t.string() + "' --context '" + ctx.string() + "' --now 1768469400", false);
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "user: é\n2026");  // jinja2 drops one trailing newline of the template
}

TEST(CliTemplate, ErrorsNameFileAndLine) {
  const fs::path t = write_temp("bad.jinja", "ok\n{{ raise_exception('no system role') }}");
  const fs::path ctx = write_temp("ctx3.json", R"({"messages": []})");
  const RunResult r = run_cli("template --template '" + t.string() + "' --context '" + ctx.string() + "'", true);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("bad.jinja:2: no system role"), std::string::npos) << r.out;
  const fs::path notjson = write_temp("ctx4.json", "[1, 2]");
  EXPECT_EQ(run_cli("template --template '" + t.string() + "' --context '" + notjson.string() + "'", false).exit_code, 1);
  EXPECT_NE(run_cli("template --context '" + ctx.string() + "'", false).exit_code, 0);
}

}  // namespace

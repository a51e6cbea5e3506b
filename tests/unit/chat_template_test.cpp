// The chat template engine against Python jinja2 (set up as transformers sets it up):
// every cached llama.cpp template x every conversation byte for byte, inline language cases,
// errors with line numbers, and the limits that stop hostile templates.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "schwarm/error.h"
#include "text/jinja/chat_template.h"

namespace fs = std::filesystem;
using nlohmann::ordered_json;
using schwarm::ChatTemplate;

namespace {

const fs::path kData = fs::path(SCHWARM_TEST_DATA_DIR) / "templates";
const fs::path kTemplates = fs::path(SCHWARM_LLAMA_CPP_MODELS_DIR) / "templates";
constexpr std::time_t kFixedNow = 1768469400;  // 2026-01-15 09:30:00 UTC, as the fixture script

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string render(const std::string& src, const ordered_json& ctx = ordered_json::object()) {
  return ChatTemplate::parse(src, "t").render(ctx, {kFixedNow});
}

std::string error_of(const std::string& src, const ordered_json& ctx = ordered_json::object()) {
  try {
    render(src, ctx);
  } catch (const schwarm::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ChatTemplate, RealTemplatesMatchJinja2) {
  if (!fs::is_directory(kTemplates)) GTEST_SKIP() << kTemplates << " missing: run scripts/fetch-test-data.sh";
  const ordered_json tokens = ordered_json::parse(slurp(kData / "tokens.json"));
  int compared = 0, errors = 0;
  for (const auto& entry : fs::directory_iterator(kData / "expected")) {
    const std::string stem = entry.path().stem().string();
    const size_t sep = stem.find("__");
    ASSERT_NE(sep, std::string::npos) << stem;
    const std::string tname = stem.substr(0, sep), conv = stem.substr(sep + 2);
    const fs::path tpath = kTemplates / (tname + ".jinja");
    if (!fs::exists(tpath)) continue;
    ordered_json ctx = ordered_json::parse(slurp(kData / "conversations" / (conv + ".json")));
    for (const auto& [k, v] : tokens.at(tname).items()) ctx[k] = v;
    const std::string expected = slurp(entry.path());
    SCOPED_TRACE(stem);
    if (expected.rfind("ERROR: ", 0) == 0) {
      EXPECT_THROW(ChatTemplate::parse(slurp(tpath), tname).render(ctx, {kFixedNow}), schwarm::Error);
      ++errors;
    } else {
      std::string got;
      try {
        got = ChatTemplate::parse(slurp(tpath), tname).render(ctx, {kFixedNow});
      } catch (const schwarm::Error& e) {
        got = std::string("threw: ") + e.what();
      }
      EXPECT_EQ(got, expected);
    }
    ++compared;
  }
  EXPECT_GT(compared, 400);
  std::printf("compared %d renders (%d expected errors)\n", compared, errors);
}

TEST(ChatTemplate, LanguageCasesMatchJinja2) {
  const ordered_json cases = ordered_json::parse(slurp(kData / "language_cases.json"));
  ASSERT_GT(cases.size(), 30u);
  for (const auto& c : cases) {
    const std::string src = c.at("template"), expected = c.at("expected");
    SCOPED_TRACE(src);
    if (expected.rfind("ERROR: ", 0) == 0) {
      EXPECT_THROW(render(src, c.at("context")), schwarm::Error);
    } else {
      std::string got;
      try {
        got = render(src, c.at("context"));
      } catch (const schwarm::Error& e) {
        got = std::string("threw: ") + e.what();
      }
      EXPECT_EQ(got, expected);
    }
  }
}

TEST(ChatTemplate, SyntaxErrorsNameTheLine) {
  EXPECT_EQ(error_of("a\n{% if x %}\nb"), "t:3: unexpected end of template, expected 'elif' or 'else' or 'endif'");
  EXPECT_EQ(error_of("a\n\n{{ 1 + }}"), "t:3: unexpected end of print statement");
  EXPECT_EQ(error_of("{% for x in y %}\n{% endif %}"), "t:2: unknown tag 'endif'");
  EXPECT_EQ(error_of("x\n{% include 'other' %}"), "t:2: unsupported statement 'include'");
  EXPECT_EQ(error_of("{% for x in y recursive %}{% endfor %}"), "t:1: unsupported recursive loop");
  EXPECT_EQ(error_of("{% break %}"), "t:1: 'break' outside of a loop");
  EXPECT_EQ(error_of("{{ 'abc }}"), "t:1: unterminated string");
  EXPECT_EQ(error_of("\n{# never closed"), "t:2: missing end of comment tag");
}

TEST(ChatTemplate, RuntimeErrorsNameTheLine) {
  EXPECT_EQ(error_of("ok\n{{ raise_exception('Only user and assistant roles are supported!') }}"),
            "t:2: Only user and assistant roles are supported!");
  EXPECT_EQ(error_of("\n\n{{ x.y }}"), "t:3: 'x' is undefined");
  EXPECT_EQ(error_of("{{ 1 + 'a' }}"), "t:1: unsupported operand type(s) for +: 'int' and 'str'");
  EXPECT_EQ(error_of("{{ x|nosuchfilter }}"), "t:1: no filter named 'nosuchfilter'");
  EXPECT_EQ(error_of("{{ 1 // 0 }}"), "t:1: integer division or modulo by zero");
  EXPECT_EQ(error_of("{{ x|tojson }}", {{"x", nullptr}}), "(no error)");
  // The sandbox is immutable: list.append is unsafe, as in ImmutableSandboxedEnvironment.
  EXPECT_EQ(error_of("{% set l = [] %}{{ l.append(1) }}"), "t:1: access to attribute 'append' of 'list' object is unsafe.");
  EXPECT_EQ(error_of("{{ [1]|map(attribute='a')|tojson }}"), "t:1: Object of type generator is not JSON serializable");
}

TEST(ChatTemplate, LimitsStopHostileTemplates) {
  EXPECT_NE(error_of("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").find("recursion"), std::string::npos);
  try {
    ChatTemplate::parse("{% for a in range(100000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}", "t")
        .render(ordered_json::object(), {kFixedNow, 200'000});
    ADD_FAILURE() << "no limit";
  } catch (const schwarm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("too expensive"), std::string::npos) << e.what();
  }
  EXPECT_NE(error_of("{{ range(1000000) }}").find("Range too big"), std::string::npos);
  EXPECT_NE(error_of("{% set s = 'xxxxxxxxxxxxxxxx' %}{% for i in range(30) %}{% set s = s ~ s %}{% endfor %}").find("too large"),
            std::string::npos);
  EXPECT_NE(error_of("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}").find("nested too deeply"), std::string::npos);
  std::string deep;
  for (int i = 0; i < 1000; ++i) deep += "{% if true %}";
  EXPECT_NE(error_of(deep).find("nested too deeply"), std::string::npos);
}

TEST(ChatTemplate, StrftimeNowUsesTheOverride) {
  EXPECT_EQ(render("{{ strftime_now('%d %B %Y') }}"), "15 January 2026");
}

TEST(ChatTemplate, FindsTheTemplateOfBothCheckpointForms) {
  const fs::path ckpt = fs::path(SCHWARM_TEST_DATA_DIR) / "checkpoints";
  const auto hf = schwarm::find_chat_template((ckpt / "tiny-deepseek-v3").string());
  const auto gguf = schwarm::find_chat_template((ckpt / "tiny-deepseek-v3-q8_0.gguf").string());
  EXPECT_FALSE(hf.source.empty());
  EXPECT_EQ(hf.source, gguf.source);
  EXPECT_EQ(hf.bos_token, gguf.bos_token);
  EXPECT_EQ(hf.eos_token, gguf.eos_token);
  EXPECT_EQ(hf.bos_token.value_or(""), "<｜begin▁of▁sentence｜>");
}

TEST(ChatTemplate, ListFormPicksDefault) {
  const fs::path dir = fs::temp_directory_path() / "schwarm_chat_template_list";
  fs::create_directories(dir);
  std::ofstream(dir / "tokenizer_config.json")
      << R"({"bos_token": "<s>", "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D{{ bos_token }}"}]})";
  const auto t = schwarm::find_chat_template(dir.string());
  EXPECT_EQ(t.source, "D{{ bos_token }}");
  ordered_json ctx = ordered_json::object();
  schwarm::fill_special_tokens(ctx, t);
  EXPECT_EQ(ChatTemplate::parse(t.source, "x").render(ctx), "D<s>");
  fs::remove_all(dir);
}

}  // namespace

// The CLI's own pieces (tools/schwarm/support/), without running the binary: the JSONL request
// parser on hostile lines, the ordered result writer, bench statistics and tables, sampling ranges.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_report.h"
#include "interrupt.h"
#include "jsonl_requests.h"
#include "jsonl_writer.h"
#include "progress.h"
#include "sampling_args.h"

namespace schwarm::cli {
namespace {

TEST(JsonlRequests, AValidLineWithEveryField) {
  const ParsedLine p = parse_request_line(
      R"({"id": "a1", "prompt": "Hi", "max_tokens": 8, "temperature": 0.7, "top_k": 40, "top_p": 0.9,)"
      R"( "min_p": 0.05, "repeat_penalty": 1.1, "repeat_last_n": 64, "seed": 7, "stop": ["\n", "END"]})",
      3);
  ASSERT_TRUE(p.request) << p.error;
  const BatchRequest& r = *p.request;
  EXPECT_EQ(r.id, "a1");
  EXPECT_EQ(r.line, 3);
  EXPECT_EQ(r.prompt, "Hi");
  EXPECT_EQ(r.max_tokens, 8);
  EXPECT_DOUBLE_EQ(*r.sampling.temperature, 0.7);
  EXPECT_EQ(r.sampling.top_k, 40);
  EXPECT_EQ(r.sampling.repeat_last_n, 64);
  EXPECT_EQ(r.sampling.seed, 7u);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"\n", "END"}));
}

TEST(JsonlRequests, MessagesAndDefaults) {
  const ParsedLine p = parse_request_line(
      R"({"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]})", 9);
  ASSERT_TRUE(p.request) << p.error;
  EXPECT_EQ(p.request->id, 9);  // no id: the line number
  ASSERT_EQ(p.request->messages.size(), 2u);
  EXPECT_EQ(p.request->messages[1].content, "U");
  EXPECT_FALSE(p.request->prompt);
  EXPECT_FALSE(p.request->max_tokens);
  EXPECT_FALSE(p.request->sampling.temperature);
  EXPECT_EQ(parse_request_line(R"({"prompt": "x", "n_predict": 4.0})", 1).request->max_tokens, 4);
}

TEST(JsonlRequests, BlankLinesAreSkipped) {
  for (const char* l : {"", "   ", "\t\r"}) {
    const ParsedLine p = parse_request_line(l, 1);
    EXPECT_FALSE(p.request);
    EXPECT_EQ(p.error, "");
  }
}

TEST(JsonlRequests, HostileLinesGiveOneClearError) {
  const struct {
    std::string line;
    std::string expect;  // part of the error
  } cases[] = {
      {"{", "invalid JSON"},
      {"not json", "invalid JSON"},
      {R"({"prompt": "x"} trailing)", "invalid JSON"},
      {"[1, 2]", "must be a JSON object, got array"},
      {"\"just a string\"", "must be a JSON object, got string"},
      {"{\"prompt\": \"\xff\xfe\"}", "invalid JSON"},      // invalid UTF-8 in a string
      {"{\"prompt\": \"\xc0\xaf\"}", "invalid JSON"},      // overlong encoding
      {"{\"prompt\": \"\xed\xa0\x80\"}", "invalid JSON"},  // a surrogate
      {R"({"prompt": "x", "temprature": 0.5})", "unknown key 'temprature'"},
      {R"({"prompt": "x", "prompt": "y"})", "duplicate key 'prompt'"},
      {R"({"prompt": 5})", "prompt must be a string, got number"},
      {R"({"prompt": null})", "prompt must be a string, got null"},
      {R"({})", "exactly one of \"prompt\" and \"messages\""},
      {R"({"prompt": "x", "messages": []})", "exactly one of"},
      {R"({"messages": []})", "messages is empty"},
      {R"({"messages": "hi"})", "messages must be an array"},
      {R"({"messages": [{"role": "user"}]})", "needs both \"role\" and \"content\""},
      {R"({"messages": [{"role": "user", "content": 1}]})", "messages[0].content must be a string"},
      {R"({"messages": [{"role": "user", "content": "x", "name": "n"}]})", "unknown key 'name'"},
      {R"({"messages": [3]})", "messages[0] must be an object"},
      {R"({"prompt": "x", "max_tokens": -2})", "max_tokens must be >= -1"},
      {R"({"prompt": "x", "max_tokens": 1.5})", "max_tokens must be an integer"},
      {R"({"prompt": "x", "max_tokens": "8"})", "max_tokens must be an integer, got string"},
      {R"({"prompt": "x", "max_tokens": 99999999999999999999})", "max_tokens must be an integer"},
      {R"({"prompt": "x", "max_tokens": 1, "n_predict": 1})", "not both"},
      {R"({"prompt": "x", "temperature": -0.1})", "temperature must be >= 0"},
      {R"({"prompt": "x", "temperature": "hot"})", "temperature must be a number"},
      {R"({"prompt": "x", "temperature": 1e300})",
       "temperature must be a finite float"},
      {R"({"prompt": "x", "repeat_penalty": -1e300})", "repeat_penalty must be > 0"},
      {R"({"prompt": "x", "top_k": 1e300})", "top_k must be an integer"},
      {R"({"prompt": "x", "seed": 1e300})", "seed must be a non-negative integer"},
      {R"({"prompt": "x", "top_p": 0})", "top_p must be in (0, 1]"},
      {R"({"prompt": "x", "top_p": 1.5})", "top_p must be in (0, 1]"},
      {R"({"prompt": "x", "min_p": 2})", "min_p must be in [0, 1]"},
      {R"({"prompt": "x", "top_k": -3})", "top_k must be in [0, 2147483647], got -3"},
      {R"({"prompt": "x", "repeat_penalty": 0})", "repeat_penalty must be > 0"},
      {R"({"prompt": "x", "seed": -1})", "seed must be a non-negative integer"},
      {R"({"prompt": "x", "seed": 1.5})", "seed must be a non-negative integer"},
      {R"({"prompt": "x", "stop": 3})", "stop must be a string or an array"},
      {R"({"prompt": "x", "stop": ["a", 3]})", "stop[1] must be a string"},
      {R"({"prompt": "x", "stop": [""]})", "must not be empty"},
      {R"({"prompt": "x", "id": 1.5})", "id must be a string or an integer"},
      {R"({"prompt": "x", "id": {"a": 1}})", "id must be a string or an integer"},
      {std::string(100, '[') + std::string(100, ']'), "nested deeper"},
      {std::string("{\"prompt\": \"x\"}\0", 16), "a NUL byte at column 16"},
      {std::string("{\"prompt\": \"x\0y\"}", 18), "a NUL byte"},
  };
  for (const auto& c : cases) {
    const ParsedLine p = parse_request_line(c.line, 5);
    EXPECT_FALSE(p.request) << c.line;
    EXPECT_NE(p.error.find(c.expect), std::string::npos) << c.line << "\n  error: " << p.error;
    EXPECT_EQ(p.error.find('\n'), std::string::npos) << "one line: " << p.error;
  }
}

TEST(JsonlRequests, TheIdIsKeptInAnErrorWhenItCouldBeRead) {
  const ParsedLine p = parse_request_line(R"({"id": "q7", "prompt": "x", "top_p": 7})", 2);
  EXPECT_FALSE(p.request);
  EXPECT_EQ(p.id, "q7");
  EXPECT_TRUE(parse_request_line("{", 2).id.is_null());
}

// Every prefix of a valid line and a few byte flips: never a crash, always a request or an error.
TEST(JsonlRequests, TruncatedAndFlippedLinesNeverCrash) {
  const std::string good =
      R"({"id": 1, "messages": [{"role": "user", "content": "h\u00e9llo \ud83d\ude00"}], "stop": ["a"], "seed": 3})";
  for (size_t n = 0; n <= good.size(); ++n) {
    const ParsedLine p = parse_request_line(good.substr(0, n), 1);
    EXPECT_TRUE(p.request || !p.error.empty() || n == 0) << n;
  }
  for (size_t i = 0; i < good.size(); ++i)
    for (unsigned char b : {0x00, 0x22, 0x5c, 0x80, 0xff}) {
      std::string s = good;
      s[i] = static_cast<char>(b);
      const ParsedLine p = parse_request_line(s, 1);
      EXPECT_TRUE(p.request || !p.error.empty());
    }
}

std::string read_all(std::FILE* f) {
  std::rewind(f);
  std::string s;
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}

TEST(OrderedJsonlWriter, WritesInOrderAsSoonAsThePrefixIsComplete) {
  std::FILE* f = std::tmpfile();
  ASSERT_TRUE(f);
  OrderedJsonlWriter w(f, "out.jsonl");
  w.put(1, {{"id", 1}});
  EXPECT_EQ(read_all(f), "");  // waits for record 0
  EXPECT_EQ(w.pending(), 1u);
  std::fseek(f, 0, SEEK_END);
  w.put(0, {{"id", 0}});
  EXPECT_EQ(read_all(f), "{\"id\":0}\n{\"id\":1}\n");
  std::fseek(f, 0, SEEK_END);
  w.put(3, {{"id", 3}});
  w.put(2, {{"text", "bad \xff byte"}});
  EXPECT_EQ(read_all(f),
            "{\"id\":0}\n{\"id\":1}\n{\"text\":\"bad \xef\xbf\xbd byte\"}\n{\"id\":3}\n");
  EXPECT_EQ(w.written(), 4);
  EXPECT_EQ(w.pending(), 0u);
  EXPECT_THROW(w.put(2, {}), std::exception);
  std::fclose(f);
}

TEST(BenchReport, StatisticsAsLlamaBench) {
  EXPECT_DOUBLE_EQ(mean({}), 0.0);
  EXPECT_DOUBLE_EQ(sample_stddev({5.0}), 0.0);
  EXPECT_NEAR(sample_stddev({2, 4, 4, 4, 5, 5, 7, 9}), std::sqrt(32.0 / 7.0), 1e-12);
  BenchRecord r;
  r.n_prompt = 512;
  r.samples_ns = {1000000000, 2000000000};
  EXPECT_EQ(r.avg_ns(), 1500000000u);
  EXPECT_EQ(r.test_name(), "pp512");
  EXPECT_EQ(r.samples_ts(), (std::vector<double>{512.0, 256.0}));
  EXPECT_DOUBLE_EQ(r.avg_ts(), 384.0);
  EXPECT_NEAR(r.stddev_ts(), std::sqrt(2 * 128.0 * 128.0), 1e-9);
  r.n_prompt = 0;
  r.n_gen = 128;
  EXPECT_EQ(r.test_name(), "tg128");
  const nlohmann::ordered_json j = bench_json(r);
  for (const char* k : {"model_filename", "model_type", "model_size", "model_n_params", "n_prompt",
                        "n_gen", "n_threads", "avg_ns", "stddev_ns", "avg_ts", "stddev_ts",
                        "samples_ns", "samples_ts", "peak_rss_bytes", "backend", "test_time"})
    EXPECT_TRUE(j.contains(k)) << k;
}

TEST(BenchReport, MarkdownTableLinesUp) {
  BenchRecord a;
  a.model_type = "deepseek_v3 bf16";
  a.model_size = 3 << 20;
  a.model_n_params = 1500000;
  a.backend = "cpu";
  a.n_threads = 2;
  a.n_prompt = 512;
  a.samples_ns = {100000000};
  BenchRecord b = a;
  b.n_prompt = 0;
  b.n_gen = 128;
  const std::string t = bench_markdown({a, b});
  EXPECT_NE(t.find("| model "), std::string::npos) << t;
  EXPECT_NE(t.find("pp512"), std::string::npos) << t;
  EXPECT_NE(t.find("tg128"), std::string::npos) << t;
  EXPECT_NE(t.find("5120.00 ± 0.00"), std::string::npos) << t;
  EXPECT_NE(t.find("1.50 M"), std::string::npos) << t;
  // Every line has the same number of columns of text ("±" counts as one).
  size_t width = std::string::npos, start = 0;
  for (size_t nl; (nl = t.find('\n', start)) != std::string::npos; start = nl + 1) {
    size_t cols = 0;
    for (size_t i = start; i < nl; ++i) cols += (static_cast<unsigned char>(t[i]) & 0xC0) != 0x80;
    if (width == std::string::npos) width = cols;
    EXPECT_EQ(cols, width) << t;
  }
}

TEST(BenchReport, PeakRssIsPlausible) {
  const uint64_t rss = peak_rss_bytes();
  EXPECT_GT(rss, 1u << 20);
  EXPECT_LT(rss, uint64_t{1} << 40);
  EXPECT_EQ(utc_timestamp().size(), 20u);
}

TEST(Progress, RenderAndBytes) {
  EXPECT_EQ(human_bytes(512), "512 B");
  EXPECT_EQ(human_bytes(1536), "1.50 KiB");
  EXPECT_EQ(human_bytes(uint64_t{3} << 30), "3.00 GiB");
  EXPECT_EQ(ProgressBar::render("loading", 1 << 20, 4 << 20, 8),
            "loading [##......]  25%  1.00 MiB / 4.00 MiB");
  EXPECT_EQ(ProgressBar::render("x", 5, 0, 4), "x [####] 100%  5 B / 0 B");
  ProgressBar quiet("q", true);
  EXPECT_FALSE(quiet.enabled());
}

TEST(SamplingArgs, RangesAndOverlay) {
  EXPECT_EQ(sampling_range_error("temperature", 0.0), "");
  EXPECT_NE(sampling_range_error("temperature", NAN), "");
  EXPECT_NE(sampling_range_error("temperature", INFINITY), "");
  EXPECT_EQ(sampling_range_error("top_p", 1.0), "");
  EXPECT_EQ(sampling_range_error("top_p", 0.0), "top_p must be in (0, 1], got 0");
  SamplingArgs base, over;
  base.temperature = 0.5;
  base.top_k = 10;
  over.top_k = 3;
  const SamplingArgs r = base.overlaid(over);
  EXPECT_EQ(r.temperature, 0.5);
  EXPECT_EQ(r.top_k, 3);
  EXPECT_FALSE(r.seed);
}

// Ctrl-C inside a scope sets the flag and the process goes on; the old handler comes back after.
TEST(Interrupt, SigintInsideAScopeOnlySetsTheFlag) {
  struct sigaction before {};
  sigaction(SIGINT, nullptr, &before);
  {
    InterruptScope scope;
    EXPECT_FALSE(interrupted());
    raise(SIGINT);
    EXPECT_TRUE(interrupted());
    EXPECT_TRUE(interrupt_flag().load());
    clear_interrupted();
    EXPECT_FALSE(interrupted());
    raise(SIGINT);
  }
  struct sigaction after {};
  sigaction(SIGINT, nullptr, &after);
  EXPECT_EQ(after.sa_handler, before.sa_handler);
  InterruptScope again;  // a new scope starts with the flag cleared
  EXPECT_FALSE(interrupted());
}

}  // namespace
}  // namespace schwarm::cli

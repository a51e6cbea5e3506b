// Llm::evaluate against transformers (the golden reference logits of a GGUF case), and perplexity()
// against its definition (llama-perplexity's, see schwarm.hpp) computed here from evaluate().
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "golden_harness.h"
#include "schwarm/error.h"
#include "schwarm/schwarm.hpp"

namespace schwarm {
namespace {

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Golden);

const std::string kGguf = case_dir("qwen3-moe") + "/gguf/qwen3-moe-f32.gguf";

TEST(Evaluate, EveryPositionMatchesTransformers) {
  const Llm llm = Llm::load(kGguf, {.backend = "cpu", .threads = 2});
  const auto prompt = read_json(case_dir("qwen3-moe") + "/reference/prompt.json")["ids"].get<std::vector<int32_t>>();
  const NpyArray ref = read_npy_f32(case_dir("qwen3-moe") + "/reference/logits.npy");
  const std::vector<float> logits = llm.evaluate(prompt);
  ASSERT_EQ(logits.size(), ref.data.size());
  EXPECT_LE(max_rel_error(logits, ref.data, llm.vocab_size()), kTol);
}

TEST(Evaluate, BadInputIsAnError) {
  const Llm llm = Llm::load(kGguf, {.backend = "ref", .context_size = 16});
  EXPECT_THROW(llm.evaluate(std::vector<int32_t>{}), Error);
  EXPECT_THROW(llm.evaluate(std::vector<int32_t>{1, llm.vocab_size()}), Error);
  EXPECT_THROW(llm.evaluate(std::vector<int32_t>(17, 5)), Error);  // longer than the context
}

// The definition, step by step: whole chunks, BOS in place of each chunk's first token, the
// second half scored by log-softmax in double.
TEST(Perplexity, FollowsLlamaPerplexitysDefinition) {
  const Llm llm = Llm::load(kGguf, {.backend = "cpu", .threads = 2, .context_size = 32});
  ASSERT_TRUE(llm.adds_bos());  // so the BOS replacement is exercised
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int32_t> id(2, llm.vocab_size() - 1);
  std::vector<int32_t> tokens(3 * 16 + 5);  // 3 chunks of 16 and a dropped tail
  for (int32_t& t : tokens) t = id(rng);
  const int64_t ctx = 16, V = llm.vocab_size();
  double sum = 0;
  int count = 0;
  for (int c = 0; c < 3; ++c) {
    std::vector<int32_t> chunk(tokens.begin() + c * ctx, tokens.begin() + (c + 1) * ctx);
    chunk[0] = llm.bos_id();
    const std::vector<float> l = llm.evaluate(chunk);
    for (int64_t j = ctx / 2; j < ctx - 1; ++j) {
      double z = 0;
      for (int64_t v = 0; v < V; ++v) z += std::exp(static_cast<double>(l[j * V + v]));
      sum += std::log(z) - l[j * V + tokens[c * ctx + j + 1]];
      ++count;
    }
  }
  std::vector<int64_t> seen;
  const PerplexityResult r = perplexity(llm, tokens, {.context = ctx, .on_chunk = [&](int64_t c, int64_t n, double) {
                                                         seen.push_back(c);
                                                         EXPECT_EQ(n, 3);
                                                       }});
  EXPECT_EQ(r.chunks, 3);
  EXPECT_EQ(r.scored_tokens, count);
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_NEAR(r.mean_nll, sum / count, 1e-9 * std::abs(sum / count));
  EXPECT_NEAR(r.perplexity, std::exp(sum / count), 1e-9 * r.perplexity);
  EXPECT_GT(r.perplexity_error, 0);
  // a random model over 512 tokens: perplexity near the vocabulary size, not far off it
  EXPECT_GT(r.perplexity, 50);
  EXPECT_LT(r.perplexity, 5000);
}

TEST(Perplexity, TooFewTokensOrBadContextIsAnError) {
  const Llm llm = Llm::load(kGguf, {.backend = "ref", .context_size = 32});
  const std::vector<int32_t> tokens(40, 7);
  EXPECT_THROW(perplexity(llm, tokens, {.context = 32}), Error);  // needs 64
  EXPECT_THROW(perplexity(llm, tokens, {.context = 2}), Error);
  EXPECT_THROW(perplexity(llm, tokens, {.context = 64}), Error);  // above the model's context
  EXPECT_NO_THROW(perplexity(llm, tokens, {.context = 20}));
}

}  // namespace
}  // namespace schwarm

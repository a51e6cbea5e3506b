// TokenSampler on hand-made logits: greedy, top-k, top-p, min-p, temperature, repetition penalty, seeds.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "runtime/sampler.h"
#include "schwarm/error.h"

namespace {

using schwarm::SamplingOptions;
using schwarm::TokenSampler;

// Logits whose softmax is exactly `probs` (up to rounding).
std::vector<float> logits_of(const std::vector<double>& probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(static_cast<float>(std::log(p)));
  return l;
}

std::set<int32_t> kept(const TokenSampler& s, const std::vector<float>& logits) {
  std::set<int32_t> ids;
  for (const auto& t : s.distribution(logits)) ids.insert(t.id);
  return ids;
}

TEST(Sampler, GreedyPicksTheArgmaxFirstOnTies) {
  TokenSampler s;
  EXPECT_EQ(s.sample(std::vector<float>{0.1f, 2.0f, -1.0f, 1.9f}), 1);
  EXPECT_EQ(s.sample(std::vector<float>{3.0f, 1.0f, 3.0f}), 0);
  EXPECT_EQ(s.sample(std::vector<float>{-5.0f, -4.0f}), 1);
}

TEST(Sampler, TopK1IsGreedyAtAnyTemperature) {
  const std::vector<float> logits{0.3f, 1.2f, 1.1f, -2.0f, 0.9f};
  SamplingOptions o;
  o.temperature = 2.0f;
  o.top_k = 1;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    o.seed = seed;
    TokenSampler s(o);
    EXPECT_EQ(s.sample(logits), 1);
  }
}

TEST(Sampler, TopKKeepsTheKLargest) {
  SamplingOptions o;
  o.temperature = 1.0f;
  o.top_k = 3;
  EXPECT_EQ(kept(TokenSampler(o), {0.3f, 1.2f, 1.1f, -2.0f, 0.9f}), (std::set<int32_t>{1, 2, 4}));
}

TEST(Sampler, TopPKeepsTheSmallestPrefixReachingP) {
  // probabilities 0.5, 0.3, 0.15, 0.05 (shuffled over the ids)
  const std::vector<float> logits = logits_of({0.15, 0.5, 0.05, 0.3});
  SamplingOptions o;
  o.temperature = 1.0f;
  o.top_p = 0.4f;  // 0.5 alone reaches it
  EXPECT_EQ(kept(TokenSampler(o), logits), (std::set<int32_t>{1}));
  o.top_p = 0.75f;  // 0.5 + 0.3
  EXPECT_EQ(kept(TokenSampler(o), logits), (std::set<int32_t>{1, 3}));
  o.top_p = 0.9f;  // 0.5 + 0.3 + 0.15
  EXPECT_EQ(kept(TokenSampler(o), logits), (std::set<int32_t>{0, 1, 3}));
  o.top_p = 1.0f;
  EXPECT_EQ(kept(TokenSampler(o), logits), (std::set<int32_t>{0, 1, 2, 3}));
  // The kept probabilities are renormalised.
  o.top_p = 0.75f;
  const auto d = TokenSampler(o).distribution(logits);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].id, 1);
  EXPECT_NEAR(d[0].p, 0.5 / 0.8, 1e-6);
  EXPECT_NEAR(d[1].p, 0.3 / 0.8, 1e-6);
}

TEST(Sampler, MinPKeepsTokensAboveAFractionOfTheTop) {
  const std::vector<float> logits = logits_of({0.15, 0.5, 0.05, 0.3});
  SamplingOptions o;
  o.temperature = 1.0f;
  o.min_p = 0.2f;  // floor 0.1: 0.5, 0.3, 0.15
  EXPECT_EQ(kept(TokenSampler(o), logits), (std::set<int32_t>{0, 1, 3}));
  o.min_p = 0.5f;  // floor 0.25: 0.5, 0.3
  EXPECT_EQ(kept(TokenSampler(o), logits), (std::set<int32_t>{1, 3}));
  o.min_p = 0.05f;  // floor 0.025: all
  EXPECT_EQ(kept(TokenSampler(o), logits), (std::set<int32_t>{0, 1, 2, 3}));
  o.min_p = 1.0f;  // only the top
  EXPECT_EQ(kept(TokenSampler(o), logits), (std::set<int32_t>{1}));
}

TEST(Sampler, TemperatureShapesTheDistribution) {
  // p ~ exp(l / T): with T = 2, logits {0, ln 4, ln 16} give 1 : 2 : 4.
  const std::vector<float> logits{0.0f, static_cast<float>(std::log(4.0)), static_cast<float>(std::log(16.0))};
  SamplingOptions o;
  o.temperature = 2.0f;
  o.seed = 1234;
  TokenSampler s(o);
  const auto d = s.distribution(logits);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_NEAR(d[0].p, 4.0 / 7, 1e-6);
  EXPECT_NEAR(d[2].p, 1.0 / 7, 1e-6);

  const int n = 20000;
  std::vector<int> count(3, 0);
  for (int i = 0; i < n; ++i) ++count[static_cast<size_t>(s.sample(logits))];
  const double expect[3] = {n / 7.0, 2.0 * n / 7, 4.0 * n / 7};
  double chi2 = 0;
  for (int i = 0; i < 3; ++i) chi2 += (count[i] - expect[i]) * (count[i] - expect[i]) / expect[i];
  // 2 degrees of freedom: P(chi2 > 13.8) = 0.001. The seed is fixed, so this is deterministic.
  EXPECT_LT(chi2, 13.8) << count[0] << " " << count[1] << " " << count[2];

  // A low temperature sharpens: T = 0.25 gives 1 : 256 : 65536.
  o.temperature = 0.25f;
  TokenSampler cold(o);
  int top = 0;
  for (int i = 0; i < 1000; ++i) top += cold.sample(logits) == 2;
  EXPECT_GE(top, 985);
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  // Seen tokens: 0 (logit 2 -> 1) and 2 (logit -1 -> -2), each once though 0 occurs twice.
  const std::vector<float> logits{2.0f, 1.5f, -1.0f, -1.5f};
  const std::vector<int32_t> prompt{0, 2};
  const std::vector<int32_t> generated{0};
  SamplingOptions o;
  o.repetition_penalty = 2.0f;
  TokenSampler greedy(o);
  EXPECT_EQ(greedy.sample(logits, prompt, generated), 1);  // 1.5 beats the penalised 1.0
  EXPECT_EQ(TokenSampler().sample(logits, prompt, generated), 0);

  o.temperature = 1.0f;
  const auto d = TokenSampler(o).distribution(logits, prompt, generated);
  // penalised logits {1, 1.5, -2, -1.5}
  const double z = std::exp(1.0) + std::exp(1.5) + std::exp(-2.0) + std::exp(-1.5);
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0].id, 1);
  EXPECT_NEAR(d[0].p, std::exp(1.5) / z, 1e-6);
  EXPECT_EQ(d[1].id, 0);
  EXPECT_NEAR(d[1].p, std::exp(1.0) / z, 1e-6);
  EXPECT_EQ(d[2].id, 3);  // -1.5 now beats the penalised -2
  EXPECT_NEAR(d[3].p, std::exp(-2.0) / z, 1e-6);

  // A window of 1 looks only at the last id (0): token 2 keeps its logit.
  o.repetition_window = 1;
  const auto w = TokenSampler(o).distribution(logits, prompt, generated);
  EXPECT_EQ(w[2].id, 2);
}

std::vector<int32_t> draw(uint64_t seed, int n) {
  SamplingOptions o;
  o.temperature = 1.0f;
  o.seed = seed;
  TokenSampler s(o);
  std::vector<float> logits(50);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>(std::sin(static_cast<double>(i)));
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) out.push_back(s.sample(logits, {}, out));
  return out;
}

TEST(Sampler, SameSeedSameTokensDifferentSeedsDiffer) {
  EXPECT_EQ(draw(7, 64), draw(7, 64));
  EXPECT_NE(draw(7, 64), draw(8, 64));
  EXPECT_NE(draw(0, 64), draw(1, 64));
}

TEST(Sampler, InvalidOptionsNameTheOption) {
  auto msg = [](SamplingOptions o) {
    try {
      TokenSampler s(o);
    } catch (const schwarm::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  SamplingOptions o;
  o.temperature = -1;
  EXPECT_NE(msg(o).find("temperature"), std::string::npos);
  o = {};
  o.top_p = 0;
  EXPECT_NE(msg(o).find("top_p"), std::string::npos);
  o.top_p = 1.5f;
  EXPECT_NE(msg(o).find("top_p"), std::string::npos);
  o = {};
  o.min_p = -0.1f;
  EXPECT_NE(msg(o).find("min_p"), std::string::npos);
  o = {};
  o.top_k = -1;
  EXPECT_NE(msg(o).find("top_k"), std::string::npos);
  o = {};
  o.repetition_penalty = 0;
  EXPECT_NE(msg(o).find("repetition_penalty"), std::string::npos);
}

}  // namespace

// The CUDA backend's MoE routing (kernels/moe_route.cuh) and token sampler (kernels/sampling.cuh)
// logic, compiled for the host by g++ and held to the definitions bit for bit:
//   route_token_hd vs backend_detail::route_token (src/backend/ref/op_common.cpp): the same ids,
//     the same float weights (same double arithmetic, same glibc exp on the host);
//   sample_sorted (over keys sorted as the device sorts them) vs TokenSampler::distribution and
//     TokenSampler::sample (src/runtime/sampler.cpp): the same kept tokens and probabilities and,
//     with u drawn from a mirror of the sampler's RNG, the same token.
// No GPU and no CUDA headers: this runs everywhere. Fresh random inputs each run; the seed is
// printed on failure, SCHWARM_PARITY_SEED=N replays.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/ref/op_common.h"
#include "moe_route.cuh"
#include "runtime/sampler.h"
#include "sampling.cuh"

namespace schwarm {
namespace {

using cuda::k::RouteParams;
using cuda::k::SampleParams;

uint32_t seed_for_run() {
  if (const char* s = std::getenv("SCHWARM_PARITY_SEED")) return static_cast<uint32_t>(std::strtoul(s, nullptr, 10));
  return std::random_device{}();
}

std::string replay(uint32_t seed) { return "seed " + std::to_string(seed) + " (SCHWARM_PARITY_SEED to replay)"; }

uint32_t bits_of(float x) {
  uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

uint64_t bits_of(double x) {
  uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

// Every digit of a double (std::to_string shows 6).
std::string exact(double x) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

constexpr float kInf = std::numeric_limits<float>::infinity();

// ---- routing ------------------------------------------------------------------------------------

// The backend's MoeSpec -> RouteParams conversion.
RouteParams to_params(const MoeSpec& s) {
  RouteParams p;
  p.n_experts = static_cast<int32_t>(s.n_experts);
  p.top_k = static_cast<int32_t>(s.top_k);
  p.scoring = s.scoring == MoeScoringFn::Softmax ? cuda::k::kRouteSoftmax : cuda::k::kRouteSigmoid;
  p.group_rule = s.group_rule == MoeGroupRule::None       ? cuda::k::kRouteGroupNone
                 : s.group_rule == MoeGroupRule::GroupMax ? cuda::k::kRouteGroupMax
                                                          : cuda::k::kRouteGroupTop2Sum;
  p.n_group = static_cast<int32_t>(s.n_group);
  p.topk_group = static_cast<int32_t>(s.topk_group);
  p.norm_topk_prob = s.norm_topk_prob;
  p.routed_scaling_factor = s.routed_scaling_factor;
  return p;
}

struct RouteCase {
  std::string name;
  MoeSpec spec;
  bool bias;
};

// backend_parity_test.cpp's moe_cases(), and the real routing shapes of the DeepSeek models.
std::vector<RouteCase> route_cases() {
  std::vector<RouteCase> c;
  MoeSpec s;
  s.n_experts = 8, s.top_k = 2, s.norm_topk_prob = true;  // Mixtral
  c.push_back({"mixtral", s, false});
  s = {};
  s.n_experts = 16, s.top_k = 4;  // Qwen3-MoE / OLMoE without norm
  c.push_back({"qwen3", s, false});
  s = {};
  s.n_experts = 16, s.top_k = 6, s.group_rule = MoeGroupRule::GroupMax, s.n_group = 4, s.topk_group = 2;
  s.routed_scaling_factor = 16.0f;  // DeepSeek-V2
  c.push_back({"deepseek_v2", s, false});
  s = {};
  s.n_experts = 16, s.top_k = 4, s.scoring = MoeScoringFn::Sigmoid, s.group_rule = MoeGroupRule::GroupTop2Sum;
  s.n_group = 4, s.topk_group = 2, s.norm_topk_prob = true, s.routed_scaling_factor = 2.5f;  // DeepSeek-V3
  c.push_back({"deepseek_v3", s, true});
  s = {};
  s.n_experts = 128, s.top_k = 8, s.norm_topk_prob = true;  // Qwen3-30B-A3B
  c.push_back({"qwen3_128x8", s, false});
  s = {};
  s.n_experts = 4, s.top_k = 4, s.norm_topk_prob = true;  // every expert
  c.push_back({"all_experts", s, false});
  s = {};
  s.n_experts = 256, s.top_k = 8, s.scoring = MoeScoringFn::Sigmoid, s.group_rule = MoeGroupRule::GroupTop2Sum;
  s.n_group = 8, s.topk_group = 4, s.norm_topk_prob = true, s.routed_scaling_factor = 2.5f;  // DeepSeek-V3 real
  c.push_back({"deepseek_v3_256", s, true});
  s = {};
  s.n_experts = 64, s.top_k = 6;  // DeepSeek-V2-Lite: greedy, no norm
  c.push_back({"deepseek_v2_lite", s, false});
  s = {};
  s.n_experts = 160, s.top_k = 6, s.group_rule = MoeGroupRule::GroupMax, s.n_group = 8, s.topk_group = 3;
  s.routed_scaling_factor = 16.0f;  // DeepSeek-V2 real
  c.push_back({"deepseek_v2_160", s, false});
  s = {};
  s.n_experts = 512, s.top_k = 32, s.scoring = MoeScoringFn::Sigmoid, s.group_rule = MoeGroupRule::GroupTop2Sum;
  s.n_group = 64, s.topk_group = 16, s.norm_topk_prob = true, s.routed_scaling_factor = 1.5f;  // the capacities
  c.push_back({"capacity_512x32_g64", s, true});
  return c;
}

// Logit patterns: what the router produces, and values made to tie.
enum class Pattern { Normal, Grid, Saturated, SomeNegInf };
const char* pattern_name(Pattern p) {
  switch (p) {
    case Pattern::Normal: return "normal";
    case Pattern::Grid: return "grid (ties)";
    case Pattern::Saturated: return "saturated (ties at 0 and 1)";
    case Pattern::SomeNegInf: return "some -inf";
  }
  return "?";
}

std::vector<float> route_logits(Pattern pat, size_t n, std::mt19937& rng) {
  std::vector<float> v(n);
  if (pat == Pattern::Grid) {
    std::uniform_int_distribution<int> d(-8, 8);  // steps of 1/4 in [-2, 2]: many equal logits
    for (float& x : v) x = static_cast<float>(d(rng)) / 4.0f;
  } else if (pat == Pattern::Saturated) {
    // exp(-1000 - max) is exactly 0 (softmax ties at 0); sigmoid(+-40) is exactly 1 or ~0.
    const float vals[] = {-1000.0f, -40.0f, 0.0f, 40.0f, 1000.0f, 3.0f};
    std::uniform_int_distribution<int> d(0, 5);
    for (float& x : v) x = vals[d(rng)];
  } else {
    const float sd = std::uniform_real_distribution<float>(0.3f, 6.0f)(rng);
    std::normal_distribution<float> d(0.0f, sd);
    for (float& x : v) x = d(rng);
    if (pat == Pattern::SomeNegInf) {  // up to half of them -inf; at least one finite logit
      std::uniform_int_distribution<size_t> pick(0, n - 1);
      for (size_t i = 0; i < n / 2; ++i) v[pick(rng)] = -kInf;
      v[pick(rng)] = std::normal_distribution<float>(0.0f, 1.0f)(rng);
    }
  }
  return v;
}

TEST(CudaRouteHost, ParamsOfEveryCaseAreRoutable) {
  for (const RouteCase& rc : route_cases()) EXPECT_EQ(cuda::k::route_params_error(to_params(rc.spec)), nullptr) << rc.name;
  RouteParams p = to_params(route_cases()[6].spec);  // deepseek_v3_256
  p.n_experts = 513;
  EXPECT_NE(cuda::k::route_params_error(p), nullptr);
  p = to_params(route_cases()[6].spec);
  p.n_group = 7;  // does not divide 256
  EXPECT_NE(cuda::k::route_params_error(p), nullptr);
  p = to_params(route_cases()[6].spec);
  p.topk_group = 0;
  EXPECT_NE(cuda::k::route_params_error(p), nullptr);
  p = to_params(route_cases()[6].spec);
  p.top_k = 33;
  EXPECT_NE(cuda::k::route_params_error(p), nullptr);
  p = to_params(route_cases()[0].spec);
  p.top_k = 9;  // of 8 experts
  EXPECT_NE(cuda::k::route_params_error(p), nullptr);
}

TEST(CudaRouteHost, RouteTokenMatchesRefBitForBit) {
  const uint32_t seed = seed_for_run();
  std::mt19937 rng(seed);
  auto ws = std::make_unique<cuda::k::RouteWorkspace>();
  for (const RouteCase& rc : route_cases()) {
    const RouteParams p = to_params(rc.spec);
    const auto n = static_cast<size_t>(rc.spec.n_experts), k = static_cast<size_t>(rc.spec.top_k);
    for (Pattern pat : {Pattern::Normal, Pattern::Grid, Pattern::Saturated, Pattern::SomeNegInf}) {
      int mismatches = 0;
      std::string first;
      for (int token = 0; token < 300; ++token) {
        const std::vector<float> logits = route_logits(pat, n, rng);
        std::vector<float> bias;
        if (rc.bias) {
          // Real e_score_correction_bias values are O(1); on a coarse grid half the time (ties).
          bias = token % 2 ? route_logits(Pattern::Normal, n, rng) : route_logits(Pattern::Grid, n, rng);
        }
        const float* b = rc.bias ? bias.data() : nullptr;
        std::vector<int32_t> want_ids(k), got_ids(k, -1);
        std::vector<float> want_w(k), got_w(k, std::nanf(""));
        backend_detail::route_token(rc.spec, logits.data(), b, want_ids.data(), want_w.data());
        cuda::k::route_token_hd(p, logits.data(), b, got_ids.data(), got_w.data(), *ws);
        for (size_t i = 0; i < k; ++i) {
          if (got_ids[i] == want_ids[i] && bits_of(got_w[i]) == bits_of(want_w[i])) continue;
          if (mismatches++ == 0)
            first = "token " + std::to_string(token) + " slot " + std::to_string(i) + ": expert " +
                    std::to_string(got_ids[i]) + " weight " + exact(got_w[i]) + " vs ref expert " +
                    std::to_string(want_ids[i]) + " weight " + exact(want_w[i]);
        }
      }
      EXPECT_EQ(mismatches, 0) << rc.name << ", " << pattern_name(pat) << ": first mismatch at " << first << ", "
                               << replay(seed);
    }
  }
}

// NaN logits (a model that blew up): no defined choice, but always top_k distinct valid experts,
// so that the expert lookups that follow stay in bounds.
TEST(CudaRouteHost, NanLogitsStillGiveDistinctValidExperts) {
  const uint32_t seed = seed_for_run();
  std::mt19937 rng(seed);
  auto ws = std::make_unique<cuda::k::RouteWorkspace>();
  for (const RouteCase& rc : route_cases()) {
    const RouteParams p = to_params(rc.spec);
    const auto n = static_cast<size_t>(rc.spec.n_experts), k = static_cast<size_t>(rc.spec.top_k);
    for (int token = 0; token < 50; ++token) {
      std::vector<float> logits = route_logits(Pattern::Normal, n, rng);
      std::uniform_int_distribution<size_t> pick(0, n - 1);
      const size_t n_nan = token % 3 == 0 ? n : 1 + pick(rng) / 2;  // every third token: all NaN
      for (size_t i = 0; i < n_nan; ++i) logits[token % 3 == 0 ? i : pick(rng)] = std::nanf("");
      std::vector<float> bias = route_logits(Pattern::Normal, n, rng);
      std::vector<int32_t> ids(k, -1);
      std::vector<float> w(k);
      cuda::k::route_token_hd(p, logits.data(), rc.bias ? bias.data() : nullptr, ids.data(), w.data(), *ws);
      std::vector<bool> seen(n, false);
      for (int32_t id : ids) {
        ASSERT_TRUE(id >= 0 && static_cast<size_t>(id) < n) << rc.name << ": expert " << id << ", " << replay(seed);
        ASSERT_FALSE(seen[static_cast<size_t>(id)]) << rc.name << ": expert " << id << " twice, " << replay(seed);
        seen[static_cast<size_t>(id)] = true;
      }
    }
  }
}

// ---- sampling -----------------------------------------------------------------------------------

SampleParams to_params(const SamplingOptions& o) {
  SampleParams p;
  p.temperature = o.temperature;
  p.top_k = o.top_k;
  p.top_p = o.top_p;
  p.min_p = o.min_p;
  return p;
}

// The uniform TokenSampler::sample draws from its RNG (when the distribution has > 1 token).
double draw_u(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// The keys of logits sorted as the device sorts them (descending).
std::vector<uint64_t> sorted_keys(const std::vector<float>& logits, int id_bits) {
  std::vector<uint64_t> keys(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) keys[i] = cuda::k::sample_key(logits[i], static_cast<int32_t>(i), id_bits);
  std::sort(keys.begin(), keys.end(), std::greater<>());
  return keys;
}

enum class LogitKind { Normal, Grid, Special, AllNegInf, AllNaN };
const char* kind_name(LogitKind k) {
  switch (k) {
    case LogitKind::Normal: return "normal";
    case LogitKind::Grid: return "grid (ties)";
    case LogitKind::Special: return "NaN, -inf, -0 and +0";
    case LogitKind::AllNegInf: return "all -inf";
    case LogitKind::AllNaN: return "all NaN";
  }
  return "?";
}

std::vector<float> sample_logits(LogitKind kind, size_t vocab, std::mt19937& rng) {
  std::vector<float> v(vocab);
  const float nan = std::nanf("");
  switch (kind) {
    case LogitKind::Normal: {
      const float sd = std::uniform_real_distribution<float>(0.5f, 8.0f)(rng);
      std::normal_distribution<float> d(0.0f, sd);
      for (float& x : v) x = d(rng);
      break;
    }
    case LogitKind::Grid: {
      std::uniform_int_distribution<int> d(-6, 6);  // steps of 1/2: heavy ties
      for (float& x : v) x = static_cast<float>(d(rng)) / 2.0f;
      break;
    }
    case LogitKind::Special: {
      const float vals[] = {nan, -kInf, -0.0f, 0.0f, 1.5f, -2.0f, 1.5f, 0.25f};
      std::uniform_int_distribution<int> d(0, 7);
      for (float& x : v) x = vals[d(rng)];
      break;
    }
    case LogitKind::AllNegInf: std::fill(v.begin(), v.end(), -kInf); break;
    case LogitKind::AllNaN: std::fill(v.begin(), v.end(), nan); break;
  }
  return v;
}

// Runs `rounds` samples of TokenSampler(o) and of sample_sorted side by side; returns a failure
// description or "".
std::string compare_sampler(const std::vector<float>& logits, const std::vector<uint64_t>& keys, int id_bits,
                            const SamplingOptions& o, int rounds) {
  TokenSampler ts(o);
  std::mt19937_64 mirror(o.seed);
  const SampleParams sp = to_params(o);
  std::vector<double> e(logits.size());
  cuda::k::HostTeam team;
  const auto vocab = static_cast<int64_t>(logits.size());
  const bool has_candidates = std::any_of(logits.begin(), logits.end(), [](float x) { return x > -kInf; });
  for (int r = 0; r < rounds; ++r) {
    const std::vector<TokenProb> d = ts.distribution(logits);
    const int32_t want = ts.sample(logits);
    const double u = d.size() > 1 ? draw_u(mirror) : 0.5;
    int64_t kept = -1;
    const int32_t got = cuda::k::sample_sorted(team, keys.data(), vocab, id_bits, sp, u, e.data(), &kept);
    const std::string at = "round " + std::to_string(r) + " (u " + exact(u) + "): ";
    if (got != want) return at + "token " + std::to_string(got) + " vs TokenSampler's " + std::to_string(want);
    if (kept != static_cast<int64_t>(d.size()))
      return at + std::to_string(kept) + " tokens kept vs TokenSampler's " + std::to_string(d.size());
    if (o.temperature == 0.0f || !has_candidates) continue;  // greedy: no distribution computed
    // The final probabilities: the kept terms over the sampler's sum of them (the one its draw uses).
    const double sum = cuda::k::sample_sum(e.data(), kept);
    for (size_t i = 0; i < d.size(); ++i) {
      const int32_t id = cuda::k::sample_key_id(keys[i], id_bits);
      const double p = e[i] / sum;
      if (id != d[i].id || bits_of(p) != bits_of(d[i].p))
        return at + "kept token " + std::to_string(i) + ": id " + std::to_string(id) + " p " + exact(p) +
               " vs TokenSampler's id " + std::to_string(d[i].id) + " p " + exact(d[i].p);
    }
    // u exactly on a cumulative boundary of TokenSampler's distribution: the first token whose
    // cumulative probability exceeds u, so the next one.
    if (d.size() < 2) continue;
    double cum = 0;
    for (size_t j = 0; j + 1 < d.size(); ++j) {
      cum += d[j].p;
      if (j != 0 && j != d.size() / 2 && j + 2 != d.size()) continue;
      double c2 = 0;
      int32_t want_at = d.back().id;
      for (const TokenProb& t : d) {
        c2 += t.p;
        if (cum < c2) {
          want_at = t.id;
          break;
        }
      }
      int64_t kept_at = -1;
      const int32_t got_at = cuda::k::sample_sorted(team, keys.data(), vocab, id_bits, sp, cum, e.data(), &kept_at);
      if (got_at != want_at)
        return at + "u on the boundary after kept token " + std::to_string(j) + ": token " + std::to_string(got_at) +
               " vs TokenSampler's rule " + std::to_string(want_at);
    }
  }
  return "";
}

std::vector<SamplingOptions> option_grid(bool small) {
  std::vector<SamplingOptions> g;
  const std::vector<float> temps = small ? std::vector<float>{0.0f, 0.8f} : std::vector<float>{0.0f, 0.5f, 1.0f, 1.7f};
  const std::vector<int32_t> top_ks = small ? std::vector<int32_t>{0, 40} : std::vector<int32_t>{0, 1, 3, 40};
  const std::vector<float> top_ps = small ? std::vector<float>{1.0f, 0.9f} : std::vector<float>{1.0f, 0.95f, 0.5f, 0.05f};
  const std::vector<float> min_ps = small ? std::vector<float>{0.0f, 0.05f} : std::vector<float>{0.0f, 0.05f, 0.3f};
  for (float t : temps)
    for (int32_t k : top_ks)
      for (float tp : top_ps)
        for (float mp : min_ps) {
          SamplingOptions o;
          o.temperature = t, o.top_k = k, o.top_p = tp, o.min_p = mp;
          g.push_back(o);
        }
  return g;
}

TEST(CudaSampleHost, KeysOrderLikeTheSamplerAndDecode) {
  const int bits = cuda::k::sample_id_bits(151936);
  EXPECT_EQ(bits, 18);
  EXPECT_EQ(cuda::k::sample_id_bits(1), 1);
  EXPECT_EQ(cuda::k::sample_id_bits(2), 1);
  EXPECT_EQ(cuda::k::sample_id_bits(3), 2);
  EXPECT_EQ(cuda::k::sample_id_bits(int64_t{1} << 31), 31);
  const float vals[] = {-kInf, -1e30f, -2.5f, -1e-40f, -0.0f, 0.0f, 1e-40f, 1.0f, 3.0e38f, kInf};
  for (float x : vals)
    for (int32_t id : {0, 5, 151935}) {
      const uint64_t key = cuda::k::sample_key(x, id, bits);
      EXPECT_EQ(cuda::k::sample_key_id(key, bits), id);
      EXPECT_EQ(bits_of(cuda::k::sample_key_logit(key, bits)), bits_of(x == 0.0f ? 0.0f : x)) << x;
    }
  EXPECT_EQ(cuda::k::sample_key_logit(cuda::k::sample_key(std::nanf(""), 3, bits), bits), -kInf);
  // Larger logit first; equal logits (-0 == +0 included): smaller id first.
  EXPECT_GT(cuda::k::sample_key(1.0f, 9, bits), cuda::k::sample_key(0.5f, 0, bits));
  EXPECT_GT(cuda::k::sample_key(1.0f, 3, bits), cuda::k::sample_key(1.0f, 4, bits));
  EXPECT_GT(cuda::k::sample_key(0.0f, 3, bits), cuda::k::sample_key(-0.0f, 4, bits));
  EXPECT_GT(cuda::k::sample_key(-0.0f, 3, bits), cuda::k::sample_key(0.0f, 4, bits));
  EXPECT_GT(cuda::k::sample_key(-kInf, 0, bits), cuda::k::sample_key(std::nanf(""), 1, bits));
}

// The greedy kernel takes the largest key: TokenSampler's first argmax.
TEST(CudaSampleHost, LargestKeyIsTheGreedyToken) {
  const uint32_t seed = seed_for_run();
  std::mt19937 rng(seed);
  for (LogitKind kind : {LogitKind::Normal, LogitKind::Grid, LogitKind::Special, LogitKind::AllNegInf, LogitKind::AllNaN})
    for (size_t vocab : {1, 2, 7, 1000}) {
      const std::vector<float> logits = sample_logits(kind, vocab, rng);
      const int bits = cuda::k::sample_id_bits(static_cast<int64_t>(vocab));
      uint64_t best = 0;
      for (size_t i = 0; i < vocab; ++i)
        best = std::max(best, cuda::k::sample_key(logits[i], static_cast<int32_t>(i), bits));
      TokenSampler greedy;
      EXPECT_EQ(cuda::k::sample_key_id(best, bits), greedy.sample(logits))
          << kind_name(kind) << ", vocab " << vocab << ", " << replay(seed);
    }
}

TEST(CudaSampleHost, SampleSortedMatchesTokenSampler) {
  const uint32_t seed = seed_for_run();
  std::mt19937 rng(seed);
  for (LogitKind kind : {LogitKind::Normal, LogitKind::Grid, LogitKind::Special, LogitKind::AllNegInf, LogitKind::AllNaN})
    for (size_t vocab : {1, 2, 7, 100, 1000}) {
      const std::vector<float> logits = sample_logits(kind, vocab, rng);
      const int bits = cuda::k::sample_id_bits(static_cast<int64_t>(vocab));
      const std::vector<uint64_t> keys = sorted_keys(logits, bits);
      for (SamplingOptions o : option_grid(false)) {
        o.seed = rng();
        const std::string err = compare_sampler(logits, keys, bits, o, 4);
        EXPECT_EQ(err, "") << kind_name(kind) << ", vocab " << vocab << ", temperature " << o.temperature
                           << ", top_k " << o.top_k << ", top_p " << o.top_p << ", min_p " << o.min_p << ", sampler seed "
                           << o.seed << ", " << replay(seed);
      }
    }
}

// Exact ties put the cumulative mass exactly on top_p and p exactly on min_p * p_max: both cuts
// keep the token on the boundary (>=).
TEST(CudaSampleHost, CutsKeepTheTokenOnTheBoundary) {
  struct Case {
    std::vector<float> logits;
    float top_p, min_p;
    size_t kept;
  };
  const std::vector<Case> cases = {
      {{0.0f, 0.0f, 0.0f, 0.0f}, 0.25f, 0.0f, 1},  // p = 1/4 each: cum 0.25 reaches 0.25
      {{0.0f, 0.0f, 0.0f, 0.0f}, 0.5f, 0.0f, 2},
      {{0.0f, 0.0f, 0.0f, 0.0f}, 0.75f, 0.0f, 3},
      {{3.0f, 1.0f, 3.0f}, 1.0f, 1.0f, 2},  // the tie equals 1.0 * p_max
  };
  for (const Case& c : cases) {
    SamplingOptions o;
    o.temperature = 1.0f, o.top_p = c.top_p, o.min_p = c.min_p, o.seed = 7;
    EXPECT_EQ(TokenSampler(o).distribution(c.logits).size(), c.kept);
    const int bits = cuda::k::sample_id_bits(static_cast<int64_t>(c.logits.size()));
    EXPECT_EQ(compare_sampler(c.logits, sorted_keys(c.logits, bits), bits, o, 3), "")
        << "top_p " << c.top_p << ", min_p " << c.min_p;
  }
}

// A real vocabulary size (Qwen's 151936): the long sums over every candidate when top_k is off.
TEST(CudaSampleHost, SampleSortedMatchesTokenSamplerOnALargeVocabulary) {
  const uint32_t seed = seed_for_run();
  std::mt19937 rng(seed);
  const size_t vocab = 151936;
  for (LogitKind kind : {LogitKind::Normal, LogitKind::Grid}) {
    const std::vector<float> logits = sample_logits(kind, vocab, rng);
    const int bits = cuda::k::sample_id_bits(static_cast<int64_t>(vocab));
    const std::vector<uint64_t> keys = sorted_keys(logits, bits);
    for (SamplingOptions o : option_grid(true)) {
      o.seed = rng();
      const std::string err = compare_sampler(logits, keys, bits, o, 2);
      EXPECT_EQ(err, "") << kind_name(kind) << ", temperature " << o.temperature << ", top_k " << o.top_k << ", top_p "
                         << o.top_p << ", min_p " << o.min_p << ", sampler seed " << o.seed << ", " << replay(seed);
    }
  }
}

}  // namespace
}  // namespace schwarm

// Token sampling in llama.cpp's default order: penalties, top-k, top-p, min-p, temperature, draw.
#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "schwarm/error.h"

namespace schwarm {
namespace {

struct Cand {
  float logit;
  int32_t id;
};

bool before(const Cand& a, const Cand& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); }

int32_t first_argmax(std::span<const float> lg) {
  size_t best = 0;
  for (size_t i = 1; i < lg.size(); ++i)
    if (lg[i] > lg[best]) best = i;
  return static_cast<int32_t>(best);
}

// softmax over cands (sorted, largest first) at temperature t, into p.
void softmax(const std::vector<Cand>& c, double t, std::vector<double>& p) {
  p.resize(c.size());
  const double mx = c.front().logit;
  double sum = 0;
  for (size_t i = 0; i < c.size(); ++i) sum += p[i] = std::exp((static_cast<double>(c[i].logit) - mx) / t);
  for (double& x : p) x /= sum;
}

}  // namespace

void validate(const SamplingOptions& o) {
  auto bad = [](const std::string& what) { throw Error("sampling option " + what); };
  if (!(o.temperature >= 0.0f) || !std::isfinite(o.temperature))
    bad("temperature must be >= 0 (0 = greedy), got " + std::to_string(o.temperature));
  if (o.top_k < 0) bad("top_k must be >= 0 (0 = off), got " + std::to_string(o.top_k));
  if (!(o.top_p > 0.0f && o.top_p <= 1.0f)) bad("top_p must be in (0, 1], got " + std::to_string(o.top_p));
  if (!(o.min_p >= 0.0f && o.min_p <= 1.0f)) bad("min_p must be in [0, 1], got " + std::to_string(o.min_p));
  if (!(o.repetition_penalty > 0.0f) || !std::isfinite(o.repetition_penalty))
    bad("repetition_penalty must be > 0 (1 = off), got " + std::to_string(o.repetition_penalty));
  if (o.repetition_window < 0)
    bad("repetition_window must be >= 0 (0 = whole sequence), got " + std::to_string(o.repetition_window));
}

TokenSampler::TokenSampler(SamplingOptions options) : opt_(options), rng_(options.seed) { validate(opt_); }

std::vector<TokenProb> TokenSampler::distribution(std::span<const float> logits, std::span<const int32_t> prompt,
                                                  std::span<const int32_t> generated) const {
  if (logits.empty()) throw Error("sampler: empty logits");
  std::vector<float> lg(logits.begin(), logits.end());
  for (float& x : lg)
    if (std::isnan(x)) x = -std::numeric_limits<float>::infinity();

  // 1. repetition penalty over the last `window` ids of prompt + generated, each distinct id once.
  if (opt_.repetition_penalty != 1.0f) {
    const size_t total = prompt.size() + generated.size();
    const size_t window = opt_.repetition_window == 0 ? total : std::min(total, static_cast<size_t>(opt_.repetition_window));
    std::vector<bool> seen(lg.size(), false);
    for (size_t i = total - window; i < total; ++i) {
      const int32_t t = i < prompt.size() ? prompt[i] : generated[i - prompt.size()];
      if (t < 0 || static_cast<size_t>(t) >= lg.size() || seen[static_cast<size_t>(t)]) continue;
      seen[static_cast<size_t>(t)] = true;
      float& x = lg[static_cast<size_t>(t)];
      x = x > 0 ? x / opt_.repetition_penalty : x * opt_.repetition_penalty;
    }
  }

  // 2. greedy.
  const int32_t best = first_argmax(lg);
  if (opt_.temperature == 0.0f || lg[static_cast<size_t>(best)] == -std::numeric_limits<float>::infinity())
    return {{best, 1.0}};

  // 3. top-k (and the descending order the later steps rely on).
  std::vector<Cand> c;
  c.reserve(lg.size());
  for (size_t i = 0; i < lg.size(); ++i)
    if (lg[i] != -std::numeric_limits<float>::infinity()) c.push_back({lg[i], static_cast<int32_t>(i)});
  if (opt_.top_k > 0 && static_cast<size_t>(opt_.top_k) < c.size()) {
    std::partial_sort(c.begin(), c.begin() + opt_.top_k, c.end(), before);
    c.resize(static_cast<size_t>(opt_.top_k));
  } else {
    std::sort(c.begin(), c.end(), before);
  }

  std::vector<double> p;
  // 4. top-p: the shortest prefix whose mass reaches top_p (at least one token).
  if (opt_.top_p < 1.0f) {
    softmax(c, 1.0, p);
    double cum = 0;
    size_t keep = c.size();
    for (size_t i = 0; i < c.size(); ++i) {
      cum += p[i];
      if (cum >= opt_.top_p) {
        keep = i + 1;
        break;
      }
    }
    c.resize(keep);
  }
  // 5. min-p: probability >= min_p * max probability, i.e. logit >= max logit + log(min_p).
  if (opt_.min_p > 0.0f) {
    softmax(c, 1.0, p);
    const double floor = static_cast<double>(opt_.min_p) * p.front();
    size_t keep = 1;
    while (keep < c.size() && p[keep] >= floor) ++keep;
    c.resize(keep);
  }
  // 6. temperature.
  softmax(c, opt_.temperature, p);
  std::vector<TokenProb> out(c.size());
  for (size_t i = 0; i < c.size(); ++i) out[i] = {c[i].id, p[i]};
  return out;
}

int32_t TokenSampler::sample(std::span<const float> logits, std::span<const int32_t> prompt,
                             std::span<const int32_t> generated) {
  const std::vector<TokenProb> d = distribution(logits, prompt, generated);
  if (d.size() == 1) return d.front().id;
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;  // [0, 1)
  double cum = 0;
  for (const TokenProb& t : d) {
    cum += t.p;
    if (u < cum) return t.id;
  }
  return d.back().id;  // u beyond the rounded total
}

}  // namespace schwarm

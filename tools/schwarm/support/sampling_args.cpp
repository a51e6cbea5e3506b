#include "sampling_args.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

namespace schwarm::cli {
namespace {

// One row per option: JSONL key, flag, range (open or closed at each end), what it does.
struct Knob {
  const char* key;
  const char* flag;
  double lo;
  bool lo_open;
  double hi;
  bool hi_open;
  const char* help;
};
// The float options have no upper limit but float's: a larger value would not convert (UB).
constexpr double kInf = std::numeric_limits<float>::max();
constexpr double kInt32Max = 2147483647.0;
constexpr Knob kKnobs[] = {
    {"temperature", "--temp", 0, false, kInf, false,
     "sampling temperature, >= 0 (0: greedy, the default)"},
    {"top_k", "--top-k", 0, false, kInt32Max, false,
     "keep only the k most likely tokens, >= 0 (0: off)"},
    {"top_p", "--top-p", 0, true, 1, false,
     "keep the smallest set of tokens whose mass reaches p, in (0, 1] (1: off)"},
    {"min_p", "--min-p", 0, false, 1, false,
     "drop tokens below min-p times the top probability, in [0, 1] (0: off)"},
    {"repeat_penalty", "--repeat-penalty", 0, true, kInf, false,
     "divide the logits of tokens already in the sequence by this, > 0 (1: off)"},
    {"repeat_last_n", "--repeat-last-n", 0, false, kInt32Max, false,
     "how many of the last ids the repeat penalty looks at, >= 0 (0: the whole sequence)"},
};

const Knob* find_knob(std::string_view key) {
  for (const Knob& k : kKnobs)
    if (key == k.key) return &k;
  return nullptr;
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string range_text(const Knob& k) {
  if (k.hi == kInf) return std::string(k.lo_open ? "> " : ">= ") + number_text(k.lo);
  return std::string(k.lo_open ? "in (" : "in [") + number_text(k.lo) + ", " + number_text(k.hi) +
         (k.hi_open ? ")" : "]");
}

// A CLI11 validator for the knob: the flag's value must parse as a number within the range.
CLI::Validator knob_check(const Knob& k) {
  return CLI::Validator(
      [&k](std::string& v) -> std::string {
        double x = 0;
        if (!CLI::detail::lexical_cast(v, x)) return "expects a number, got '" + v + "'";
        return sampling_range_error(k.key, x);
      },
      "");
}

template <class T>
void add_knob(CLI::App& sub, const char* key, std::optional<T>& slot) {
  const Knob& k = *find_knob(key);
  sub.add_option(k.flag, slot, k.help)->check(knob_check(k));
}

}  // namespace

SamplingArgs SamplingArgs::overlaid(const SamplingArgs& o) const {
  SamplingArgs r = *this;
  if (o.temperature) r.temperature = o.temperature;
  if (o.top_k) r.top_k = o.top_k;
  if (o.top_p) r.top_p = o.top_p;
  if (o.min_p) r.min_p = o.min_p;
  if (o.repeat_penalty) r.repeat_penalty = o.repeat_penalty;
  if (o.repeat_last_n) r.repeat_last_n = o.repeat_last_n;
  if (o.seed) r.seed = o.seed;
  return r;
}

SamplingOptions SamplingArgs::options() const {
  SamplingOptions o;
  if (temperature) o.temperature = static_cast<float>(*temperature);
  if (top_k) o.top_k = static_cast<int32_t>(*top_k);
  if (top_p) o.top_p = static_cast<float>(*top_p);
  if (min_p) o.min_p = static_cast<float>(*min_p);
  if (repeat_penalty) o.repetition_penalty = static_cast<float>(*repeat_penalty);
  if (repeat_last_n) o.repetition_window = static_cast<int32_t>(*repeat_last_n);
  std::random_device rd;
  o.seed = seed ? *seed : (uint64_t{rd()} << 32) ^ rd();
  return o;
}

std::string sampling_range_error(std::string_view key, double v) {
  const Knob* k = find_knob(key);
  if (!k) return "";
  const bool ok = std::isfinite(v) && (k->lo_open ? v > k->lo : v >= k->lo) &&
                  (k->hi_open ? v < k->hi : v <= k->hi);
  if (ok) return "";
  if (k->hi == kInf && !(v <= k->hi))  // too large, inf or NaN
    return std::string(key) + " must be a finite float (at most " + number_text(kInf) + "), got " +
           number_text(v);
  return std::string(key) + " must be " + range_text(*k) + ", got " + number_text(v);
}

void add_sampling_flags(CLI::App& sub, SamplingArgs& a) {
  add_knob(sub, "temperature", a.temperature);
  add_knob(sub, "top_k", a.top_k);
  add_knob(sub, "top_p", a.top_p);
  add_knob(sub, "min_p", a.min_p);
  add_knob(sub, "repeat_penalty", a.repeat_penalty);
  add_knob(sub, "repeat_last_n", a.repeat_last_n);
  sub.add_option("-s,--seed", a.seed, "sampling seed, so a run can be repeated (default: random)");
}

CLI::Validator int_range(int64_t lo, int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& v) -> std::string {
        int64_t x = 0;
        if (!CLI::detail::lexical_cast(v, x)) return "expects an integer, got '" + v + "'";
        if (x < lo || x > hi)
          return "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + v;
        return "";
      },
      "");
}

}  // namespace schwarm::cli

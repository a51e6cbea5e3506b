#pragma once
// Sampling options as the CLI and the JSONL batch file give them: each one optional (unset: the
// command-line value, else the library default), with one table of names and ranges shared by the
// flags (--temp, --top-k, ...) and the JSONL keys (temperature, top_k, ...).
#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "schwarm/sampling.h"

namespace schwarm::cli {

struct SamplingArgs {
  std::optional<double> temperature;     // >= 0; 0 = greedy
  std::optional<int64_t> top_k;          // >= 0; 0 = off
  std::optional<double> top_p;           // (0, 1]; 1 = off
  std::optional<double> min_p;           // [0, 1]; 0 = off
  std::optional<double> repeat_penalty;  // > 0; 1 = off
  std::optional<int64_t> repeat_last_n;  // >= 0; 0 = the whole sequence
  std::optional<uint64_t> seed;          // unset: random

  // Each option of `over` that is set replaces this one's.
  SamplingArgs overlaid(const SamplingArgs& over) const;
  // The library's options: unset ones keep its defaults, an unset seed becomes a random one.
  SamplingOptions options() const;
};

// Why `value` is out of range for the option whose JSONL key is `key` ("temperature", "top_k",
// ...), in the words "KEY must be ..., got VALUE"; "" when it is fine. NaN and inf are never fine.
std::string sampling_range_error(std::string_view key, double value);

// --temp --top-k --top-p --min-p --repeat-penalty --repeat-last-n -s/--seed, each with its range
// in --help and checked while parsing.
void add_sampling_flags(CLI::App& sub, SamplingArgs& args);

// A CLI11 check that an integer lies in [lo, hi] (e.g. -n, -c, --parallel); CLI11 names the flag.
CLI::Validator int_range(int64_t lo, int64_t hi);

}  // namespace schwarm::cli

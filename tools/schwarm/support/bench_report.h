#pragma once
// `schwarm bench` results: one record per (model, threads, test), the test being pp<N> (prompt
// processing: N prompt tokens in one batch) or tg<N> (generation: N tokens one at a time from an
// empty context), each repeated -r times. Statistics as llama-bench computes them: avg_ns and
// stddev_ns over the samples, avg_ts and stddev_ts over the per-sample rates (tokens / seconds),
// sample standard deviation (n - 1; 0 for one sample). Printed as llama-bench's markdown table or
// as a JSON array whose field names are llama-bench's where they mean the same thing.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace schwarm::cli {

struct BenchRecord {
  std::string model_filename;  // as given on the command line
  std::string model_type;      // e.g. "deepseek_v3 bf16"
  uint64_t model_size = 0;     // bytes of weights
  uint64_t model_n_params = 0;
  std::string backend;  // "cpu", "ref", "cuda"
  int n_threads = 0;
  int n_prompt = 0;  // pp test: tokens in the prompt batch; 0 for tg
  int n_gen = 0;     // tg test: tokens generated; 0 for pp
  std::vector<uint64_t> samples_ns;
  uint64_t peak_rss_bytes = 0;  // the process's peak resident set after the test
  std::string test_time;        // ISO 8601 UTC, when the test started

  uint64_t avg_ns() const;
  uint64_t stddev_ns() const;
  std::vector<double> samples_ts() const;  // (n_prompt + n_gen) / seconds, per sample
  double avg_ts() const;
  double stddev_ts() const;
  std::string test_name() const;  // "pp512", "tg128"
};

double mean(const std::vector<double>& v);
double sample_stddev(const std::vector<double>& v);  // 0 for fewer than two values

// | model | size | params | backend | threads | test | t/s | peak RSS |, one row per record.
std::string bench_markdown(const std::vector<BenchRecord>& records);
nlohmann::ordered_json bench_json(const BenchRecord& r);

// The process's peak resident set size in bytes: VmHWM from /proc/self/status, else getrusage.
uint64_t peak_rss_bytes();
// Now, as "2025-01-31T12:34:56Z".
std::string utc_timestamp();

}  // namespace schwarm::cli

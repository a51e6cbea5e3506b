// schwarm bench -m MODEL [-m MODEL2] [-p 512] [-n 128] [-r 5] [-t 1,2] [--backend cpu,ref] [--json]
// measures prompt processing and generation speed as llama-bench does, so the figures compare:
//   pp<N>: N prompt tokens (BOS, then random ids from a fixed seed) evaluated in one batch from an
//          empty context (Session::prefill);
//   tg<N>: N tokens generated one at a time from an empty context: the first forward pass takes
//          one token (BOS), each later one the token just sampled (greedy, no stop ids), N passes.
// Each test first runs once unmeasured (warm-up: caches, page faults, thread start), then -r times
// measured; every list flag (-m, -p, -n, -t, --backend: comma lists or repeated) multiplies the
// tests. Output: llama-bench's markdown table, or (--json / -o json) an array of records with
// llama-bench's field names plus peak_rss_bytes (-o jsonl: one record per line).
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_report.h"
#include "model_args.h"
#include "schwarm/schwarm.hpp"
#include "subcommands.h"

namespace schwarm::cli {
namespace {

struct BenchArgs {
  std::vector<std::string> models;
  std::vector<int64_t> n_prompt = {512};
  std::vector<int64_t> n_gen = {128};
  std::vector<int64_t> threads = {0};
  std::vector<std::string> backends = {"cpu"};
  int64_t repetitions = 5;
  std::string output = "md";
  bool json = false;
  bool no_warmup = false;
  bool quiet = false;
  bool exact = false;
};

// "pp512" and "tg128" style label of the model for the table: family and parameter count.
std::string model_type(const Llm& llm) {
  const double p = static_cast<double>(llm.n_params());
  char buf[64];
  if (p >= 1e9)
    std::snprintf(buf, sizeof buf, "%.0fB", p / 1e9);
  else if (p >= 1e6)
    std::snprintf(buf, sizeof buf, "%.0fM", p / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.0fK", p / 1e3);
  return llm.family() + " " + buf;
}

// BOS (when the model has one) and then random ids: the same prompt for every run of a test.
std::vector<int32_t> bench_prompt(const Llm& llm, int64_t n) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> id(0, llm.vocab_size() - 1);
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < n; ++i)
    ids.push_back(i == 0 && llm.bos_id() >= 0 ? llm.bos_id() : id(rng));
  return ids;
}

uint64_t time_pp(Session& s, const std::vector<int32_t>& prompt) {
  s.reset();
  s.append(prompt);
  const auto t0 = std::chrono::steady_clock::now();
  s.prefill();
  const auto t1 = std::chrono::steady_clock::now();
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
}

uint64_t time_tg(Session& s, const std::vector<int32_t>& first, int64_t n) {
  s.reset();
  s.append(first);
  GenerateOptions g;
  g.max_tokens = n;
  g.stop_ids = std::vector<int32_t>{};  // never stop early: exactly n forward passes
  const auto t0 = std::chrono::steady_clock::now();
  const GenerateResult r = s.generate(g);
  const auto t1 = std::chrono::steady_clock::now();
  if (r.generated_tokens != n)
    throw Error("bench: generated " + std::to_string(r.generated_tokens) + " tokens, expected " +
                std::to_string(n) + " (" + finish_reason_name(r.finish_reason) + ")");
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
}

int run_bench(const BenchArgs& a) {
  const std::string format = a.json ? "json" : a.output;
  int64_t max_tokens = 1;
  for (int64_t p : a.n_prompt) max_tokens = std::max(max_tokens, p);
  for (int64_t n : a.n_gen) max_tokens = std::max(max_tokens, n + 1);
  std::vector<BenchRecord> records;
  for (const std::string& path : a.models)
    for (const std::string& backend : a.backends)
      for (int64_t threads : a.threads) {
        ModelArgs ma;
        ma.path = path;
        ma.backend = backend;
        ma.threads = static_cast<int>(threads);
        ma.context_size = max_tokens;
        ma.quiet = a.quiet;
        ma.exact = a.exact;
        const Llm llm = load_model(ma);
        Session session(llm);
        BenchRecord base;
        base.model_filename = path;
        base.model_type = model_type(llm);
        base.model_size = llm.file_size();
        base.model_n_params = static_cast<uint64_t>(llm.n_params());
        base.backend = llm.backend();
        base.n_threads = threads > 0 ? static_cast<int>(threads)
                                     : static_cast<int>(std::thread::hardware_concurrency());
        std::vector<BenchRecord> tests;
        for (int64_t p : a.n_prompt) {
          if (p == 0) continue;
          tests.push_back(base);
          tests.back().n_prompt = static_cast<int>(p);
        }
        for (int64_t n : a.n_gen) {
          if (n == 0) continue;
          tests.push_back(base);
          tests.back().n_gen = static_cast<int>(n);
        }
        for (BenchRecord& t : tests) {
          const std::vector<int32_t> prompt = bench_prompt(llm, std::max(t.n_prompt, 1));
          const auto once = [&] {
            return t.n_prompt > 0 ? time_pp(session, prompt) : time_tg(session, prompt, t.n_gen);
          };
          t.test_time = utc_timestamp();
          if (!a.no_warmup) once();
          for (int64_t r = 0; r < a.repetitions; ++r) {
            spdlog::info("bench: {} {} threads {}: run {}/{}", path, t.test_name(), t.n_threads,
                         r + 1, a.repetitions);
            t.samples_ns.push_back(once());
          }
          t.peak_rss_bytes = peak_rss_bytes();
          if (format == "jsonl") {  // a line per test as soon as it is measured
            std::printf("%s\n", bench_json(t).dump().c_str());
            std::fflush(stdout);
          }
          records.push_back(t);
        }
      }
  if (format == "md") {
    std::fputs(bench_markdown(records).c_str(), stdout);
  } else if (format == "json") {
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (const BenchRecord& r : records) all.push_back(bench_json(r));
    std::printf("%s\n", all.dump(2).c_str());
  }
  return 0;
}

}  // namespace

void add_bench(CLI::App& app, Runner& run) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* sub = app.add_subcommand(
      "bench", "Prompt processing and generation speed (tokens/sec), as llama-bench measures");
  sub->add_option("-m,--model", a->models,
                  "checkpoint(s); repeat -m or give a comma list to compare models")
      ->required()
      ->delimiter(',');
  sub->add_option("-p,--n-prompt", a->n_prompt,
                  "pp test: prompt tokens evaluated in one batch (comma list; 0: none)")
      ->delimiter(',')
      ->check(int_range(0, int64_t{1} << 24));
  sub->add_option("-n,--n-gen", a->n_gen,
                  "tg test: tokens generated one at a time (comma list; 0: none)")
      ->delimiter(',')
      ->check(int_range(0, int64_t{1} << 24));
  sub->add_option("-r,--repetitions", a->repetitions,
                  "measured runs of each test (after one warm-up run)")
      ->check(int_range(1, 100000));
  sub->add_option("-t,--threads", a->threads, "CPU threads (comma list; 0: all hardware threads)")
      ->delimiter(',')
      ->check(int_range(0, 4096));
  sub->add_option("--backend", a->backends, "cpu, cuda, cuda:N and/or ref (comma list)")
      ->delimiter(',')
      ->check(backend_name_validator());
  sub->add_option("-o,--output", a->output,
                  "md (a markdown table), json (an array) or jsonl (a record per line)")
      ->check(CLI::IsMember({"md", "json", "jsonl"}));
  sub->add_flag("--json", a->json, "the same as -o json");
  sub->add_flag("--no-warmup", a->no_warmup, "measure from the first run (no warm-up run)");
  sub->add_flag("-q,--quiet", a->quiet, "no progress bar and no progress messages on stderr");
  add_exact_flag(*sub, a->exact);
  sub->callback([a, &run] {
    bool any = false;
    for (int64_t p : a->n_prompt) any |= p > 0;
    for (int64_t n : a->n_gen) any |= n > 0;
    if (!any) throw CLI::ValidationError("-p/-n", "nothing to measure: every -p and -n is 0");
    run = [a] { return run_bench(*a); };
  });
}

}  // namespace schwarm::cli

// Tokenizer encode throughput (MB/s of UTF-8 input) on English prose, with the qwen2 and
// llama-bpe vocabs from .cache (scripts/fetch-test-data.sh). The text: $SCHWARM_BENCH_TEXT when
// set (bench/run_tokenizer_bench.sh writes one with bench/tokenizer_bench_text.py and times the
// Python `tokenizers` package on the same file), else the corpus cases repeated to ~4 MB.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "text/tokenizer.h"

namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string& bench_text() {
  static const std::string text = [] {
    if (const char* p = std::getenv("SCHWARM_BENCH_TEXT")) return read_all(p);
    std::string seed;
    const fs::path corpus = fs::path(SCHWARM_TEST_DATA_DIR) / "tokenizer" / "corpus";
    for (const char* c : {"03-english.txt", "04-contractions.txt", "05-python.txt", "21-numbers.txt",
                          "30-markdown.txt", "32-case-mix.txt"})
      seed += read_all(corpus / c);
    std::string t;
    while (!seed.empty() && t.size() < 4'000'000) t += seed;
    return t;
  }();
  return text;
}

const schwarm::Tokenizer* vocab(const std::string& name) {
  static std::map<std::string, std::unique_ptr<schwarm::Tokenizer>> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second.get();
  const fs::path p = fs::path(SCHWARM_LLAMA_CPP_MODELS_DIR) / ("ggml-vocab-" + name + ".gguf");
  std::unique_ptr<schwarm::Tokenizer> tok;
  if (fs::exists(p)) tok = std::make_unique<schwarm::Tokenizer>(schwarm::Tokenizer::open(p.string()));
  return cache.emplace(name, std::move(tok)).first->second.get();
}

void BM_Encode(benchmark::State& state, const std::string& name) {
  const schwarm::Tokenizer* tok = vocab(name);
  if (!tok) {
    state.SkipWithError(("ggml-vocab-" + name + ".gguf missing: run scripts/fetch-test-data.sh").c_str());
    return;
  }
  const std::string& text = bench_text();
  if (text.empty()) {
    state.SkipWithError("empty benchmark text");
    return;
  }
  size_t n_tokens = 0;
  for (auto _ : state) {
    auto ids = tok->encode(text, false, false);
    n_tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(n_tokens);
  state.counters["bytes"] = static_cast<double>(text.size());
}

void BM_Decode(benchmark::State& state, const std::string& name) {
  const schwarm::Tokenizer* tok = vocab(name);
  if (!tok) {
    state.SkipWithError(("ggml-vocab-" + name + ".gguf missing: run scripts/fetch-test-data.sh").c_str());
    return;
  }
  const std::vector<schwarm::TokenId> ids = tok->encode(bench_text(), false, false);
  for (auto _ : state) {
    std::string s = tok->decode(ids);
    benchmark::DoNotOptimize(s.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bench_text().size()));
}

BENCHMARK_CAPTURE(BM_Encode, qwen2, std::string("qwen2"))->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK_CAPTURE(BM_Encode, llama_bpe, std::string("llama-bpe"))->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK_CAPTURE(BM_Decode, qwen2, std::string("qwen2"))->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

#include "model_args.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "progress.h"
#include "sampling_args.h"

namespace schwarm::cli {

void add_model_flags(CLI::App& sub, ModelArgs& a) {
  sub.add_option("-m,--model", a.path,
                 "checkpoint: a Hugging Face directory, a .safetensors file or a .gguf file")
      ->required();
  sub.add_option("--backend", a.backend,
                 "where the model runs: cpu (threaded) or ref (plain scalar, slow)")
      ->check(CLI::IsMember({"cpu", "ref"}));
  sub.add_option("-t,--threads", a.threads, "CPU threads (0: all hardware threads)")
      ->check(int_range(0, 4096));
  sub.add_option("-c,--ctx-size", a.context_size,
                 "context size in tokens: prompt and answer together, per conversation or request "
                 "(0: the model's, at most 4096)")
      ->check(int_range(0, int64_t{1} << 32));
  sub.add_flag("-q,--quiet", a.quiet, "no progress bar and no informational messages on stderr");
}

Llm load_model(const ModelArgs& a) {
  spdlog::set_pattern("%v");
  // Informational lines, like the progress bar, only for a person at a terminal: scripts that merge
  // stderr into stdout get the output alone.
  spdlog::set_level(a.quiet || !isatty(STDERR_FILENO) ? spdlog::level::warn : spdlog::level::info);
  LoadOptions lo;
  lo.backend = a.backend;
  lo.threads = a.threads;
  lo.context_size = a.context_size;
  ProgressBar bar("loading " + std::filesystem::path(a.path).filename().string(), a.quiet);
  if (bar.enabled())
    lo.on_progress = [&bar](uint64_t done, uint64_t total) { bar.update(done, total); };
  const auto t0 = std::chrono::steady_clock::now();
  Llm llm = Llm::load(a.path, lo);
  bar.finish();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  spdlog::info("loaded {} ({}, {} parameters, {}) in {:.2f} s; backend {}, context {} tokens",
               a.path, llm.family(), llm.n_params(), human_bytes(llm.file_size()), s, llm.backend(),
               llm.context_length());
  return llm;
}

TokenFn print_to_stdout() {
  return [](int32_t, std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return true;
  };
}

std::string join_ids(std::span<const int32_t> ids) {
  std::string s;
  for (int32_t t : ids) {
    if (!s.empty()) s += ',';
    s += std::to_string(t);
  }
  return s;
}

std::string timing_summary(const GenerateResult& r) {
  char buf[256];
  std::snprintf(
      buf, sizeof buf,
      "%lld prompt tokens (%lld cached) at %.2f t/s, %lld generated at %.2f t/s, finish: %s",
      static_cast<long long>(r.prompt_tokens), static_cast<long long>(r.cached_tokens),
      r.timings.prefill_tokens_per_s(), static_cast<long long>(r.generated_tokens),
      r.timings.decode_tokens_per_s(), finish_reason_name(r.finish_reason));
  return buf;
}

}  // namespace schwarm::cli

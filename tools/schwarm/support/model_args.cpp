#include "model_args.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "progress.h"
#include "sampling_args.h"

namespace schwarm::cli {

namespace {
constexpr const char* kDefaultModelFile = "schwarm-tiny-q8_0.gguf";
}  // namespace

std::string default_model_path() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("SCHWARM_MODEL"); env && *env) return env;
  std::vector<fs::path> candidates;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(exe.parent_path().parent_path() / "share" / "schwarm" / "models" / kDefaultModelFile);
#ifdef SCHWARM_SOURCE_MODELS_DIR
  candidates.push_back(fs::path(SCHWARM_SOURCE_MODELS_DIR) / kDefaultModelFile);
#endif
  std::string tried;
  for (const fs::path& c : candidates) {
    if (fs::is_regular_file(c, ec)) return c.string();
    tried += (tried.empty() ? "" : ", ") + c.string();
  }
  throw Error(std::string("no -m given and the default model ") + kDefaultModelFile + " is not in " +
              (tried.empty() ? "any known place" : tried) + " (set SCHWARM_MODEL or pass -m)");
}

CLI::Validator backend_name_validator() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        if (v == "cpu" || v == "ref" || v == "cuda") return "";
        if (v.rfind("cuda:", 0) == 0 && v.size() > 5 && v.size() <= 9 &&
            v.find_first_not_of("0123456789", 5) == std::string::npos)
          return "";
        return "must be cpu, cuda, cuda:N or ref, got '" + v + "'";
      },
      "");
}

void add_model_flags(CLI::App& sub, ModelArgs& a, bool default_model) {
  CLI::Option* m = sub.add_option("-m,--model", a.path,
                                  default_model ? "checkpoint: a Hugging Face directory, a .safetensors file or a .gguf "
                                                  "file (default: the shipped schwarm-tiny model)"
                                                : "checkpoint: a Hugging Face directory, a .safetensors file or a .gguf file");
  if (!default_model) m->required();
  sub.add_option("--backend", a.backend,
                 "where the model runs: cpu (threaded), cuda or cuda:N (GPU N), ref (plain scalar, slow)")
      ->check(backend_name_validator());
  sub.add_option("-t,--threads", a.threads, "CPU threads (0: all hardware threads)")
      ->check(int_range(0, 4096));
  sub.add_option("-c,--ctx-size", a.context_size,
                 "context size in tokens: prompt and answer together, per conversation or request "
                 "(0: the model's, at most 4096)")
      ->check(int_range(0, int64_t{1} << 32));
  sub.add_flag("-q,--quiet", a.quiet, "no progress bar and no informational messages on stderr");
  add_exact_flag(sub, a.exact);
}

void add_exact_flag(CLI::App& sub, bool& exact) {
  sub.add_flag("--exact", exact,
               "multiply K-quant and Q8_0/Q4_0/Q5_0 weights with the activations as they are; by default "
               "they are rounded to 8 bits per 256 first, as llama.cpp does, for integer dot products");
}

Llm load_model(const ModelArgs& args) {
  ModelArgs a = args;
  if (a.path.empty()) a.path = default_model_path();
  spdlog::set_pattern("%v");
  // Informational lines, like the progress bar, only for a person at a terminal: scripts that merge
  // stderr into stdout get the output alone.
  spdlog::set_level(a.quiet || !isatty(STDERR_FILENO) ? spdlog::level::warn : spdlog::level::info);
  LoadOptions lo;
  lo.backend = a.backend;
  lo.threads = a.threads;
  lo.context_size = a.context_size;
  lo.quantize_activations = !a.exact;
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

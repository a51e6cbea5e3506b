#pragma once
// What the model-running subcommands (chat, generate, bench) share: the flags (-m, --backend, -t,
// -c, -q), loading the model through the public API with a progress bar on a terminal, and the
// small output helpers (streaming to stdout, id lists, timing lines).
#include <CLI/CLI.hpp>
#include <cstdint>
#include <span>
#include <string>

#include "schwarm/schwarm.hpp"

namespace schwarm::cli {

struct ModelArgs {
  std::string path;
  std::string backend = "cpu";
  int threads = 0;           // 0: all hardware threads
  int64_t context_size = 0;  // 0: min(trained context, 4096)
  bool quiet = false;
  bool exact = false;  // --exact: K-quant matmuls take the activations unrounded
};

// -m/--model, --backend, -t/--threads, -c/--ctx-size, -q/--quiet. -m is required unless
// `default_model`: then without -m the shipped schwarm-tiny model is used (default_model_path).
void add_model_flags(CLI::App& sub, ModelArgs& args, bool default_model = false);

// --backend's check: cpu, ref, cuda or cuda:N (whether CUDA is there is the library's to say).
CLI::Validator backend_name_validator();
// --exact alone (for subcommands with their own model flags).
void add_exact_flag(CLI::App& sub, bool& exact);

// The shipped default model (models/schwarm-tiny-q8_0.gguf, a small trained DeepSeek-V3-architecture
// model, see models/README.md), looked for in this order: $SCHWARM_MODEL; next to an installed
// binary (PREFIX/share/schwarm/models/); the source tree this binary was built from. Throws Error
// naming the places looked in when it is in none.
std::string default_model_path();

// Llm::load (of default_model_path() when args.path is empty) with a progress bar on stderr when it is a terminal and not -q; logs what was loaded
// (spdlog, info level, shown on a terminal only and not with -q; warnings always).
Llm load_model(const ModelArgs& args);

// A streaming callback that writes each piece to stdout and flushes it.
TokenFn print_to_stdout();
// "1,2,3": ids as generate --print-ids and chat --print-prompt-ids print them.
std::string join_ids(std::span<const int32_t> ids);
// "12 prompt tokens (30 cached) at 850.20 t/s, 32 generated at 41.70 t/s, finish: max_tokens".
std::string timing_summary(const GenerateResult& r);

}  // namespace schwarm::cli

#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model_args.h"
#include "sampling_args.h"

namespace schwarm::cli {

// The chosen subcommand stores what to run here; main() runs it and turns errors into exit codes.
using Runner = std::function<int()>;

void add_inspect(CLI::App& app, Runner& run);
void add_generate(CLI::App& app, Runner& run);
void add_logits(CLI::App& app, Runner& run);
void add_tokenize(CLI::App& app, Runner& run);
void add_template(CLI::App& app, Runner& run);
void add_chat(CLI::App& app, Runner& run);
void add_bench(CLI::App& app, Runner& run);
void add_perplexity(CLI::App& app, Runner& run);

// Shared by generate and logits (defined in generate.cpp): "1, 2,3" -> {1, 2, 3} (Error naming a
// bad item). Backends by name: make_backend_by_name (backend/backend.h).
std::vector<int32_t> parse_ids(const std::string& text);

// generate's options; the single-prompt run is in generate.cpp, the JSONL batch in generate_batch.cpp.
struct GenerateArgs {
  ModelArgs model;
  std::string prompt, prompt_file, ids;
  std::string jsonl, out;
  int64_t parallel = 4;
  int64_t n_predict = 32;
  SamplingArgs sampling;
  std::vector<std::string> stop;
  bool print_ids = false, no_bos = false, timings = false;
};
int run_jsonl_batch(const GenerateArgs& args);

// Errors with one clear line (generate.cpp): an id outside the vocabulary; a prompt that leaves no
// room in the context; a file that cannot be read.
void check_prompt_ids(const Llm& llm, const std::vector<int32_t>& ids);
void check_fits_context(const Llm& llm, int64_t prompt_tokens);
std::string read_text_file(const std::string& path);

}  // namespace schwarm::cli

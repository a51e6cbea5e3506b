#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace schwarm::cli {

// The chosen subcommand stores what to run here; main() runs it and turns errors into exit codes.
using Runner = std::function<int()>;

void add_inspect(CLI::App& app, Runner& run);
void add_generate(CLI::App& app, Runner& run);
void add_logits(CLI::App& app, Runner& run);

// Shared by generate and logits (defined in generate.cpp): "1, 2,3" -> {1, 2, 3} (Error naming a
// bad item); backend "ref" or "cpu".
std::vector<int32_t> parse_ids(const std::string& text);
std::unique_ptr<Backend> make_backend_by_name(const std::string& name, int threads);
void add_tokenize(CLI::App& app, Runner& run);
void add_template(CLI::App& app, Runner& run);
void add_perplexity(CLI::App& app, Runner& run);

}  // namespace schwarm::cli

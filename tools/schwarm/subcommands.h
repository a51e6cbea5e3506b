#pragma once
#include <CLI/CLI.hpp>
#include <functional>

namespace schwarm::cli {

// The chosen subcommand stores what to run here; main() runs it and turns errors into exit codes.
using Runner = std::function<int()>;

void add_inspect(CLI::App& app, Runner& run);
void add_tokenize(CLI::App& app, Runner& run);

}  // namespace schwarm::cli

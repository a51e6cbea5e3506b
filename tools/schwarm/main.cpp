// schwarm: the command-line front end. Each subcommand lives in its own file.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "schwarm/version.h"

#include "subcommands.h"

int main(int argc, char** argv) {
  CLI::App app{"schwarm: local inference for Mixture-of-Experts language models"};
  app.set_version_flag("--version", std::string("schwarm ") + SCHWARM_VERSION);
  app.require_subcommand(1);
  schwarm::cli::Runner run;
  schwarm::cli::add_inspect(app, run);
  schwarm::cli::add_generate(app, run);
  schwarm::cli::add_logits(app, run);
  schwarm::cli::add_tokenize(app, run);
  schwarm::cli::add_template(app, run);
  schwarm::cli::add_chat(app, run);
  schwarm::cli::add_bench(app, run);
  schwarm::cli::add_perplexity(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print and succeed; a bad command line is one line and exit status 2.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "schwarm: error: %s (see --help)\n", e.what());
    return 2;
  }
  try {
    return run ? run() : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "schwarm: error: %s\n", e.what());
    return 1;
  }
}

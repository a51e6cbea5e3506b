// schwarm perplexity -m MODEL -f FILE [-c 512] [--chunks N]: the perplexity of a text file as
// llama.cpp's llama-perplexity computes it (schwarm::perplexity in schwarm.hpp: whole chunks of -c
// tokens, the second half of each scored), printed the same way: the running estimate per chunk
// ("[1]12.3456,[2]..."), then "Final estimate: PPL = X +/- Y". --json prints one JSON object.
// Model flags as chat/generate/bench (support/model_args.h); -c defaults to 512 here.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "schwarm/error.h"
#include "schwarm/schwarm.hpp"
#include "subcommands.h"

namespace schwarm::cli {

void add_perplexity(CLI::App& app, Runner& run) {
  struct Opts {
    ModelArgs model;
    std::string file;
    int64_t chunks = -1;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  o->model.context_size = 512;  // -c is also the chunk size, as in llama-perplexity
  CLI::App* sub = app.add_subcommand("perplexity", "Perplexity of a text file, as llama.cpp's llama-perplexity computes it");
  add_model_flags(*sub, o->model);
  sub->add_option("-f,--file", o->file, "the text to score (UTF-8); -c tokens per chunk, the second half of each scored")
      ->required();
  sub->add_option("--chunks", o->chunks, "score at most this many chunks (-1: all)")->check(CLI::Range(int64_t{-1}, int64_t{1} << 40));
  sub->add_flag("--json", o->json, "print the result as one JSON object");
  sub->callback([o, &run] {
    run = [o]() -> int {
      if (o->model.context_size < 4) throw Error("perplexity: -c must be at least 4");
      const std::string text = read_text_file(o->file);
      const Llm llm = load_model(o->model);
      const std::vector<int32_t> tokens = llm.tokenize(text, /*add_special=*/true, /*parse_special=*/true);
      PerplexityOptions po;
      po.context = o->model.context_size;
      po.max_chunks = o->chunks;
      if (!o->json)
        po.on_chunk = [](int64_t c, int64_t, double ppl) {
          std::printf("[%lld]%.4f,", static_cast<long long>(c + 1), ppl);
          std::fflush(stdout);
        };
      const PerplexityResult r = perplexity(llm, tokens, po);
      if (o->json) {
        const nlohmann::json j = {{"model", o->model.path},   {"file", o->file},
                                  {"n_ctx", po.context},       {"tokens", tokens.size()},
                                  {"chunks", r.chunks},        {"scored_tokens", r.scored_tokens},
                                  {"mean_nll", r.mean_nll},    {"perplexity", r.perplexity},
                                  {"perplexity_error", r.perplexity_error}};
        std::printf("%s\n", j.dump().c_str());
      } else {
        std::printf("\nFinal estimate: PPL = %.4f +/- %.5f\n", r.perplexity, r.perplexity_error);
      }
      return 0;
    };
  });
}

}  // namespace schwarm::cli

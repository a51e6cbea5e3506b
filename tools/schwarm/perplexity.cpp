// schwarm perplexity -m MODEL -f FILE [-c 512] [--chunks N]: the perplexity of a text file as
// llama.cpp's llama-perplexity computes it (schwarm::perplexity in schwarm.hpp: whole chunks of -c
// tokens, the second half of each scored), printed the same way: the running estimate per chunk
// ("[1]12.3456,[2]..."), then "Final estimate: PPL = X +/- Y". --json prints one JSON object.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "schwarm/error.h"
#include "schwarm/schwarm.hpp"
#include "subcommands.h"

namespace schwarm::cli {
namespace {

struct PerplexityCliOptions {
  std::string model, file, backend = "cpu";
  int64_t context = 512, chunks = -1;
  int threads = 0;
  bool json = false;
};

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw FileError(path, "cannot open the text file");
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace

void add_perplexity(CLI::App& app, Runner& run) {
  auto o = std::make_shared<PerplexityCliOptions>();
  CLI::App* sub = app.add_subcommand("perplexity", "Perplexity of a text file, as llama.cpp's llama-perplexity computes it");
  sub->add_option("-m,--model", o->model, "checkpoint: HF directory, .safetensors or .gguf")->required();
  sub->add_option("-f,--file", o->file, "the text to score (UTF-8)")->required();
  sub->add_option("-c,--ctx-size", o->context, "tokens per chunk; the second half of each is scored")
      ->check(CLI::Range(int64_t{4}, int64_t{1} << 20));
  sub->add_option("--chunks", o->chunks, "score at most this many chunks (-1: all)")->check(CLI::Range(int64_t{-1}, int64_t{1} << 40));
  sub->add_option("-t,--threads", o->threads, "cpu backend threads (0: all)")->check(CLI::Range(0, 4096));
  sub->add_option("--backend", o->backend, "cpu or ref");
  sub->add_flag("--json", o->json, "print the result as one JSON object");
  sub->callback([o, &run] {
    run = [o]() -> int {
      LoadOptions lo;
      lo.backend = o->backend;
      lo.threads = o->threads;
      lo.context_size = o->context;
      const Llm llm = Llm::load(o->model, lo);
      const std::vector<int32_t> tokens = llm.tokenize(read_text_file(o->file), /*add_special=*/true, /*parse_special=*/true);
      PerplexityOptions po;
      po.context = o->context;
      po.max_chunks = o->chunks;
      if (!o->json)
        po.on_chunk = [](int64_t c, int64_t, double ppl) {
          std::printf("[%lld]%.4f,", static_cast<long long>(c + 1), ppl);
          std::fflush(stdout);
        };
      const PerplexityResult r = perplexity(llm, tokens, po);
      if (o->json) {
        const nlohmann::json j = {{"model", o->model},           {"file", o->file},
                                  {"n_ctx", o->context},         {"tokens", tokens.size()},
                                  {"chunks", r.chunks},          {"scored_tokens", r.scored_tokens},
                                  {"mean_nll", r.mean_nll},      {"perplexity", r.perplexity},
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

// schwarm generate -m MODEL (-p TEXT | --ids 1,2,3) [-n 32] [--temp T --top-k K --top-p P --min-p M
// --repeat-penalty R --seed S] [--stop STR]... [--no-bos] [--print-ids]: the generated text streamed
// to stdout as it comes (one flush per piece), or with --print-ids (or when the checkpoint has no
// tokenizer) the generated ids, comma-separated on one line.
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "io/checkpoint.h"
#include "model/model.h"
#include "runtime/engine.h"
#include "runtime/sampler.h"
#include "text/tokenizer.h"
#include "schwarm/error.h"
#include "subcommands.h"

namespace schwarm::cli {

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i <= text.size()) {
    size_t j = text.find(',', i);
    if (j == std::string::npos) j = text.size();
    std::string item = text.substr(i, j - i);
    const size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
    item = a == std::string::npos ? "" : item.substr(a, b - a + 1);
    if (item.empty()) throw Error("--ids: empty item at character " + std::to_string(i) + " of '" + text + "'");
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (*end != '\0' || errno == ERANGE || v < INT32_MIN || v > INT32_MAX)
      throw Error("--ids: '" + item + "' is not a token id (expected integers separated by commas)");
    ids.push_back(static_cast<int32_t>(v));
    i = j + 1;
  }
  return ids;
}

std::unique_ptr<Backend> make_backend_by_name(const std::string& name, int threads) {
  if (name == "ref") return make_ref_backend();
  if (name == "cpu") return make_cpu_backend(threads);
  throw Error("unknown backend '" + name + "' (known: cpu, ref)");
}

namespace {

// The tokenizer of a checkpoint, if it has one: tokenizer.json in the HF directory, or the GGUF's
// tokenizer.ggml.* metadata. `need`: the error says why it was needed.
std::optional<Tokenizer> checkpoint_tokenizer(const Checkpoint& cp, const std::string& path, const char* need) {
  if (const GgufMetadata* md = cp.gguf_metadata()) {
    if (find_metadata(*md, "tokenizer.ggml.model")) return Tokenizer::from_gguf(*md, path);
    if (need) throw Error(std::string("generate: ") + need + " needs a tokenizer and " + path +
                          " has no tokenizer.ggml.* metadata (text prompts are not supported yet for such "
                          "checkpoints; pass token ids with --ids)");
    return std::nullopt;
  }
  if (!cp.hf_dir().empty() && std::filesystem::exists(std::filesystem::path(cp.hf_dir()) / "tokenizer.json"))
    return Tokenizer::from_hf_dir(cp.hf_dir());
  if (need) throw Error(std::string("generate: ") + need + " needs a tokenizer and " + path +
                        " has no tokenizer.json beside it (text prompts are not supported yet for such "
                        "checkpoints; pass token ids with --ids)");
  return std::nullopt;
}

}  // namespace

void add_generate(CLI::App& app, Runner& run) {
  struct Opts {
    std::string model, ids, prompt, backend = "cpu";
    int64_t n = 32;
    SamplingOptions sampling;
    uint64_t seed = 0;
    bool seeded = false;
    std::vector<std::string> stop;
    bool print_ids = false, no_bos = false;
    int threads = 0;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("generate", "Generate text (or token ids) from a prompt");
  sub->add_option("-m,--model", o->model, "checkpoint: HF directory, .safetensors or .gguf")->required();
  sub->add_option("--ids", o->ids, "prompt as comma-separated token ids");
  sub->add_option("-p,--prompt", o->prompt, "prompt text (tokenized with the checkpoint's tokenizer)");
  sub->add_option("-n,--n-predict", o->n, "tokens to generate at most")->check(CLI::NonNegativeNumber);
  sub->add_option("--temp", o->sampling.temperature, "sampling temperature, >= 0 (0: greedy)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--top-k", o->sampling.top_k, "keep the k most likely tokens, >= 0 (0: off)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--top-p", o->sampling.top_p, "nucleus sampling mass, in (0, 1] (1: off)")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            double x = 0;
            if (!CLI::detail::lexical_cast(v, x) || !(x > 0.0 && x <= 1.0))
              return "--top-p must be in (0, 1], got " + v;
            return {};
          },
          "(0, 1]"));
  sub->add_option("--min-p", o->sampling.min_p, "drop tokens below min-p times the top probability, in [0, 1] (0: off)")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--repeat-penalty", o->sampling.repetition_penalty,
                  "repetition penalty over the prompt and generated ids, > 0 (1: off)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--repeat-last-n", o->sampling.repetition_window,
                  "ids looked back for the repetition penalty (0: the whole sequence)")
      ->check(CLI::NonNegativeNumber);
  CLI::Option* seed = sub->add_option("--seed", o->seed, "sampling seed (default: random)");
  sub->add_option("--stop", o->stop, "stop at this text (not printed); may be repeated");
  sub->add_flag("--no-bos", o->no_bos, "do not add the tokenizer's BOS (and EOS) to a -p prompt");
  sub->add_flag("--print-ids", o->print_ids, "print the generated token ids, comma-separated, instead of text");
  sub->add_option("--backend", o->backend, "ref or cpu");
  sub->add_option("-t,--threads", o->threads, "cpu backend threads (0: all)");
  sub->callback([o, seed, &run] {
    o->seeded = seed->count() > 0;
    run = [o]() -> int {
      if (o->prompt.empty() == o->ids.empty())
        throw Error("generate: give the prompt either as text with -p or as token ids with --ids 1,2,3");
      const Checkpoint cp = Checkpoint::open(o->model);
      const char* need = !o->prompt.empty() ? "-p/--prompt" : !o->stop.empty() ? "--stop" : nullptr;
      const std::optional<Tokenizer> tok = checkpoint_tokenizer(cp, o->model, need);
      const std::vector<int32_t> ids = !o->prompt.empty() ? tok->encode(o->prompt, !o->no_bos) : parse_ids(o->ids);
      if (ids.empty()) throw Error("generate: the prompt is empty after tokenization");
      SamplingOptions so = o->sampling;
      so.seed = o->seeded ? o->seed : std::random_device{}() * 0x100000000ull + std::random_device{}();
      validate(so);
      const std::unique_ptr<Model> model = make_model(cp);
      const std::unique_ptr<Backend> backend = make_backend_by_name(o->backend, o->threads);
      EngineOptions eo;
      eo.cache_tokens = static_cast<int64_t>(ids.size()) + o->n + 16;
      Engine engine(*model, *backend, eo);
      if (tok) engine.set_tokenizer(&*tok);
      RequestOptions ro;
      ro.sampling = so;
      ro.stop_strings = o->stop;
      const bool text = tok && !o->print_ids;
      if (text)
        ro.on_token = [](const StreamEvent& e) {
          if (e.text.empty()) return;
          std::fwrite(e.text.data(), 1, e.text.size(), stdout);
          std::fflush(stdout);
        };
      const int64_t r = engine.submit(ids, o->n, std::move(ro));
      engine.run();
      if (text) {
        std::printf("\n");
        return 0;
      }
      std::string line;
      for (int32_t t : engine.output(r)) {
        if (!line.empty()) line += ',';
        line += std::to_string(t);
      }
      std::printf("%s\n", line.c_str());
      return 0;
    };
  });
}

}  // namespace schwarm::cli

// schwarm generate -m MODEL --ids 1,2,3 -n 32 [--temp 0] [--print-ids]: greedy generation from
// token ids, the generated ids printed comma-separated on one line.
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "io/checkpoint.h"
#include "model/model.h"
#include "runtime/engine.h"
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

void add_generate(CLI::App& app, Runner& run) {
  struct Opts {
    std::string model, ids, prompt, backend = "cpu";
    int64_t n = 32;
    double temp = 0.0;
    bool print_ids = false;
    int threads = 0;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("generate", "Generate tokens from a prompt (greedy for now)");
  sub->add_option("-m,--model", o->model, "checkpoint: HF directory, .safetensors or .gguf")->required();
  sub->add_option("--ids", o->ids, "prompt as comma-separated token ids");
  sub->add_option("-p,--prompt", o->prompt, "prompt text (not yet: needs the tokenizer)");
  sub->add_option("-n,--n-predict", o->n, "tokens to generate")->check(CLI::NonNegativeNumber);
  sub->add_option("--temp", o->temp, "sampling temperature (only 0, greedy, for now)");
  sub->add_flag("--print-ids", o->print_ids, "print the generated token ids (the only output for now)");
  sub->add_option("--backend", o->backend, "ref or cpu");
  sub->add_option("-t,--threads", o->threads, "cpu backend threads (0: all)");
  sub->callback([o, &run] {
    run = [o]() -> int {
      if (!o->prompt.empty()) throw Error("generate: -p/--prompt is not supported yet; pass token ids with --ids");
      if (o->ids.empty()) throw Error("generate: give the prompt as token ids with --ids 1,2,3");
      if (o->temp != 0.0) throw Error("generate: only --temp 0 (greedy) is supported yet");
      const std::vector<int32_t> ids = parse_ids(o->ids);
      const Checkpoint cp = Checkpoint::open(o->model);
      const std::unique_ptr<Model> model = make_model(cp);
      const std::unique_ptr<Backend> backend = make_backend_by_name(o->backend, o->threads);
      EngineOptions eo;
      eo.cache_tokens = static_cast<int64_t>(ids.size()) + o->n + 16;
      Engine engine(*model, *backend, eo);
      const int64_t r = engine.submit(ids, o->n);
      engine.run();
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

// schwarm logits -m MODEL --ids 1,2,3 -o FILE.npy [--dump DIR]: fp32 logits of every prompt
// position ([positions, vocab]); --dump writes every named intermediate as DIR/NAME[.LAYER].npy.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "runtime/npy.h"
#include "schwarm/error.h"
#include "schwarm/schwarm.hpp"
#include "subcommands.h"

namespace schwarm::cli {

void add_logits(CLI::App& app, Runner& run) {
  struct Opts {
    std::string model, ids, out, dump, backend = "cpu";
    int threads = 0;
    bool exact = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("logits", "Write the fp32 logits of every prompt position as .npy");
  sub->add_option("-m,--model", o->model, "checkpoint: HF directory, .safetensors or .gguf")->required();
  sub->add_option("--ids", o->ids, "prompt as comma-separated token ids")->required();
  sub->add_option("-o,--output", o->out, "output .npy file, float32 [positions, vocab]")->required();
  sub->add_option("--dump", o->dump, "also write every named intermediate into this directory");
  sub->add_option("--backend", o->backend, "cpu, cuda, cuda:N or ref")->check(backend_name_validator());
  sub->add_option("-t,--threads", o->threads, "cpu backend threads (0: all)");
  add_exact_flag(*sub, o->exact);
  sub->callback([o, &run] {
    run = [o]() -> int {
      const std::vector<int32_t> ids = parse_ids(o->ids);
      LoadOptions lo;
      lo.backend = o->backend;
      lo.threads = o->threads;
      lo.quantize_activations = !o->exact;
      lo.context_size = static_cast<int64_t>(ids.size());
      const Llm llm = Llm::load(o->model, lo);
      Llm::DumpFn dump;
      if (!o->dump.empty()) {
        std::filesystem::create_directories(o->dump);
        dump = [dir = o->dump](const std::string& name, int64_t layer, std::span<const float> d, int64_t rows,
                               int64_t cols) {
          const std::string file = name + (layer >= 0 ? "." + std::to_string(layer) : "") + ".npy";
          write_npy_f32((std::filesystem::path(dir) / file).string(), d, {rows, cols});
        };
      }
      const std::vector<float> logits = llm.evaluate(ids, dump);
      write_npy_f32(o->out, logits, {static_cast<int64_t>(ids.size()), llm.vocab_size()});
      return 0;
    };
  });
}

}  // namespace schwarm::cli

// schwarm logits -m MODEL --ids 1,2,3 -o FILE.npy [--dump DIR]: fp32 logits of every prompt
// position ([positions, vocab]); --dump writes every named intermediate as DIR/NAME[.LAYER].npy.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "io/checkpoint.h"
#include "model/model.h"
#include "runtime/kv_cache.h"
#include "runtime/npy.h"
#include "schwarm/error.h"
#include "subcommands.h"

namespace schwarm::cli {

void add_logits(CLI::App& app, Runner& run) {
  struct Opts {
    std::string model, ids, out, dump, backend = "cpu";
    int threads = 0;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("logits", "Write the fp32 logits of every prompt position as .npy");
  sub->add_option("-m,--model", o->model, "checkpoint: HF directory, .safetensors or .gguf")->required();
  sub->add_option("--ids", o->ids, "prompt as comma-separated token ids")->required();
  sub->add_option("-o,--output", o->out, "output .npy file, float32 [positions, vocab]")->required();
  sub->add_option("--dump", o->dump, "also write every named intermediate into this directory");
  sub->add_option("--backend", o->backend, "ref or cpu");
  sub->add_option("-t,--threads", o->threads, "cpu backend threads (0: all)");
  sub->callback([o, &run] {
    run = [o]() -> int {
      const std::vector<int32_t> ids = parse_ids(o->ids);
      const Checkpoint cp = Checkpoint::open(o->model);
      const std::unique_ptr<Model> model = make_model(cp);
      const std::unique_ptr<Backend> backend = make_backend_by_name(o->backend, o->threads);
      const int64_t n = static_cast<int64_t>(ids.size());
      KvCache cache(model->kv_layout(), (n + 15) / 16, 16);
      const int32_t s = cache.add_sequence();
      cache.reserve(s, n);
      std::vector<int32_t> seq(ids.size(), s), pos(ids.size());
      for (size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<int32_t>(i);
      BatchLayout b;
      b.n_tokens = n;
      b.seq = seq;
      b.pos = pos;
      b.page_table = cache.page_tables();
      b.page_tokens = cache.page_tokens();
      ForwardOptions fo;
      if (!o->dump.empty()) {
        std::filesystem::create_directories(o->dump);
        fo.dump = [dir = o->dump](const std::string& name, int64_t layer, std::span<const float> d, int64_t rows,
                                  int64_t cols) {
          const std::string file = name + (layer >= 0 ? "." + std::to_string(layer) : "") + ".npy";
          write_npy_f32((std::filesystem::path(dir) / file).string(), d, {rows, cols});
        };
      }
      const std::vector<float> logits = model->forward(b, ids, cache.layers(), *backend, fo);
      write_npy_f32(o->out, logits, {n, model->config().vocab_size});
      return 0;
    };
  });
}

}  // namespace schwarm::cli

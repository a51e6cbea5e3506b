// schwarm-synth-gguf: a GGUF checkpoint with random weights in the exact shapes of a real model.
//   schwarm-synth-gguf --preset models/presets/qwen3-30b-a3b.json --layers 4 --type q4_k_m -o out.gguf
// The tokenizer comes from llama.cpp's vocab file named by the preset (ggml-vocab-NAME.gguf in
// --vocab-dir, by default .cache/llama-cpp-python/models as scripts/fetch-test-data.sh leaves it).
#include <cstdio>
#include <filesystem>
#include <thread>

#include <CLI/CLI.hpp>

#include "synth.h"
#include "schwarm/error.h"

int main(int argc, char** argv) {
  using namespace schwarm;
  CLI::App app{"Writes a GGUF checkpoint with random weights in the shapes of a real model (for benchmarks)"};
  std::string preset_path, out_path, type_name = "q8_0", vocab_file, vocab_dir = ".cache/llama-cpp-python/models";
  int64_t layers = 0;
  uint64_t seed = 1;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bool no_vocab = false, plan_only = false;
  app.add_option("--preset", preset_path, "preset JSON (models/presets/*.json)")->required();
  app.add_option("-o,--output", out_path, "the GGUF file to write");
  app.add_option("--layers", layers, "keep the first N layers (default: all)");
  app.add_option("--type", type_name, "f32 | f16 | bf16 | q8_0 | q4_0 | q4_k_m (llama-quantize's mix)");
  app.add_option("--seed", seed, "random seed (default 1)");
  app.add_option("--threads", threads, "threads that draw and quantize");
  app.add_option("--vocab", vocab_file, "the llama.cpp vocab GGUF whose tokenizer to copy (default: from the preset)");
  app.add_option("--vocab-dir", vocab_dir, "where ggml-vocab-NAME.gguf files are");
  app.add_flag("--no-vocab", no_vocab, "write no tokenizer (our engine loads it; llama.cpp does not)");
  app.add_flag("--plan", plan_only, "print the tensors, types and size; write nothing");
  CLI11_PARSE(app, argc, argv);
  try {
    const auto mix = synth::mix_from_name(type_name);
    if (!mix) throw Error("--type '" + type_name + "' is not one of f32, f16, bf16, q8_0, q4_0, q4_k_m");
    if (out_path.empty() && !plan_only) throw Error("-o/--output is required (or --plan)");
    const synth::Preset preset = synth::load_preset(preset_path);
    GgufMetadata vocab;
    if (!no_vocab) {
      if (vocab_file.empty()) {
        if (preset.vocab.empty()) throw Error(preset_path + ": names no vocab; pass --vocab FILE or --no-vocab");
        vocab_file = (std::filesystem::path(vocab_dir) / ("ggml-vocab-" + preset.vocab + ".gguf")).string();
      }
      if (!std::filesystem::exists(vocab_file))
        throw FileError(vocab_file, "not found (run scripts/fetch-test-data.sh, or pass --vocab FILE / --no-vocab)");
      const GgufFile vf = GgufFile::open(vocab_file);
      const int64_t vocab_size = config_from_gguf(preset.metadata, preset_path).vocab_size;
      vocab = synth::vocab_metadata(vf.metadata(), vocab_size, vocab_file);
    }
    const synth::Options options{layers, *mix, seed};
    const synth::Plan plan = synth::make_plan(preset, options, vocab);
    const double gib = static_cast<double>(plan.data_bytes) / double(1ull << 30);
    if (plan_only) {
      for (const synth::PlannedTensor& t : plan.tensors) {
        std::printf("%-32s %-5s [", t.info.name.c_str(), std::string(tensor_type_name(t.info.type)).c_str());
        for (size_t i = 0; i < t.info.shape.size(); ++i)
          std::printf("%s%lld", i ? ", " : "", static_cast<long long>(t.info.shape[i]));
        std::printf("]\n");
      }
      std::printf("%zu tensors, %.3f GiB of tensor data\n", plan.tensors.size(), gib);
      return 0;
    }
    std::fprintf(stderr, "%s: %zu tensors, %.3f GiB, %d threads\n", out_path.c_str(), plan.tensors.size(), gib, threads);
    int last = -1;
    synth::write_plan(plan, out_path, seed, threads, [&](uint64_t done, uint64_t total) {
      const int pct = total ? static_cast<int>(100 * done / total) : 100;
      if (pct / 10 != last / 10) std::fprintf(stderr, "  %d%%\n", pct);
      last = pct;
    });
    std::fprintf(stderr, "wrote %s\n", out_path.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "schwarm-synth-gguf: error: %s\n", e.what());
    return 1;
  }
}

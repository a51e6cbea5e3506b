// schwarm template (-m MODEL | --template FILE.jinja) --context FILE.json: prints the rendered
// prompt exactly, with no newline added.
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

// The CLI links only the public library; this header depends on nothing internal.
#include "text/jinja/chat_template.h"
#include "schwarm/error.h"
#include "subcommands.h"

namespace schwarm::cli {
namespace {

struct TemplateArgs {
  std::string model, template_file, context_file;
  long long now = -1;
};

int run_template(const TemplateArgs& a) {
  nlohmann::ordered_json context;
  try {
    context = nlohmann::ordered_json::parse(read_text_file(a.context_file));
  } catch (const nlohmann::json::exception& e) {
    throw FileError(a.context_file, std::string("invalid JSON: ") + e.what());
  }
  if (!context.is_object()) throw FileError(a.context_file, "the context must be a JSON object");
  CheckpointChatTemplate found;
  if (!a.model.empty()) {
    found = find_chat_template(a.model);
    fill_special_tokens(context, found);
  } else {
    found.source = read_text_file(a.template_file);
    found.origin = a.template_file;
  }
  ChatTemplateOptions options;
  if (a.now >= 0) options.now = static_cast<std::time_t>(a.now);
  const ChatTemplate t = ChatTemplate::parse(found.source, found.origin);
  const std::string out = t.render(context, options);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace

void add_template(CLI::App& app, Runner& run) {
  auto args = std::make_shared<TemplateArgs>();
  auto* cmd = app.add_subcommand("template", "Render a chat template with a JSON context, as transformers would");
  auto* m = cmd->add_option("-m,--model", args->model, "Checkpoint (HF directory or .gguf) whose chat template to use");
  auto* t = cmd->add_option("--template", args->template_file, "A .jinja template file")->check(CLI::ExistingFile);
  m->excludes(t);
  t->excludes(m);
  cmd->add_option("--context", args->context_file,
                  "JSON object: messages, and optionally tools, add_generation_prompt, bos_token, eos_token, ...")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--now", args->now, "Unix time (UTC) that strftime_now() reports, for reproducible output");
  cmd->callback([&run, args] {
    if (args->model.empty() && args->template_file.empty())
      throw CLI::RequiredError("one of -m/--model or --template");
    run = [args] { return run_template(*args); };
  });
}

}  // namespace schwarm::cli

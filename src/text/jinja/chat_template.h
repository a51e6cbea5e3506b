#pragma once
// Chat templates: a jinja2 interpreter that renders exactly what Python jinja2 renders when set up
// as transformers sets it up (sandboxed, trim_blocks, lstrip_blocks, loopcontrols, its tojson,
// raise_exception and strftime_now), plus finding a checkpoint's template and special tokens.
#include <cstdint>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace schwarm {

namespace jinja {
struct Template;
}

struct ChatTemplateOptions {
  // strftime_now()'s clock, read as UTC; unset: the current local time (as transformers).
  std::optional<std::time_t> now;
  uint64_t max_steps = 5'000'000;  // evaluated nodes + loop iterations before "too expensive"
};

class ChatTemplate {
 public:
  // Throws schwarm::Error "NAME:LINE: problem" on a syntax error or an unsupported construct.
  static ChatTemplate parse(std::string source, std::string name);
  // `context` is one JSON object whose members become template variables (messages, tools,
  // add_generation_prompt, bos_token, ...). ordered_json, because object member order shows in
  // tojson output and Python keeps insertion order. Errors (raise_exception, undefined values
  // used in arithmetic, limits) throw schwarm::Error "NAME:LINE: message".
  std::string render(const nlohmann::ordered_json& context, const ChatTemplateOptions& options = {}) const;
  const std::string& name() const { return name_; }

 private:
  std::shared_ptr<const jinja::Template> tmpl_;
  std::string name_;
};

// A checkpoint's chat template and special tokens.
struct CheckpointChatTemplate {
  std::string source;
  std::string origin;  // file the template came from (for error messages)
  std::optional<std::string> bos_token, eos_token;
};

// PATH is a Hugging Face directory (tokenizer_config.json "chat_template", a string or the list
// form [{name, template}] where "default" is taken; else chat_template.jinja) or a .gguf file
// (tokenizer.chat_template; bos/eos from tokenizer.ggml.{bos,eos}_token_id). Throws FileError
// when there is no template.
CheckpointChatTemplate find_chat_template(const std::string& path);

// Adds bos_token / eos_token from the checkpoint where the context leaves them out.
void fill_special_tokens(nlohmann::ordered_json& context, const CheckpointChatTemplate& t);

}  // namespace schwarm

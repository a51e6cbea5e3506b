// libFuzzer target for the chat template engine: any input must parse and render, or throw
// schwarm::Error (syntax, unsupported construct, runtime error, limit), never crash or hang.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "schwarm/error.h"
#include "text/jinja/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nlohmann::ordered_json context = nlohmann::ordered_json::parse(R"({
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi <b>"},
                 {"role": "assistant", "content": "Hello", "reasoning_content": "greet",
                  "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]},
                 {"role": "tool", "content": "42"}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>", "n": 3, "x": 1.5})");
  try {
    const schwarm::ChatTemplate t =
        schwarm::ChatTemplate::parse(std::string(reinterpret_cast<const char*>(data), size), "fuzz.jinja");
    volatile size_t n = t.render(context, {0}).size();
    (void)n;
  } catch (const schwarm::Error&) {
  }
  return 0;
}

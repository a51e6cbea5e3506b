// generate MODEL PROMPT [MAX_TOKENS]: the prompt as a user message in the model's chat template
// (plain text when it has none), then the greedy reply streamed to stdout as it comes.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <vector>

#include "schwarm/schwarm.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL PROMPT [MAX_TOKENS]\n", argv[0]);
    return 2;
  }
  try {
    const schwarm::Llm llm = schwarm::Llm::load(argv[1]);
    schwarm::Session session(llm);
    if (llm.has_chat_template()) {
      const std::vector<schwarm::ChatMessage> messages = {{"user", argv[2]}};
      session.append(llm.tokenize_chat(messages));
    } else {
      session.append(llm.tokenize(argv[2]));
    }
    schwarm::GenerateOptions options;
    options.max_tokens = argc > 3 ? std::atoll(argv[3]) : 64;
    options.on_token = [](int32_t, std::string_view text) {
      std::cout << text << std::flush;
      return true;
    };
    const schwarm::GenerateResult r = session.generate(options);
    std::cout << "\n";
    std::fprintf(stderr, "%lld tokens (%s), %.1f tokens/s\n", static_cast<long long>(r.generated_tokens),
                 schwarm::finish_reason_name(r.finish_reason), r.timings.decode_tokens_per_s());
  } catch (const schwarm::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}

// Stepper: the engine loop pieces shared by Session and Batch.
#include "api/generation.h"

#include <mutex>

#include "runtime/sampler.h"
#include "schwarm/error.h"

namespace schwarm {

Stepper::Stepper(Llm::Impl& llm, EngineOptions options) : llm_(llm), engine_(*llm.model, *llm.backend, options) {
  if (llm_.tokenizer) engine_.set_tokenizer(&*llm_.tokenizer);
}

RequestOptions Stepper::request_options(const GenerateOptions& g, bool keep) {
  if (g.max_tokens < 0) throw Error("generate: max_tokens must be >= 0, got " + std::to_string(g.max_tokens));
  validate(g.sampling);
  if (!g.stop_strings.empty() && !llm_.tokenizer)
    throw Error("generate: stop strings need a tokenizer and " + llm_.path + " has none");
  RequestOptions ro;
  ro.sampling = g.sampling;
  ro.stop_ids = g.stop_ids;
  ro.stop_strings = g.stop_strings;
  ro.keep = keep;
  ro.on_token = [this](const StreamEvent& e) { pieces_.push_back({e.request, e.token, std::string(e.text)}); };
  return ro;
}

bool Stepper::step(double* ms) {
  const auto t0 = std::chrono::steady_clock::now();
  bool ran = false;
  {
    std::lock_guard lock(llm_.compute);
    ran = engine_.step();
  }
  *ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return ran;
}

std::vector<StreamedPiece> Stepper::take_pieces() { return std::exchange(pieces_, {}); }

GenerateResult Stepper::result_of(int64_t request) const {
  GenerateResult r;
  r.tokens = engine_.output(request);
  r.text = engine_.text(request);
  r.finish_reason = engine_.finish_reason(request);
  r.generated_tokens = static_cast<int64_t>(r.tokens.size());
  return r;
}

}  // namespace schwarm

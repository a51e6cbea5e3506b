#pragma once
// What Session and Batch share: GenerateOptions turned into the engine's RequestOptions, one engine
// step under the model's lock with its time, streamed pieces handed to the user's callbacks after
// the lock is released, and a GenerateResult read back from the engine.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "api/llm_impl.h"
#include "runtime/engine.h"

namespace schwarm {

struct StreamedPiece {
  int64_t request = -1;
  int32_t token = -1;
  std::string text;
};

class Stepper {
 public:
  Stepper(Llm::Impl& llm, EngineOptions options);

  Engine& engine() { return engine_; }
  Llm::Impl& llm() { return llm_; }
  // Validates g (sampling, stop strings, max_tokens) and builds the engine's options; streamed
  // pieces are collected for take_pieces(), whatever g.on_token is.
  RequestOptions request_options(const GenerateOptions& g, bool keep);
  // One Engine::step() under the model's lock. false when nothing ran; *ms: its wall time.
  bool step(double* ms);
  // The pieces streamed by the last step, in order.
  std::vector<StreamedPiece> take_pieces();
  // text, tokens, finish reason and generated count of an engine request.
  GenerateResult result_of(int64_t request) const;

 private:
  Llm::Impl& llm_;
  Engine engine_;
  std::vector<StreamedPiece> pieces_;
};

// True when the flag is set.
inline bool flag_set(const std::atomic<bool>* flag) { return flag && flag->load(std::memory_order_relaxed); }

}  // namespace schwarm

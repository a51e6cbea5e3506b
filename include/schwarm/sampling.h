#pragma once
// Sampling options and finish reasons: plain data shared by the public API (schwarm.hpp) and the
// runtime (runtime/sampler.h, runtime/engine.h), so both speak of the same struct.
//
// The sampling chain is llama.cpp's default order: repetition penalty -> top_k -> top_p -> min_p
// -> temperature -> draw. Temperature 0 is greedy (the argmax after the penalty; nothing else runs).
// The draw uses a std::mt19937_64 seeded with `seed`, one per request, so the same seed and prompt
// give the same tokens on every platform and whatever else shares a batch.
#include <cstdint>

namespace schwarm {

struct SamplingOptions {
  float temperature = 0.0f;         // >= 0; 0 = greedy
  int32_t top_k = 0;                // >= 0; 0 = off
  float top_p = 1.0f;               // (0, 1]; 1 = off
  float min_p = 0.0f;               // [0, 1]; 0 = off
  float repetition_penalty = 1.0f;  // > 0; 1 = off (llama.cpp's --repeat-penalty)
  int32_t repetition_window = 0;    // >= 0; ids looked back for the penalty, 0 = whole sequence
                                    // (llama.cpp's --repeat-last-n)
  uint64_t seed = 0;
};

// Why a generation ended.
enum class FinishReason {
  None,         // still running
  MaxTokens,    // the token budget was used up ("length")
  StopId,       // a stop id was sampled: end of generation (eos, eot, ...) by default ("eos")
  StopString,   // a stop string appeared in the text ("stop")
  Cancelled,    // the stop flag was set or the streaming callback returned false
  ContextFull,  // the session's context (KV cache positions) is full
};

// "none", "max_tokens", "stop_id", "stop_string", "cancelled", "context_full".
const char* finish_reason_name(FinishReason r);

}  // namespace schwarm

#pragma once
// The generation loop: requests (a prompt of token ids and a token budget) are prefilled, then
// decoded one token per step; every unfinished request goes into the same forward batch
// (a BatchLayout over the paged KV cache), so prefill and decode of different requests mix.
// Token choice: each request has its own TokenSampler (runtime/sampler.h; greedy by default,
// RequestOptions::sampling), unless a Sampler hook set with set_sampler overrides it for all.
//
// Stopping: a request ends at its token budget, at a stop id (RequestOptions::stop_ids, else
// EngineOptions::stop_ids, else the tokenizer's end-of-generation ids), or at a stop string.
// Stop strings are matched on the detokenized text (a tokenizer must be set), also when they span
// several tokens: text that could still be the start of a stop string is held back until it is
// decided, the text before the stop string is kept and the stop string itself is never emitted.
// output() keeps every sampled id (the stop id, or the token that completed a stop string, too);
// text() is the emitted text (no stop string, no end-of-generation token).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backend/backend.h"
#include "model/model.h"
#include "runtime/kv_cache.h"
#include "runtime/sampler.h"
#include "text/tokenizer.h"

namespace schwarm {

// Picks the next token of `request` from its logits[vocab]; overrides the per-request samplers.
using Sampler = std::function<int32_t(std::span<const float> logits, int64_t request)>;

// Index of the largest logit, the first one on ties (as torch.argmax).
int32_t argmax_token(std::span<const float> logits);

struct EngineOptions {
  int64_t cache_tokens = 4096;  // KV cache capacity over all live requests, in token positions
  int64_t page_tokens = 16;
  std::vector<int32_t> stop_ids;  // a sampled stop id ends its request (and is kept in the output)
};

enum class FinishReason { None /* still running */, MaxTokens, StopId, StopString };
const char* finish_reason_name(FinishReason r);

// One event per sampled token of a request, in order. `text` is the newly final text (complete
// UTF-8, possibly empty: held back as part of a character or a possible stop string); on the last
// event (`finished`) it includes everything still held back, up to a stop string.
struct StreamEvent {
  int64_t request = -1;
  int32_t token = -1;
  std::string_view text;
  bool finished = false;
  FinishReason reason = FinishReason::None;
};
using StreamFn = std::function<void(const StreamEvent&)>;

struct RequestOptions {
  SamplingOptions sampling;                     // greedy by default
  std::optional<std::vector<int32_t>> stop_ids;  // unset: EngineOptions::stop_ids or the tokenizer's
  std::vector<std::string> stop_strings;        // need a tokenizer (Engine::set_tokenizer)
  StreamFn on_token;                            // called from step(); must not call submit()
};

class Engine {
 public:
  Engine(Model& model, Backend& backend, EngineOptions options = {});

  void set_sampler(Sampler sampler) { sampler_ = std::move(sampler); }
  // Enables text (stop strings, StreamEvent::text, text()) for requests submitted afterwards; its
  // end-of-generation ids become the default stop ids when EngineOptions::stop_ids is empty.
  // The tokenizer must outlive the engine.
  void set_tokenizer(const Tokenizer* tokenizer);

  // Queues a request; returns its id. Throws Error for an empty prompt, an id outside the vocab,
  // invalid sampling options, or stop strings without a tokenizer (or empty ones).
  int64_t submit(std::vector<int32_t> prompt, int64_t max_new_tokens, RequestOptions options = {});
  // One forward batch over every unfinished request. false when there was nothing to run.
  bool step();
  void run();  // step() until every request is finished

  bool finished(int64_t request) const;
  const std::vector<int32_t>& output(int64_t request) const;  // generated ids (prompt excluded)
  const std::vector<int32_t>& prompt(int64_t request) const;
  const std::string& text(int64_t request) const;  // emitted text so far ("" without a tokenizer)
  FinishReason finish_reason(int64_t request) const;
  const KvCache& cache() const { return *cache_; }

 private:
  struct Request {
    std::vector<int32_t> prompt;
    std::vector<int32_t> out;
    int64_t max_new = 0;
    int32_t seq = -1;
    bool prefilled = false;
    bool done = false;
    FinishReason reason = FinishReason::None;
    TokenSampler sampler;
    std::vector<int32_t> stop_ids;
    std::vector<std::string> stop_strings;
    StreamFn on_token;
    std::optional<StreamingDetokenizer> detok;
    std::string text;  // emitted
    std::string held;  // decoded, not yet emitted (could start a stop string)
  };
  const Request& req(int64_t id) const;
  // Adds the sampled token t to r (text, stop checks, streaming); true when r is finished.
  void accept(int64_t id, int32_t t);

  Model& model_;
  Backend& backend_;
  EngineOptions opt_;
  std::unique_ptr<KvCache> cache_;
  Sampler sampler_;  // empty: each request's TokenSampler
  const Tokenizer* tokenizer_ = nullptr;
  std::vector<int32_t> eog_ids_;  // the tokenizer's end-of-generation ids
  std::vector<Request> requests_;
};

}  // namespace schwarm

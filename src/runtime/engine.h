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
//
// Kept sequences (a conversation, api/session): a request submitted with RequestOptions::keep keeps
// its KV cache when it finishes, and extend() continues it with more tokens as a new request that
// evaluates only the positions not cached yet (the last sampled token and the new ones). A kept
// request with max_new_tokens 0 is a prefill: its prompt is evaluated, the last position's logits
// are stored, and an extend() without new tokens samples its first token from them.
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

// FinishReason and finish_reason_name: schwarm/sampling.h (public).

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
  bool keep = false;  // keep the KV sequence when finished, for extend(); release() frees it
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
  // Continues the finished, kept request `from`: a new request whose prompt is from's prompt and
  // output followed by `tokens`; positions already in from's KV sequence are not evaluated again.
  // The sequence moves to the new request (from no longer holds one). Throws Error when from is
  // unfinished or holds no sequence, or for the same reasons as submit().
  int64_t extend(int64_t from, std::span<const int32_t> tokens, int64_t max_new_tokens, RequestOptions options = {});
  // Frees the KV sequence a finished, kept request holds (no-op when it holds none).
  void release(int64_t request);
  // Finishes an unfinished request now (FinishReason::Cancelled): held-back text is emitted into
  // text(), no event is sent. Its sequence is freed unless the request is kept.
  void cancel(int64_t request);
  // One forward batch over every unfinished request. false when there was nothing to run.
  bool step();
  void run();  // step() until every request is finished

  bool finished(int64_t request) const;
  const std::vector<int32_t>& output(int64_t request) const;  // generated ids (prompt excluded)
  const std::vector<int32_t>& prompt(int64_t request) const;
  const std::string& text(int64_t request) const;  // emitted text so far ("" without a tokenizer)
  FinishReason finish_reason(int64_t request) const;
  // Positions of the request's prompt + output held in its KV sequence (0 once it is freed).
  int64_t cached(int64_t request) const;
  const KvCache& cache() const { return *cache_; }

 private:
  struct Request {
    std::vector<int32_t> prompt;
    std::vector<int32_t> out;
    int64_t max_new = 0;
    int32_t seq = -1;
    int64_t cached = 0;         // positions of prompt + out in the KV sequence
    std::vector<float> logits;  // a kept prefill's last logits[vocab] (extend samples from them)
    bool keep = false;
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
  const Request& req(int64_t id) const;  // throws Error for an unknown id
  Request& mut(int64_t id);
  // Adds the sampled token t to r (text, stop checks, streaming); true when r is finished.
  void accept(int64_t id, int32_t t);
  void check_prompt(std::span<const int32_t> prompt, const RequestOptions& options) const;
  void finish(Request& r, FinishReason reason);  // marks r done, frees its sequence unless kept

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

#pragma once
// The generation loop: requests (a prompt of token ids and a token budget) are prefilled, then
// decoded one token per step; every unfinished request goes into the same forward batch
// (a BatchLayout over the paged KV cache), so prefill and decode of different requests mix.
// Token choice goes through a Sampler hook; greedy (argmax) is the default.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "model/model.h"
#include "runtime/kv_cache.h"

namespace schwarm {

// Picks the next token of `request` from its logits[vocab]. runtime/sampler will provide more.
using Sampler = std::function<int32_t(std::span<const float> logits, int64_t request)>;

// Index of the largest logit, the first one on ties (as torch.argmax).
int32_t argmax_token(std::span<const float> logits);

struct EngineOptions {
  int64_t cache_tokens = 4096;  // KV cache capacity over all live requests, in token positions
  int64_t page_tokens = 16;
  std::vector<int32_t> stop_ids;  // a sampled stop id ends its request (and is kept in the output)
};

class Engine {
 public:
  Engine(Model& model, Backend& backend, EngineOptions options = {});

  void set_sampler(Sampler sampler) { sampler_ = std::move(sampler); }

  // Queues a request; returns its id. Throws Error for an empty prompt or an id outside the vocab.
  int64_t submit(std::vector<int32_t> prompt, int64_t max_new_tokens);
  // One forward batch over every unfinished request. false when there was nothing to run.
  bool step();
  void run();  // step() until every request is finished

  bool finished(int64_t request) const;
  const std::vector<int32_t>& output(int64_t request) const;  // generated ids (prompt excluded)
  const KvCache& cache() const { return *cache_; }

 private:
  struct Request {
    std::vector<int32_t> prompt;
    std::vector<int32_t> out;
    int64_t max_new = 0;
    int32_t seq = -1;
    bool prefilled = false;
    bool done = false;
  };
  const Request& req(int64_t id) const;

  Model& model_;
  Backend& backend_;
  EngineOptions opt_;
  std::unique_ptr<KvCache> cache_;
  Sampler sampler_;
  std::vector<Request> requests_;
};

}  // namespace schwarm

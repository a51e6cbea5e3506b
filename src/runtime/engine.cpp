// Generation loop over the paged cache: mixed prefill/decode batches, greedy by default.
#include "runtime/engine.h"

#include <algorithm>
#include <string>

#include "schwarm/error.h"

namespace schwarm {

int32_t argmax_token(std::span<const float> logits) {
  if (logits.empty()) throw Error("argmax of empty logits");
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

Engine::Engine(Model& model, Backend& backend, EngineOptions options)
    : model_(model), backend_(backend), opt_(std::move(options)) {
  if (opt_.page_tokens < 1 || opt_.cache_tokens < 1)
    throw Error("engine: cache_tokens and page_tokens must be >= 1");
  const int64_t pages = (opt_.cache_tokens + opt_.page_tokens - 1) / opt_.page_tokens;
  cache_ = std::make_unique<KvCache>(model_.kv_layout(), pages, opt_.page_tokens);
  sampler_ = [](std::span<const float> logits, int64_t) { return argmax_token(logits); };
}

int64_t Engine::submit(std::vector<int32_t> prompt, int64_t max_new_tokens) {
  if (prompt.empty()) throw Error("engine: empty prompt");
  const int64_t V = model_.config().vocab_size;
  for (size_t i = 0; i < prompt.size(); ++i)
    if (prompt[i] < 0 || prompt[i] >= V)
      throw Error("token id " + std::to_string(prompt[i]) + " (prompt index " + std::to_string(i) +
                  ") is out of the vocabulary range [0, " + std::to_string(V) + ")");
  Request r;
  r.prompt = std::move(prompt);
  r.max_new = std::max<int64_t>(0, max_new_tokens);
  r.done = r.max_new == 0;
  requests_.push_back(std::move(r));
  return static_cast<int64_t>(requests_.size() - 1);
}

bool Engine::step() {
  std::vector<int32_t> tokens, seq, pos;
  std::vector<int64_t> in_batch;  // request ids, in batch order
  for (size_t id = 0; id < requests_.size(); ++id) {
    Request& r = requests_[id];
    if (r.done) continue;
    if (r.seq < 0) r.seq = cache_->add_sequence();
    const int64_t start = r.prefilled ? static_cast<int64_t>(r.prompt.size() + r.out.size()) - 1 : 0;
    const int64_t end = static_cast<int64_t>(r.prompt.size() + r.out.size());  // exclusive
    cache_->reserve(r.seq, end);
    for (int64_t p = start; p < end; ++p) {
      tokens.push_back(p < static_cast<int64_t>(r.prompt.size()) ? r.prompt[static_cast<size_t>(p)]
                                                                  : r.out[static_cast<size_t>(p) - r.prompt.size()]);
      seq.push_back(r.seq);
      pos.push_back(static_cast<int32_t>(p));
    }
    in_batch.push_back(static_cast<int64_t>(id));
  }
  if (in_batch.empty()) return false;
  BatchLayout b;
  b.n_tokens = static_cast<int64_t>(tokens.size());
  b.seq = seq;
  b.pos = pos;
  b.page_table = cache_->page_tables();
  b.page_tokens = cache_->page_tokens();
  ForwardOptions fo;
  fo.last_token_only = true;
  const std::vector<float> logits = model_.forward(b, tokens, cache_->layers(), backend_, fo);
  const int64_t V = model_.config().vocab_size;
  for (size_t i = 0; i < in_batch.size(); ++i) {
    Request& r = requests_[static_cast<size_t>(in_batch[i])];
    r.prefilled = true;
    const int32_t t = sampler_(std::span<const float>(logits).subspan(i * static_cast<size_t>(V), static_cast<size_t>(V)),
                               in_batch[i]);
    r.out.push_back(t);
    const bool stop = std::find(opt_.stop_ids.begin(), opt_.stop_ids.end(), t) != opt_.stop_ids.end();
    if (stop || static_cast<int64_t>(r.out.size()) >= r.max_new) {
      r.done = true;
      cache_->free_sequence(r.seq);
      r.seq = -1;
    }
  }
  return true;
}

void Engine::run() {
  while (step()) {
  }
}

const Engine::Request& Engine::req(int64_t id) const {
  if (id < 0 || id >= static_cast<int64_t>(requests_.size()))
    throw Error("engine: no request " + std::to_string(id));
  return requests_[static_cast<size_t>(id)];
}

bool Engine::finished(int64_t request) const { return req(request).done; }
const std::vector<int32_t>& Engine::output(int64_t request) const { return req(request).out; }

}  // namespace schwarm

// Generation loop over the paged cache: mixed prefill/decode batches, per-request sampling and
// stop conditions.
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
}

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::None: return "none";
    case FinishReason::MaxTokens: return "max_tokens";
    case FinishReason::StopId: return "stop_id";
    case FinishReason::StopString: return "stop_string";
    case FinishReason::Cancelled: return "cancelled";
    case FinishReason::ContextFull: return "context_full";
  }
  return "?";
}

void Engine::set_tokenizer(const Tokenizer* tokenizer) {
  tokenizer_ = tokenizer;
  eog_ids_.clear();
  if (!tokenizer_) return;
  for (int32_t id = 0; id < tokenizer_->n_vocab(); ++id)
    if (tokenizer_->is_end_of_generation(id)) eog_ids_.push_back(id);
}

void Engine::check_prompt(std::span<const int32_t> prompt, const RequestOptions& options) const {
  if (prompt.empty()) throw Error("engine: empty prompt");
  const int64_t V = model_.config().vocab_size;
  for (size_t i = 0; i < prompt.size(); ++i)
    if (prompt[i] < 0 || prompt[i] >= V)
      throw Error("token id " + std::to_string(prompt[i]) + " (prompt index " + std::to_string(i) +
                  ") is out of the vocabulary range [0, " + std::to_string(V) + ")");
  for (const std::string& stop : options.stop_strings)
    if (stop.empty()) throw Error("engine: empty stop string");
  if (!options.stop_strings.empty() && !tokenizer_)
    throw Error("engine: stop strings need a tokenizer (Engine::set_tokenizer)");
}

int64_t Engine::submit(std::vector<int32_t> prompt, int64_t max_new_tokens, RequestOptions options) {
  check_prompt(prompt, options);
  Request r;
  r.sampler = TokenSampler(options.sampling);
  r.prompt = std::move(prompt);
  r.max_new = std::max<int64_t>(0, max_new_tokens);
  r.keep = options.keep;
  // Without keep, a zero budget has nothing to do; with keep it is a prefill (see engine.h).
  r.done = r.max_new == 0 && !r.keep;
  if (r.done) r.reason = FinishReason::MaxTokens;
  r.stop_ids = options.stop_ids ? std::move(*options.stop_ids) : !opt_.stop_ids.empty() ? opt_.stop_ids : eog_ids_;
  r.stop_strings = std::move(options.stop_strings);
  r.on_token = std::move(options.on_token);
  if (tokenizer_) r.detok.emplace(*tokenizer_);
  requests_.push_back(std::move(r));
  return static_cast<int64_t>(requests_.size() - 1);
}

int64_t Engine::extend(int64_t from, std::span<const int32_t> tokens, int64_t max_new_tokens,
                       RequestOptions options) {
  const Request& f = req(from);
  if (!f.done || f.seq < 0) throw Error("engine: request " + std::to_string(from) + " is not a finished, kept request");
  std::vector<int32_t> prompt = f.prompt;
  prompt.insert(prompt.end(), f.out.begin(), f.out.end());
  prompt.insert(prompt.end(), tokens.begin(), tokens.end());
  check_prompt(prompt, options);
  if (max_new_tokens < 1 && !options.keep) throw Error("engine: extend needs max_new_tokens >= 1 or keep");
  const int64_t id = submit(std::move(prompt), max_new_tokens, std::move(options));
  Request& r = requests_[static_cast<size_t>(id)];
  Request& old = requests_[static_cast<size_t>(from)];
  r.seq = old.seq;
  r.cached = old.cached;
  if (tokens.empty()) r.logits = std::move(old.logits);
  old.seq = -1;
  old.cached = 0;
  old.logits.clear();
  return id;
}

void Engine::release(int64_t request) {
  Request& r = mut(request);
  if (!r.done) throw Error("engine: release of unfinished request " + std::to_string(request));
  if (r.seq >= 0) cache_->free_sequence(r.seq);
  r.seq = -1;
  r.cached = 0;
  r.logits.clear();
}

void Engine::cancel(int64_t request) {
  Request& r = mut(request);
  if (r.done) return;
  if (r.detok) r.held += r.detok->flush();
  r.text += r.held;
  r.held.clear();
  finish(r, FinishReason::Cancelled);
}

void Engine::finish(Request& r, FinishReason reason) {
  r.done = true;
  r.reason = reason;
  if (r.keep) return;
  if (r.seq >= 0) cache_->free_sequence(r.seq);
  r.seq = -1;
  r.cached = 0;
}

bool Engine::step() {
  std::vector<int32_t> tokens, seq, pos;
  std::vector<int64_t> in_batch;  // request ids, in batch order
  std::vector<int64_t> from_logits;  // extended prefills: sampled from their stored logits
  for (size_t id = 0; id < requests_.size(); ++id) {
    Request& r = requests_[id];
    if (r.done) continue;
    const int64_t end = static_cast<int64_t>(r.prompt.size() + r.out.size());  // exclusive
    if (r.cached == end && !r.logits.empty()) {
      from_logits.push_back(static_cast<int64_t>(id));
      continue;
    }
    if (r.seq < 0) r.seq = cache_->add_sequence();
    cache_->reserve(r.seq, end);
    for (int64_t p = r.cached; p < end; ++p) {
      tokens.push_back(p < static_cast<int64_t>(r.prompt.size()) ? r.prompt[static_cast<size_t>(p)]
                                                                  : r.out[static_cast<size_t>(p) - r.prompt.size()]);
      seq.push_back(r.seq);
      pos.push_back(static_cast<int32_t>(p));
    }
    in_batch.push_back(static_cast<int64_t>(id));
  }
  if (in_batch.empty() && from_logits.empty()) return false;
  std::vector<float> logits;
  if (!in_batch.empty()) {
    BatchLayout b;
    b.n_tokens = static_cast<int64_t>(tokens.size());
    b.seq = seq;
    b.pos = pos;
    b.page_table = cache_->page_tables();
    b.page_tokens = cache_->page_tokens();
    ForwardOptions fo;
    fo.last_token_only = true;
    logits = model_.forward(b, tokens, cache_->layers(), backend_, fo);
  }
  const size_t V = static_cast<size_t>(model_.config().vocab_size);
  for (size_t i = 0; i < in_batch.size(); ++i) {
    Request& r = requests_[static_cast<size_t>(in_batch[i])];
    r.cached = static_cast<int64_t>(r.prompt.size() + r.out.size());
    const auto row = std::span<const float>(logits).subspan(i * V, V);
    if (r.max_new == 0) {  // a kept prefill: keep the logits for extend()
      r.logits.assign(row.begin(), row.end());
      finish(r, FinishReason::MaxTokens);
      continue;
    }
    accept(in_batch[i], sampler_ ? sampler_(row, in_batch[i]) : r.sampler.sample(row, r.prompt, r.out));
  }
  for (int64_t id : from_logits) {
    Request& r = requests_[static_cast<size_t>(id)];
    const std::vector<float> row = std::move(r.logits);
    r.logits.clear();
    accept(id, sampler_ ? sampler_(row, id) : r.sampler.sample(row, r.prompt, r.out));
  }
  return true;
}

void Engine::accept(int64_t id, int32_t t) {
  Request& r = requests_[static_cast<size_t>(id)];
  r.out.push_back(t);
  const size_t emitted_before = r.text.size();
  FinishReason reason = FinishReason::None;
  if (std::find(r.stop_ids.begin(), r.stop_ids.end(), t) != r.stop_ids.end())
    reason = FinishReason::StopId;  // its text is not emitted
  else if (r.detok)
    r.held += r.detok->push(t);
  if (reason == FinishReason::None && static_cast<int64_t>(r.out.size()) >= r.max_new) reason = FinishReason::MaxTokens;
  if (r.detok) {
    if (reason != FinishReason::None) r.held += r.detok->flush();
    size_t cut = std::string::npos;
    for (const std::string& s : r.stop_strings) cut = std::min(cut, r.held.find(s));
    if (cut != std::string::npos) {
      r.text.append(r.held, 0, cut);
      r.held.clear();
      reason = FinishReason::StopString;
    } else if (reason != FinishReason::None) {
      r.text += r.held;
      r.held.clear();
    } else {
      // Hold back the longest suffix that is a proper prefix of a stop string: only there can a
      // stop string still begin. Stop strings are valid UTF-8, so the cut is a character boundary.
      size_t keep = 0;
      for (const std::string& s : r.stop_strings)
        for (size_t len = std::min(s.size() - 1, r.held.size()); len > keep; --len)
          if (r.held.compare(r.held.size() - len, len, s, 0, len) == 0) {
            keep = len;
            break;
          }
      r.text.append(r.held, 0, r.held.size() - keep);
      r.held.erase(0, r.held.size() - keep);
    }
  }
  if (reason != FinishReason::None) finish(r, reason);
  if (r.on_token) {
    StreamEvent e;
    e.request = id;
    e.token = t;
    e.text = std::string_view(r.text).substr(emitted_before);
    e.finished = r.done;
    e.reason = r.reason;
    r.on_token(e);
  }
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

Engine::Request& Engine::mut(int64_t id) { return const_cast<Request&>(req(id)); }

bool Engine::finished(int64_t request) const { return req(request).done; }
const std::vector<int32_t>& Engine::output(int64_t request) const { return req(request).out; }
const std::vector<int32_t>& Engine::prompt(int64_t request) const { return req(request).prompt; }
const std::string& Engine::text(int64_t request) const { return req(request).text; }
FinishReason Engine::finish_reason(int64_t request) const { return req(request).reason; }
int64_t Engine::cached(int64_t request) const { return req(request).cached; }

}  // namespace schwarm

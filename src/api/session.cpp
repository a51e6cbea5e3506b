// schwarm::Session: one conversation over a kept engine sequence (Engine::extend), so each turn
// evaluates only what the KV cache does not hold yet.
#include <utility>

#include "api/generation.h"
#include "api/session_file.h"
#include "schwarm/error.h"

namespace schwarm {

struct Session::Impl {
  std::shared_ptr<Llm::Impl> llm;
  Stepper stepper;
  std::vector<int32_t> history;  // appended + generated
  std::vector<int32_t> pending;  // the tail of history not handed to the engine yet
  int64_t last = -1;             // the engine request holding the kept sequence (-1: none)

  Impl(std::shared_ptr<Llm::Impl> m, EngineOptions eo) : llm(std::move(m)), stepper(*llm, eo) {}

  int64_t ctx() const { return llm->context_length; }
  // A new engine request for the history with this budget: submit() the first time (or after
  // load/reset), else extend() the kept one with the pending tokens.
  int64_t start(int64_t max_new, RequestOptions ro) {
    Engine& e = stepper.engine();
    const int64_t id = last < 0 ? e.submit(history, max_new, std::move(ro)) : e.extend(last, pending, max_new, std::move(ro));
    last = id;
    pending.clear();
    return id;
  }
  // After a failure inside a step: the engine's request state is unknown, so drop its sequence;
  // the next call evaluates the whole history again.
  void abandon(int64_t id) {
    Engine& e = stepper.engine();
    e.cancel(id);
    e.release(id);
    last = -1;
  }
};

Session::Session(const Llm& llm) {
  EngineOptions eo;
  eo.cache_tokens = llm.context_length();
  impl_ = std::make_unique<Impl>(llm.impl(), eo);
}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

void Session::append(std::span<const int32_t> tokens) {
  const int64_t V = impl_->llm->model->config().vocab_size;
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || tokens[i] >= V)
      throw Error("session: token id " + std::to_string(tokens[i]) + " (index " + std::to_string(i) +
                  ") is out of the vocabulary range [0, " + std::to_string(V) + ")");
  const int64_t n = static_cast<int64_t>(impl_->history.size() + tokens.size());
  if (n > impl_->ctx())
    throw Error("session: the conversation would have " + std::to_string(n) + " tokens and the context holds " +
                std::to_string(impl_->ctx()) + " (LoadOptions::context_size)");
  impl_->history.insert(impl_->history.end(), tokens.begin(), tokens.end());
  impl_->pending.insert(impl_->pending.end(), tokens.begin(), tokens.end());
}

void Session::append_text(std::string_view text, bool add_special) {
  append(impl_->llm->need_tokenizer("session").encode(text, add_special, true));
}

Timings Session::prefill() {
  Timings t;
  Impl& s = *impl_;
  if (s.history.empty() || (s.last >= 0 && s.pending.empty())) return t;
  RequestOptions ro;
  ro.keep = true;
  const int64_t id = s.start(0, std::move(ro));
  const int64_t cached_before = s.stepper.engine().cached(id);
  try {
    s.stepper.step(&t.prefill_ms);
  } catch (...) {
    s.abandon(id);
    throw;
  }
  t.prefill_tokens = static_cast<int64_t>(s.history.size()) - cached_before;
  return t;
}

GenerateResult Session::generate(const GenerateOptions& options) {
  Impl& s = *impl_;
  const int64_t n = static_cast<int64_t>(s.history.size());
  if (n == 0) throw Error("session: nothing to continue (append a prompt first)");
  if (n >= s.ctx())
    throw Error("session: the conversation has " + std::to_string(n) + " tokens and fills the context of " +
                std::to_string(s.ctx()) + " (LoadOptions::context_size)");
  const int64_t budget = std::min(options.max_tokens, s.ctx() - n);
  RequestOptions ro = s.stepper.request_options(options, true);
  if (options.max_tokens == 0) {  // nothing to generate; evaluate nothing either
    GenerateResult r;
    r.finish_reason = FinishReason::MaxTokens;
    return r;
  }
  Engine& e = s.stepper.engine();
  const int64_t id = s.start(budget, std::move(ro));
  const int64_t cached_before = e.cached(id);
  Timings t;
  size_t streamed = 0;  // bytes of text handed to on_token
  bool first = true;
  try {
    while (!e.finished(id)) {
      if (flag_set(options.stop_flag)) {
        e.cancel(id);
        break;
      }
      double ms = 0;
      s.stepper.step(&ms);
      (first ? t.prefill_ms : t.decode_ms) += ms;
      if (!first) ++t.decode_tokens;
      first = false;
      for (const StreamedPiece& p : s.stepper.take_pieces()) {
        streamed += p.text.size();
        if (options.on_token && !options.on_token(p.token, p.text)) e.cancel(id);
      }
    }
    // A cancel emits text that was held back (a possible stop string): stream it too, so the
    // pieces always add up to the text.
    const std::string& text = e.text(id);
    if (options.on_token && text.size() > streamed && !e.output(id).empty())
      options.on_token(e.output(id).back(), std::string_view(text).substr(streamed));
  } catch (...) {
    if (!e.finished(id)) s.abandon(id);
    const std::vector<int32_t>& out = e.output(id);
    s.history.insert(s.history.end(), out.begin(), out.end());
    throw;
  }
  GenerateResult r = s.stepper.result_of(id);
  if (r.finish_reason == FinishReason::MaxTokens && budget < options.max_tokens) r.finish_reason = FinishReason::ContextFull;
  r.cached_tokens = cached_before;
  r.prompt_tokens = n - cached_before;
  t.prefill_tokens = r.prompt_tokens;
  r.timings = t;
  s.history.insert(s.history.end(), r.tokens.begin(), r.tokens.end());
  return r;
}

std::optional<GenerateResult> Session::try_generate(const GenerateOptions& options, std::string* error) noexcept {
  try {
    return generate(options);
  } catch (const std::exception& e) {
    if (error) *error = e.what();
  } catch (...) {
    if (error) *error = "generate: unknown error";
  }
  return std::nullopt;
}

void Session::reset() {
  Impl& s = *impl_;
  if (s.last >= 0) s.stepper.engine().release(s.last);
  s.last = -1;
  s.history.clear();
  s.pending.clear();
}

const std::vector<int32_t>& Session::tokens() const { return impl_->history; }
int64_t Session::n_cached() const { return impl_->last < 0 ? 0 : impl_->stepper.engine().cached(impl_->last); }
int64_t Session::context_length() const { return impl_->ctx(); }

void Session::save(const std::string& path) const {
  const ModelConfig& c = impl_->llm->model->config();
  write_session_file(path, c.architecture, c.vocab_size, impl_->history);
}

void Session::load(const std::string& path) {
  const ModelConfig& c = impl_->llm->model->config();
  std::vector<int32_t> ids = read_session_file(path, c.architecture, c.vocab_size);
  if (static_cast<int64_t>(ids.size()) > impl_->ctx())
    throw FileError(path, "the saved conversation has " + std::to_string(ids.size()) +
                              " tokens and the context holds " + std::to_string(impl_->ctx()));
  reset();
  append(ids);
}

}  // namespace schwarm

// schwarm::Batch: continuous batching over one Engine. Up to max_parallel requests run at once;
// each step admits waiting requests into the free places, so prefills of new requests and decode
// tokens of running ones share a forward pass.
#include <deque>
#include <unordered_map>

#include "api/generation.h"
#include "schwarm/error.h"

namespace schwarm {

struct Batch::Impl {
  std::shared_ptr<Llm::Impl> llm;
  BatchOptions options;
  std::unique_ptr<Stepper> stepper;  // made on the first run (it holds the KV cache)
  std::vector<BatchRequest> queued;

  struct Running {
    int64_t index;
    int64_t engine_id;
    int64_t budget;
    bool first = true;
    Timings timings;
  };
};

Batch::Batch(const Llm& llm, BatchOptions options) : impl_(std::make_unique<Impl>()) {
  if (options.max_parallel < 1)
    throw Error("batch: max_parallel must be >= 1, got " + std::to_string(options.max_parallel));
  impl_->llm = llm.impl();
  impl_->options = options;
}
Batch::Batch(Batch&&) noexcept = default;
Batch& Batch::operator=(Batch&&) noexcept = default;
Batch::~Batch() = default;

int64_t Batch::add(BatchRequest request) {
  const GenerateOptions& g = request.options;
  if (g.max_tokens < 0) throw Error("batch: max_tokens must be >= 0, got " + std::to_string(g.max_tokens));
  validate(g.sampling);
  if (!g.stop_strings.empty() && !impl_->llm->tokenizer)
    throw Error("batch: stop strings need a tokenizer and " + impl_->llm->path + " has none");
  impl_->queued.push_back(std::move(request));
  return static_cast<int64_t>(impl_->queued.size() - 1);
}

std::vector<BatchResult> Batch::run(const std::function<void(const BatchResult&)>& on_done,
                                    const std::atomic<bool>* stop_flag) {
  Impl& b = *impl_;
  const int64_t ctx = b.llm->context_length;
  if (!b.stepper) {
    EngineOptions eo;
    eo.cache_tokens = b.options.max_parallel * ctx;
    b.stepper = std::make_unique<Stepper>(*b.llm, eo);
  }
  Stepper& st = *b.stepper;
  Engine& e = st.engine();
  std::vector<BatchRequest> requests = std::exchange(b.queued, {});
  std::vector<BatchResult> results(requests.size());
  std::deque<int64_t> waiting;
  for (size_t i = 0; i < requests.size(); ++i) {
    results[i].index = static_cast<int64_t>(i);
    waiting.push_back(static_cast<int64_t>(i));
  }
  std::vector<Impl::Running> running;
  std::unordered_map<int64_t, size_t> by_engine_id;  // engine request -> index

  auto done = [&](BatchResult& r) {
    if (on_done) on_done(r);
  };
  auto fail = [&](int64_t index, std::string message) {
    results[static_cast<size_t>(index)].error = std::move(message);
    done(results[static_cast<size_t>(index)]);
  };
  // Starts request i in the engine, or reports why it cannot run (on_done outside the try, so an
  // exception from it is not taken for the request's error).
  auto admit = [&](int64_t i) {
    const BatchRequest& q = requests[static_cast<size_t>(i)];
    std::string problem;
    try {
      std::vector<int32_t> prompt = q.prompt;
      if (prompt.empty() && !q.prompt_text.empty()) prompt = b.llm->need_tokenizer("batch").encode(q.prompt_text, true, true);
      const int64_t n = static_cast<int64_t>(prompt.size());
      if (n == 0) {
        problem = "the prompt is empty";
      } else if (n >= ctx) {
        problem = "the prompt has " + std::to_string(n) + " tokens and the context holds " + std::to_string(ctx) +
                  " (LoadOptions::context_size)";
      } else {
        const int64_t budget = std::min(q.options.max_tokens, ctx - n);
        const int64_t id = e.submit(std::move(prompt), budget, st.request_options(q.options, false));
        running.push_back({i, id, budget});
        by_engine_id[id] = static_cast<size_t>(i);
      }
    } catch (const std::exception& ex) {
      problem = ex.what();
    }
    if (!problem.empty()) fail(i, std::move(problem));
  };
  // Moves finished requests from `running` to their results.
  auto collect = [&] {
    for (size_t k = 0; k < running.size();) {
      Impl::Running& r = running[k];
      if (!e.finished(r.engine_id)) {
        ++k;
        continue;
      }
      BatchResult& out = results[static_cast<size_t>(r.index)];
      const GenerateOptions& g = requests[static_cast<size_t>(r.index)].options;
      out.result = st.result_of(r.engine_id);
      if (out.result.finish_reason == FinishReason::MaxTokens && r.budget < g.max_tokens)
        out.result.finish_reason = FinishReason::ContextFull;
      out.result.prompt_tokens = static_cast<int64_t>(e.prompt(r.engine_id).size());
      out.result.timings = r.timings;
      out.result.timings.prefill_tokens = out.result.prompt_tokens;
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(k));
      done(out);
    }
  };

  while (!waiting.empty() || !running.empty()) {
    if (flag_set(stop_flag)) {
      for (const Impl::Running& r : running) e.cancel(r.engine_id);
      collect();
      while (!waiting.empty()) {
        fail(waiting.front(), "cancelled");
        waiting.pop_front();
      }
      break;
    }
    while (static_cast<int64_t>(running.size()) < b.options.max_parallel && !waiting.empty()) {
      const int64_t i = waiting.front();
      waiting.pop_front();
      admit(i);
    }
    collect();  // max_tokens 0 finishes at submit
    if (running.empty()) continue;
    double ms = 0;
    try {
      st.step(&ms);
    } catch (...) {
      for (const Impl::Running& r : running) e.cancel(r.engine_id);
      throw;
    }
    for (Impl::Running& r : running) {
      (r.first ? r.timings.prefill_ms : r.timings.decode_ms) += ms;
      if (!r.first) ++r.timings.decode_tokens;
      r.first = false;
    }
    for (const StreamedPiece& p : st.take_pieces()) {
      const GenerateOptions& g = requests[by_engine_id.at(p.request)].options;
      if (g.on_token && !g.on_token(p.token, p.text)) e.cancel(p.request);
    }
    for (const Impl::Running& r : running)
      if (flag_set(requests[static_cast<size_t>(r.index)].options.stop_flag)) e.cancel(r.engine_id);
    collect();
  }
  return results;
}

}  // namespace schwarm

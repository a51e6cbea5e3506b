// Llm::evaluate (the logits of every position of a sequence) and perplexity() on top of it,
// with llama-perplexity's definition (see schwarm.hpp).
#include <algorithm>
#include <cmath>
#include <mutex>

#include "api/llm_impl.h"
#include "runtime/kv_cache.h"
#include "schwarm/error.h"

namespace schwarm {

std::vector<float> Llm::evaluate(std::span<const int32_t> tokens, const DumpFn& dump) const {
  const Impl& m = *impl_;
  const int64_t n = static_cast<int64_t>(tokens.size()), V = m.model->config().vocab_size;
  if (n == 0) throw Error("evaluate: no tokens");
  if (n > m.context_length)
    throw Error("evaluate: " + std::to_string(n) + " tokens do not fit the context of " +
                std::to_string(m.context_length) + " (LoadOptions::context_size)");
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || tokens[i] >= V)
      throw Error("evaluate: token id " + std::to_string(tokens[i]) + " (index " + std::to_string(i) +
                  ") is out of the vocabulary range [0, " + std::to_string(V) + ")");
  constexpr int64_t kPage = 16;
  KvCache cache(m.model->kv_layout(), (n + kPage - 1) / kPage, kPage);
  const int32_t s = cache.add_sequence();
  cache.reserve(s, n);
  std::vector<int32_t> seq(tokens.size(), s), pos(tokens.size());
  for (size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<int32_t>(i);
  BatchLayout b;
  b.n_tokens = n;
  b.seq = seq;
  b.pos = pos;
  b.page_table = cache.page_tables();
  b.page_tokens = cache.page_tokens();
  ForwardOptions fo;
  fo.dump = dump;
  std::lock_guard lock(impl_->compute);
  return m.model->forward(b, tokens, cache.layers(), *m.backend, fo);
}

bool Llm::adds_bos() const { return impl_->tokenizer && impl_->tokenizer->add_bos() && bos_id() >= 0; }

PerplexityResult perplexity(const Llm& llm, std::span<const int32_t> tokens, const PerplexityOptions& o) {
  const int64_t n_ctx = o.context, n = static_cast<int64_t>(tokens.size());
  if (n_ctx < 4 || n_ctx > llm.context_length())
    throw Error("perplexity: context " + std::to_string(n_ctx) + " is outside [4, " +
                std::to_string(llm.context_length()) + "] (the model's context)");
  if (n < 2 * n_ctx)
    throw Error("perplexity: " + std::to_string(n) + " tokens given; at least 2 x context = " +
                std::to_string(2 * n_ctx) + " are needed");
  int64_t chunks = n / n_ctx;
  if (o.max_chunks >= 0) chunks = std::min(chunks, o.max_chunks);
  const int64_t V = llm.vocab_size(), first = n_ctx / 2;
  double sum = 0, sum2 = 0;
  int64_t count = 0;
  std::vector<int32_t> chunk(static_cast<size_t>(n_ctx));
  for (int64_t c = 0; c < chunks; ++c) {
    std::copy_n(tokens.begin() + c * n_ctx, n_ctx, chunk.begin());
    if (llm.adds_bos()) chunk[0] = llm.bos_id();
    const std::vector<float> logits = llm.evaluate(chunk);
    for (int64_t j = first; j < n_ctx - 1; ++j) {
      const float* row = logits.data() + j * V;
      const float mx = *std::max_element(row, row + V);
      double z = 0;
      for (int64_t v = 0; v < V; ++v) z += std::exp(static_cast<double>(row[v]) - mx);
      // the target is the original token, also at a position whose input was replaced by BOS
      const double nll = std::log(z) + mx - row[tokens[static_cast<size_t>(c * n_ctx + j + 1)]];
      sum += nll;
      sum2 += nll * nll;
      ++count;
    }
    if (o.on_chunk) o.on_chunk(c, chunks, std::exp(sum / static_cast<double>(count)));
  }
  PerplexityResult r;
  r.chunks = chunks;
  r.scored_tokens = count;
  r.mean_nll = sum / static_cast<double>(count);
  r.perplexity = std::exp(r.mean_nll);
  const double var = sum2 / static_cast<double>(count) - r.mean_nll * r.mean_nll;
  r.perplexity_error = count > 1 ? r.perplexity * std::sqrt(std::max(var, 0.0) / static_cast<double>(count - 1)) : 0;
  return r;
}

}  // namespace schwarm

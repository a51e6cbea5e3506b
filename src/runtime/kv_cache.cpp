// Paged KV cache: page pools, per-sequence page tables.
#include "runtime/kv_cache.h"

#include <algorithm>
#include <string>

#include "model/model_config.h"
#include "schwarm/error.h"

namespace schwarm {

int64_t kv_bytes_per_token(std::span<const KvLayerSpec> layout) {
  int64_t b = 0;
  for (const KvLayerSpec& s : layout) b += (s.k_width + s.v_width) * static_cast<int64_t>(sizeof(float));
  return b;
}

int64_t kv_cache_bytes_per_token(const ModelConfig& config) { return kv_bytes_per_token(kv_layout_for(config)); }

KvCache::KvCache(std::vector<KvLayerSpec> layers, int64_t n_pages, int64_t page_tokens)
    : page_tokens_(page_tokens), n_pages_(n_pages), specs_(std::move(layers)) {
  if (n_pages < 1 || page_tokens < 1)
    throw Error("KV cache: n_pages (" + std::to_string(n_pages) + ") and page_tokens (" +
                std::to_string(page_tokens) + ") must be >= 1");
  const int64_t slots = n_pages * page_tokens;
  layers_.resize(specs_.size());
  views_.resize(specs_.size());
  for (size_t l = 0; l < specs_.size(); ++l) {
    const KvLayerSpec& s = specs_[l];
    if (s.k_width < 0 || s.v_width < 0) throw Error("KV cache: layer " + std::to_string(l) + " has a negative width");
    layers_[l].assign(static_cast<size_t>(slots * (s.k_width + s.v_width)), 0.0f);
    float* base = layers_[l].data();
    views_[l].k = std::span<float>(base, static_cast<size_t>(slots * s.k_width));
    views_[l].v = std::span<float>(base + slots * s.k_width, static_cast<size_t>(slots * s.v_width));
    views_[l].k_width = s.k_width;
    views_[l].v_width = s.v_width;
  }
  free_.reserve(static_cast<size_t>(n_pages));
  for (int64_t p = n_pages - 1; p >= 0; --p) free_.push_back(static_cast<int32_t>(p));  // page 0 first
}

int64_t KvCache::bytes_per_token() const { return kv_bytes_per_token(specs_); }

int32_t KvCache::add_sequence() {
  for (size_t i = 0; i < live_.size(); ++i)
    if (!live_[i]) {
      live_[i] = true;
      tables_[i].clear();
      return static_cast<int32_t>(i);
    }
  live_.push_back(true);
  tables_.emplace_back();
  return static_cast<int32_t>(live_.size() - 1);
}

void KvCache::check_seq(int32_t seq) const {
  if (!is_live(seq)) throw Error("KV cache: sequence " + std::to_string(seq) + " does not exist");
}

bool KvCache::is_live(int32_t seq) const {
  return seq >= 0 && static_cast<size_t>(seq) < live_.size() && live_[static_cast<size_t>(seq)];
}

void KvCache::reserve(int32_t seq, int64_t n_positions) {
  check_seq(seq);
  std::vector<int32_t>& t = tables_[static_cast<size_t>(seq)];
  const int64_t need = (n_positions + page_tokens_ - 1) / page_tokens_ - static_cast<int64_t>(t.size());
  if (need <= 0) return;
  if (need > free_pages())
    throw Error("KV cache full: sequence " + std::to_string(seq) + " needs " + std::to_string(need) +
                " more pages for " + std::to_string(n_positions) + " positions, " + std::to_string(free_pages()) +
                " of " + std::to_string(n_pages_) + " are free");
  for (int64_t i = 0; i < need; ++i) {
    t.push_back(free_.back());
    free_.pop_back();
  }
}

void KvCache::free_sequence(int32_t seq) {
  check_seq(seq);
  std::vector<int32_t>& t = tables_[static_cast<size_t>(seq)];
  for (auto it = t.rbegin(); it != t.rend(); ++it) free_.push_back(*it);
  t.clear();
  live_[static_cast<size_t>(seq)] = false;
}

std::span<const int32_t> KvCache::page_table(int32_t seq) const {
  check_seq(seq);
  return tables_[static_cast<size_t>(seq)];
}

std::vector<std::span<const int32_t>> KvCache::page_tables() const {
  std::vector<std::span<const int32_t>> out(tables_.size());
  for (size_t i = 0; i < tables_.size(); ++i)
    if (live_[i]) out[i] = tables_[i];
  return out;
}

}  // namespace schwarm

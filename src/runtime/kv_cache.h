#pragma once
// Paged KV cache: per layer one pool of n_pages pages of page_tokens slots; every sequence owns a
// page table (page ids in position order) shared by all layers, so page p is slot range
// [p * page_tokens, (p + 1) * page_tokens) in every layer's pool. What a slot holds is the model's
// business (KvLayerSpec): GQA keeps k and v per kv head; DeepSeek's MLA keeps the compressed latent
// (kv_lora_rank) and the rope key (qk_rope_head_dim), 576 floats per token per layer for V3
// instead of 2 * 128 heads * 192 = 49152.
#include <cstdint>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "model/model.h"

namespace schwarm {

struct ModelConfig;

// Bytes one token position takes across all layers of such a layout (f32 cache).
int64_t kv_bytes_per_token(std::span<const KvLayerSpec> layout);
// kv_bytes_per_token(kv_layout_for(config)): what `schwarm inspect` shows.
int64_t kv_cache_bytes_per_token(const ModelConfig& config);

class KvCache {
 public:
  // Throws Error when n_pages or page_tokens < 1 or a width is negative.
  KvCache(std::vector<KvLayerSpec> layers, int64_t n_pages, int64_t page_tokens = 16);
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;

  int64_t page_tokens() const { return page_tokens_; }
  int64_t n_pages() const { return n_pages_; }
  int64_t free_pages() const { return static_cast<int64_t>(free_.size()); }
  int64_t n_layers() const { return static_cast<int64_t>(layers_.size()); }
  // Bytes one token position occupies across all layers (k and v).
  int64_t bytes_per_token() const;

  // A new, empty sequence; returns its id (a small index, reused after free_sequence).
  int32_t add_sequence();
  // Makes room for positions [0, n_positions) of seq, taking pages from the pool. Throws Error
  // ("KV cache full: ...") when the pool has too few free pages; nothing is taken then.
  void reserve(int32_t seq, int64_t n_positions);
  // Returns the sequence's pages to the pool; the id may be handed out again.
  void free_sequence(int32_t seq);
  bool is_live(int32_t seq) const;

  std::span<const int32_t> page_table(int32_t seq) const;
  // One span per sequence id (empty for free ids), for BatchLayout::page_table.
  std::vector<std::span<const int32_t>> page_tables() const;
  std::span<KvLayerCache> layers() { return views_; }

 private:
  void check_seq(int32_t seq) const;

  int64_t page_tokens_, n_pages_;
  std::vector<KvLayerSpec> specs_;
  std::vector<std::vector<float>> layers_;  // per layer: k pool then v pool
  std::vector<KvLayerCache> views_;
  std::vector<int32_t> free_;                // free page ids (a stack)
  std::vector<std::vector<int32_t>> tables_;  // per sequence id
  std::vector<bool> live_;
};

}  // namespace schwarm

#pragma once
// Byte-pair merging by rank for one pre-tokenized word: a doubly linked list of symbols and a
// min-heap of candidate pairs (rank, then leftmost), so a word of n symbols costs O(n log n)
// however long it is. Same order as Hugging Face `tokenizers` and llama.cpp.
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace schwarm::text {

using TokenId32 = int32_t;

class BpeMerges {
 public:
  struct Merge {
    int32_t rank;
    TokenId32 merged;
  };
  void add(TokenId32 left, TokenId32 right, int32_t rank, TokenId32 merged);
  const Merge* find(TokenId32 left, TokenId32 right) const;
  size_t size() const { return map_.size(); }

 private:
  static uint64_t key(TokenId32 l, TokenId32 r) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
  }
  std::unordered_map<uint64_t, Merge> map_;
};

// One initial symbol: its token (-1 when the symbol is no token) and the bytes of the word it
// covers, for byte fallback.
struct BpeSymbol {
  TokenId32 id;
  uint32_t start, len;
};

// Merges `symbols` in place; on return it holds the final symbols in order. Symbols with id -1
// never merge.
void bpe_merge(std::vector<BpeSymbol>& symbols, const BpeMerges& merges);

}  // namespace schwarm::text

#pragma once
// SentencePiece-style BPE by score (llama.cpp's "llama" vocab type): starting from single
// characters, repeatedly merge the adjacent pair whose concatenation is the vocabulary token of
// highest score (leftmost on ties). Characters left without a token become byte tokens <0xXX>.
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace schwarm::text {

struct SpmVocabView {
  // The token for a text, or -1.
  std::function<int32_t(std::string_view)> find;
  std::function<float(int32_t)> score;
  size_t max_token_bytes;
};

// Tokenizes `text` (spaces already escaped to "▁"), appending (id, start, len) triples; id -1
// marks a character with no token, for the caller's byte fallback.
struct SpmPiece {
  int32_t id;
  uint32_t start, len;
};
void spm_tokenize(std::string_view text, const SpmVocabView& vocab, std::vector<SpmPiece>& out);

}  // namespace schwarm::text

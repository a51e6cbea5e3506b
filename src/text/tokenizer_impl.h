#pragma once
// What a loaded tokenizer holds, shared by the loaders (tokenizer_gguf.cpp, tokenizer_hf.cpp)
// and the encoder/decoder (tokenizer.cpp). Internal to src/text.
#include <array>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/bpe.h"
#include "text/pretokenizer.h"
#include "text/special_tokens.h"
#include "text/tokenizer.h"

namespace schwarm {

struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

enum class BpeAlgo {
  ByteLevel,  // GPT-2 byte-level BPE by merge rank
  CharMerges,  // BPE by merge rank over UTF-8 characters, <0xXX> byte fallback (HF Llama 2, Gemma 4)
  SpmScores,  // SentencePiece BPE by token score (llama.cpp "llama")
};

struct Tokenizer::Impl {
  TokenizerKind kind = TokenizerKind::BytePairBpe;
  BpeAlgo algo = BpeAlgo::ByteLevel;
  std::string source;  // file or directory loaded, for messages

  std::vector<std::string> texts;
  std::vector<TokenAttr> attrs;
  std::vector<float> scores;  // SpmScores only
  std::vector<uint8_t> lstrip, rstrip;
  // tokenizer.json: added tokens with "normalized": true are matched in the normalized text,
  // the others in the raw text before normalizing (as Hugging Face `tokenizers` does).
  std::vector<uint8_t> normalized;
  std::unordered_map<std::string, TokenId, TextHash, std::equal_to<>> text_to_id;
  text::BpeMerges merges;
  text::PreTokenizer pre;
  text::SpecialTokenMatcher specials;             // matched in the raw text
  text::SpecialTokenMatcher specials_normalized;  // matched after normalizing (tokenizer.json only)

  bool nfc = false;                 // tokenizer.json NFC normalizer (never for GGUF, as llama.cpp)
  bool ignore_merges = false;       // a word that is a token is taken whole (Llama 3)
  bool byte_fallback = true;        // unknown characters become <0xXX> tokens
  bool escape_whitespace = false;   // " " -> "▁" before tokenizing (SentencePiece style)
  bool add_space_prefix = false;    // "▁" before each text fragment; decode drops it again
  bool newline_words_whole = false;  // Gemma 4: a run of newlines is looked up whole
  // SpmScores: no token has "▁" after another character, so no merge crosses the start of a
  // "▁" run and each such stretch can be tokenized alone (same result, cache-friendly heaps).
  bool spm_split_at_spaces = false;

  TokenId bos = -1, eos = -1, unk = -1, eot = -1, eom = -1;
  bool add_bos = false, add_eos = false;
  std::vector<TokenId> eog;
  bool eog_from_loader = false;  // the loader filled eog (GGUF: llama.cpp's rules); finalize keeps it

  // Filled by finalize().
  std::array<TokenId, 256> byte_token{};  // ByteLevel: the token of each byte; else <0xXX>
  std::vector<std::string> pieces;        // token_to_piece(id, show_special = true)
  size_t max_token_bytes = 0;

  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<TokenId>, TextHash, std::equal_to<>> cache;

  TokenId find(std::string_view text) const {
    auto it = text_to_id.find(text);
    return it == text_to_id.end() ? -1 : it->second;
  }
  // Builds text_to_id from texts (last duplicate wins, as in llama.cpp).
  void index_texts();
  // Builds the byte table, the decode pieces, the special-token matcher and the EOG set.
  void finalize();

  // Raw text between special tokens: normalizes, matches normalized added tokens, encodes the rest.
  void encode_raw(std::string_view text, bool parse_special, std::vector<TokenId>& out) const;
  void encode_fragment(std::string_view text, std::vector<TokenId>& out) const;
  void encode_word(std::string_view word, std::vector<TokenId>& out) const;
  void push_bytes(std::string_view bytes, std::vector<TokenId>& out) const;
  std::string make_piece(TokenId id) const;
};

}  // namespace schwarm

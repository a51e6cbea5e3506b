#pragma once
// Tokenizers: byte-level BPE (GPT-2 style: DeepSeek, Qwen2/3, Llama 3) and SentencePiece-style
// BPE with byte fallback (Llama 2 / Mixtral, "llama-spm"), loaded from a Hugging Face directory
// (tokenizer.json + tokenizer_config.json) or from GGUF tokenizer.ggml.* metadata. Exact against
// llama.cpp (GGUF) and the Python `tokenizers` package (tokenizer.json).
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/gguf_file.h"

namespace schwarm {

using TokenId = int32_t;

enum class TokenizerKind { BytePairBpe /* GPT-2 byte-level */, SentencePieceBpe /* llama-spm */ };

// What a token is, as GGUF's tokenizer.ggml.token_type says (same numbers).
enum class TokenAttr : int32_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

class Tokenizer {
 public:
  // A Hugging Face directory, or a GGUF file (a vocab-only GGUF too). Throws FileError naming the
  // file and the problem (unknown model type, unknown pre-tokenizer, malformed vocab, ...).
  static Tokenizer open(const std::string& path);
  static Tokenizer from_hf_dir(const std::string& dir);
  static Tokenizer from_gguf(const GgufMetadata& metadata, const std::string& source);

  TokenizerKind kind() const;
  int32_t n_vocab() const;

  // Text to ids. add_special: add BOS (and EOS) where the checkpoint says so (llama.cpp's
  // add_special). parse_special: match special/added tokens written in the text (llama.cpp's
  // parse_special). Invalid UTF-8 in `text` throws schwarm::Error.
  std::vector<TokenId> encode(std::string_view text, bool add_special = true, bool parse_special = true) const;
  // Ids to text; special (control) tokens are dropped when skip_special is true. The bytes are
  // returned as the tokens give them: ids that split a character give ill-formed UTF-8 (use
  // StreamingDetokenizer for display). SentencePiece vocabularies drop the first piece's leading
  // space (see strips_leading_space). Out-of-range ids throw schwarm::Error.
  std::string decode(std::span<const TokenId> ids, bool skip_special = false) const;
  // The bytes one token stands for, as decode shows it (byte tokens -> their byte, "▁" -> " ").
  std::string token_to_piece(TokenId id, bool show_special = true) const;
  // The token's text as stored in the vocabulary.
  const std::string& token_text(TokenId id) const;
  TokenAttr token_attr(TokenId id) const;

  TokenId bos_id() const;  // -1 when none
  TokenId eos_id() const;  // -1 when none
  bool add_bos() const;
  bool add_eos() const;
  // eos, eot, eom and, for GGUF, every token llama.cpp counts as end of generation by its text
  // ("<|im_end|>", "<|endoftext|>", "</s>", FIM pad/repo/file-separator, ...).
  bool is_end_of_generation(TokenId id) const;
  std::string bos_token() const;  // text of bos ("" when none)
  std::string eos_token() const;
  // SentencePiece style: encode puts "▁" before text, and decode drops the first piece's leading
  // space again, so decode(encode(t)) == t.
  bool strips_leading_space() const;

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Turns a stream of ids into text pieces that are always complete UTF-8: a multi-byte character
// split across tokens is held back until it completes. One per sequence.
class StreamingDetokenizer {
 public:
  explicit StreamingDetokenizer(const Tokenizer& tokenizer, bool show_special = false);
  std::string push(TokenId id);  // the newly completed text (may be empty)
  std::string flush();           // whatever is held back, ill-formed bytes as U+FFFD

 private:
  const Tokenizer* tokenizer_;
  bool show_special_;
  std::string pending_;
  bool started_ = false;  // a non-empty piece has been seen (for strips_leading_space)
};

}  // namespace schwarm

// Encoding and decoding over a loaded vocabulary; the loaders live in tokenizer_gguf.cpp and
// tokenizer_hf.cpp.
#include "text/tokenizer.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/utf8.h"
#include "schwarm/error.h"
#include "text/byte_unicode.h"
#include "text/normalize.h"
#include "text/spm.h"
#include "text/text_utf8.h"
#include "text/tokenizer_impl.h"

namespace schwarm {
namespace {

constexpr size_t kCacheMaxWordBytes = 128;
constexpr size_t kCacheMaxEntries = 1 << 16;

std::string byte_token_text(uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "<0x%02X>", b);
  return buf;
}

size_t first_invalid_utf8(std::string_view s) {
  // Binary search is overkill; find the offset by validating growing prefixes per character.
  for (size_t i = 0; i < s.size();) {
    const size_t n = text::utf8_seq_len(static_cast<uint8_t>(s[i]));
    if (i + n > s.size() || !is_valid_utf8(s.substr(i, n))) return i;
    i += n;
  }
  return s.size();
}

// Names of end-of-turn tokens that llama.cpp also treats as end of generation.
bool is_eog_text(std::string_view t) {
  for (std::string_view n : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                             "<EOT>", "<|eom_id|>", "<｜end▁of▁sentence｜>", "<|return|>", "<|call|>"})
    if (t == n) return true;
  return false;
}

}  // namespace

void Tokenizer::Impl::index_texts() {
  text_to_id.clear();
  text_to_id.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) text_to_id[texts[i]] = static_cast<TokenId>(i);
}

void Tokenizer::Impl::finalize() {
  if (text_to_id.size() == 0 && !texts.empty()) index_texts();
  attrs.resize(texts.size(), TokenAttr::Normal);
  lstrip.resize(texts.size(), 0);
  rstrip.resize(texts.size(), 0);
  normalized.resize(texts.size(), 0);
  for (int b = 0; b < 256; ++b) {
    const uint8_t byte = static_cast<uint8_t>(b);
    byte_token[b] = algo == BpeAlgo::ByteLevel ? find(text::byte_to_unicode(byte)) : find(byte_token_text(byte));
  }
  max_token_bytes = 0;
  pieces.resize(texts.size());
  std::vector<text::SpecialToken> special, special_normalized;
  for (size_t i = 0; i < texts.size(); ++i) {
    max_token_bytes = std::max(max_token_bytes, texts[i].size());
    pieces[i] = make_piece(static_cast<TokenId>(i));
    const TokenAttr a = attrs[i];
    if (a != TokenAttr::Control && a != TokenAttr::UserDefined && a != TokenAttr::Unknown) continue;
    text::SpecialToken t{texts[i], static_cast<TokenId>(i), a == TokenAttr::UserDefined, lstrip[i] != 0,
                         rstrip[i] != 0};
    if (normalized[i]) {
      // Matched in normalized text, so its content is normalized too (as `tokenizers` does).
      if (nfc) t.text = text::nfc(t.text);
      special_normalized.push_back(std::move(t));
    } else {
      special.push_back(std::move(t));
    }
  }
  specials = text::SpecialTokenMatcher(std::move(special));
  specials_normalized = text::SpecialTokenMatcher(std::move(special_normalized));
  spm_split_at_spaces = algo == BpeAlgo::SpmScores;
  const std::string_view sp = text::kSpmSpace;
  for (size_t i = 0; i < texts.size() && spm_split_at_spaces; ++i) {
    const std::string_view t = texts[i];
    for (size_t p = t.find(sp, 1); p != std::string_view::npos; p = t.find(sp, p + 1))
      if (p < sp.size() || t.substr(p - sp.size(), sp.size()) != sp) spm_split_at_spaces = false;
  }
  if (eog_from_loader) return;
  eog.clear();
  for (TokenId id : {eos, eot, eom})
    if (id >= 0) eog.push_back(id);
  for (size_t i = 0; i < texts.size(); ++i)
    if (attrs[i] == TokenAttr::Control && is_eog_text(texts[i])) eog.push_back(static_cast<TokenId>(i));
}

void Tokenizer::Impl::encode_raw(std::string_view raw, bool parse_special, std::vector<TokenId>& out) const {
  if (!nfc && specials_normalized.tokens().empty()) {
    encode_fragment(raw, out);
    return;
  }
  std::string normal;
  std::string_view text = raw;
  if (nfc) {
    normal = text::nfc(raw);
    text = normal;
  }
  std::vector<text::Fragment> fragments;
  specials_normalized.split(text, parse_special, fragments);
  for (const auto& f : fragments) {
    if (f.id >= 0)
      out.push_back(f.id);
    else
      encode_fragment(f.text, out);
  }
}

std::string Tokenizer::Impl::make_piece(TokenId id) const {
  const std::string& t = texts[id];
  switch (attrs[id]) {
    case TokenAttr::Control:
      return t;
    case TokenAttr::UserDefined:  // added tokens are stored as plain text
      if (algo == BpeAlgo::ByteLevel) return t;
      break;
    case TokenAttr::Unknown:
      return algo == BpeAlgo::ByteLevel ? std::string() : std::string("\xE2\x96\x85");  // "▅" as llama.cpp
    case TokenAttr::Unused:
      return {};
    case TokenAttr::Byte:
      if (algo != BpeAlgo::ByteLevel && t.size() == 6 && t.starts_with("<0x") && t.back() == '>')
        return std::string(1, static_cast<char>(std::stoi(t.substr(3, 2), nullptr, 16)));
      [[fallthrough]];
    case TokenAttr::Normal:
    default:
      break;
  }
  if (algo == BpeAlgo::ByteLevel) return text::unicode_text_to_bytes(t);
  std::string out;
  out.reserve(t.size());
  for (size_t i = 0; i < t.size();) {
    if (t.compare(i, text::kSpmSpace.size(), text::kSpmSpace) == 0) {
      out += ' ';
      i += text::kSpmSpace.size();
    } else {
      out += t[i++];
    }
  }
  return out;
}

void Tokenizer::Impl::push_bytes(std::string_view bytes, std::vector<TokenId>& out) const {
  for (char c : bytes) {
    const TokenId id = byte_fallback ? byte_token[static_cast<uint8_t>(c)] : -1;
    if (id >= 0)
      out.push_back(id);
    else if (unk >= 0 && algo != BpeAlgo::ByteLevel)
      out.push_back(unk);
  }
}

void Tokenizer::Impl::encode_word(std::string_view word, std::vector<TokenId>& out) const {
  if (algo == BpeAlgo::ByteLevel) {
    if (ignore_merges) {
      const TokenId whole = find(text::bytes_to_unicode_text(word));
      if (whole >= 0) {
        out.push_back(whole);
        return;
      }
    }
  } else {
    if (ignore_merges || (newline_words_whole && word.find_first_not_of('\n') == std::string_view::npos)) {
      const TokenId whole = find(word);
      if (whole >= 0) {
        out.push_back(whole);
        return;
      }
    }
  }
  const bool cacheable = word.size() <= kCacheMaxWordBytes;
  if (cacheable) {
    std::lock_guard lock(cache_mutex);
    auto it = cache.find(word);
    if (it != cache.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<text::BpeSymbol> symbols;
  symbols.reserve(word.size());
  if (algo == BpeAlgo::ByteLevel) {
    for (size_t i = 0; i < word.size(); ++i)
      symbols.push_back({byte_token[static_cast<uint8_t>(word[i])], static_cast<uint32_t>(i), 1});
  } else {
    for (size_t i = 0; i < word.size();) {
      const size_t n = std::min(text::utf8_seq_len(static_cast<uint8_t>(word[i])), word.size() - i);
      symbols.push_back({find(word.substr(i, n)), static_cast<uint32_t>(i), static_cast<uint32_t>(n)});
      i += n;
    }
  }
  text::bpe_merge(symbols, merges);
  std::vector<TokenId> ids;
  ids.reserve(symbols.size());
  for (const auto& s : symbols) {
    if (s.id >= 0)
      ids.push_back(s.id);
    else if (algo != BpeAlgo::ByteLevel)
      push_bytes(word.substr(s.start, s.len), ids);
  }
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    std::lock_guard lock(cache_mutex);
    if (cache.size() >= kCacheMaxEntries) cache.clear();
    cache.emplace(std::string(word), std::move(ids));
  }
}

void Tokenizer::Impl::encode_fragment(std::string_view raw, std::vector<TokenId>& out) const {
  std::string escaped;
  std::string_view text = raw;
  if (escape_whitespace || algo == BpeAlgo::SpmScores) {
    escaped = (add_space_prefix ? std::string(text::kSpmSpace) : std::string()) + text::escape_spaces(raw);
    text = escaped;
  }
  if (algo == BpeAlgo::SpmScores) {
    text::SpmVocabView view{[this](std::string_view t) { return find(t); },
                            [this](int32_t id) { return id < static_cast<int32_t>(scores.size()) ? scores[id] : 0.0f; },
                            max_token_bytes};
    std::vector<text::SpmPiece> found;
    size_t seg = 0;
    while (seg < text.size()) {
      size_t end = text.size();
      if (spm_split_at_spaces) {
        // The next "▁" that follows some other character starts the next stretch.
        for (size_t p = text.find(text::kSpmSpace, seg + 1); p != std::string_view::npos;
             p = text.find(text::kSpmSpace, p + 1)) {
          if (p < 3 || text.compare(p - 3, 3, text::kSpmSpace) != 0) {
            end = p;
            break;
          }
        }
      }
      const std::string_view part = text.substr(seg, end - seg);
      found.clear();
      text::spm_tokenize(part, view, found);
      for (const auto& p : found) {
        if (p.id >= 0)
          out.push_back(p.id);
        else
          push_bytes(part.substr(p.start, p.len), out);
      }
      seg = end;
    }
    return;
  }
  std::vector<std::string_view> words;
  pre.split(text, words);
  for (std::string_view w : words) encode_word(w, out);
}

// ---- Tokenizer ----

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::open(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) return from_hf_dir(path);
  if (fs::path(path).filename() == "tokenizer.json") return from_hf_dir(fs::path(path).parent_path().string());
  if (!fs::exists(path, ec)) throw FileError(path, "no such file or directory");
  GgufFile file = GgufFile::open(path);
  return from_gguf(file.metadata(), path);
}

TokenizerKind Tokenizer::kind() const { return impl_->kind; }
int32_t Tokenizer::n_vocab() const { return static_cast<int32_t>(impl_->texts.size()); }

std::vector<TokenId> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  if (!is_valid_utf8(text))
    throw Error("cannot tokenize: text is not valid UTF-8 (ill-formed byte sequence at offset " +
                std::to_string(first_invalid_utf8(text)) + ")");
  const Impl& m = *impl_;
  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 2);
  if (add_special && m.add_bos && m.bos >= 0) out.push_back(m.bos);
  std::vector<text::Fragment> fragments;
  m.specials.split(text, parse_special, fragments);
  for (const auto& f : fragments) {
    if (f.id >= 0)
      out.push_back(f.id);
    else
      m.encode_raw(f.text, parse_special, out);
  }
  if (add_special && m.add_eos && m.eos >= 0) out.push_back(m.eos);
  return out;
}

std::string Tokenizer::decode(std::span<const TokenId> ids, bool skip_special) const {
  std::string out;
  bool first = true;
  for (TokenId id : ids) {
    std::string piece = token_to_piece(id, !skip_special);
    if (piece.empty()) continue;
    if (first && impl_->add_space_prefix && piece[0] == ' ') piece.erase(0, 1);
    first = false;
    out += piece;
  }
  return out;
}

std::string Tokenizer::token_to_piece(TokenId id, bool show_special) const {
  if (id < 0 || id >= n_vocab()) throw Error("token id " + std::to_string(id) + " is out of range (vocabulary of " +
                                             std::to_string(n_vocab()) + ")");
  if (!show_special && impl_->attrs[id] == TokenAttr::Control) return {};
  return impl_->pieces[id];
}

const std::string& Tokenizer::token_text(TokenId id) const {
  if (id < 0 || id >= n_vocab()) throw Error("token id " + std::to_string(id) + " is out of range");
  return impl_->texts[id];
}
TokenAttr Tokenizer::token_attr(TokenId id) const {
  if (id < 0 || id >= n_vocab()) throw Error("token id " + std::to_string(id) + " is out of range");
  return impl_->attrs[id];
}

TokenId Tokenizer::bos_id() const { return impl_->bos; }
TokenId Tokenizer::eos_id() const { return impl_->eos; }
bool Tokenizer::add_bos() const { return impl_->add_bos; }
bool Tokenizer::add_eos() const { return impl_->add_eos; }
bool Tokenizer::is_end_of_generation(TokenId id) const {
  for (TokenId e : impl_->eog)
    if (e == id) return true;
  return false;
}
std::string Tokenizer::bos_token() const { return impl_->bos >= 0 ? impl_->texts[impl_->bos] : std::string(); }
std::string Tokenizer::eos_token() const { return impl_->eos >= 0 ? impl_->texts[impl_->eos] : std::string(); }
bool Tokenizer::strips_leading_space() const { return impl_->add_space_prefix; }

}  // namespace schwarm

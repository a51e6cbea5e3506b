// StreamingDetokenizer: ids in, complete UTF-8 out.
#include "core/utf8.h"
#include "text/text_utf8.h"
#include "text/tokenizer.h"

namespace schwarm {
namespace {

// Where the possibly incomplete character at the end of `s` starts (s.size() when the text
// ends on a character boundary). Only a proper prefix of a well-formed sequence is held back.
size_t incomplete_tail(std::string_view s) {
  const size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const uint8_t b = static_cast<uint8_t>(s[n - back]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    const size_t need = text::utf8_seq_len(b);
    if (need <= back) return n;  // complete (or not a lead byte at all)
    // Check the bytes so far could start a well-formed sequence (no overlongs, surrogates).
    std::string probe(s.substr(n - back));
    while (probe.size() < need) probe += '\x80';
    if (b == 0xE0 && back == 1) probe[1] = '\xA0';
    if (b == 0xF0 && back == 1) probe[1] = '\x90';
    return is_valid_utf8(probe) ? n - back : n;
  }
  return n;
}

}  // namespace

StreamingDetokenizer::StreamingDetokenizer(const Tokenizer& tokenizer, bool show_special)
    : tokenizer_(&tokenizer), show_special_(show_special) {}

std::string StreamingDetokenizer::push(TokenId id) {
  std::string piece = tokenizer_->token_to_piece(id, show_special_);
  if (piece.empty()) return {};
  if (!started_ && tokenizer_->strips_leading_space() && piece[0] == ' ') piece.erase(0, 1);
  started_ = true;
  pending_ += piece;
  const size_t keep = incomplete_tail(pending_);
  std::string out = sanitize_utf8(std::string_view(pending_).substr(0, keep));
  pending_.erase(0, keep);
  return out;
}

std::string StreamingDetokenizer::flush() {
  std::string out = sanitize_utf8(pending_);
  pending_.clear();
  return out;
}

}  // namespace schwarm

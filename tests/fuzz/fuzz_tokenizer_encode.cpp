// Fuzzes Tokenizer::encode/decode and StreamingDetokenizer. The first input byte picks the
// tokenizer (byte-level BPE with llama.cpp's "deepseek-v3" pre-tokenizer, or SentencePiece BPE)
// and the flags; the rest is the text. Invalid UTF-8 must give schwarm::Error; valid text must
// round-trip through decode and through the streaming detokenizer.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/utf8.h"
#include "io/gguf_file.h"
#include "schwarm/error.h"
#include "text/byte_unicode.h"
#include "text/tokenizer.h"

namespace {

using schwarm::GgufArray;
using schwarm::GgufMetadata;
using schwarm::GgufValue;
using schwarm::GgufValueType;
using schwarm::Tokenizer;

GgufValue strings(const std::vector<std::string>& v) {
  GgufArray a{GgufValueType::STRING, {}};
  for (const auto& s : v) a.items.push_back(GgufValue::str(s));
  return GgufValue::array(std::move(a));
}
GgufValue ints(const std::vector<int32_t>& v) {
  GgufArray a{GgufValueType::INT32, {}};
  for (int32_t x : v) a.items.push_back(GgufValue::i32(x));
  return GgufValue::array(std::move(a));
}

Tokenizer make_bpe() {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  for (int b = 0; b < 256; ++b) tokens.push_back(schwarm::text::byte_to_unicode(static_cast<uint8_t>(b))), types.push_back(1);
  const std::vector<std::string> merges = {"Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "Ġ s", "o n", "Ġ Ġ", "ĠĠ ĠĠ",
                                           "1 2", "12 3", "ä ½", "Ã ©"};
  for (const auto& m : merges) {
    const size_t sp = m.find(' ');
    tokens.push_back(m.substr(0, sp) + m.substr(sp + 1)), types.push_back(1);
  }
  for (const char* s : {"<|bos|>", "<|eos|>", "<|user|>"}) tokens.push_back(s), types.push_back(3);
  tokens.push_back("<added>"), types.push_back(4);
  const int32_t n = static_cast<int32_t>(tokens.size());
  GgufMetadata md = {{"tokenizer.ggml.model", GgufValue::str("gpt2")},
                     {"tokenizer.ggml.pre", GgufValue::str("deepseek-v3")},
                     {"tokenizer.ggml.tokens", strings(tokens)},
                     {"tokenizer.ggml.token_type", ints(types)},
                     {"tokenizer.ggml.merges", strings(merges)},
                     {"tokenizer.ggml.bos_token_id", GgufValue::u32(static_cast<uint32_t>(n - 4))},
                     {"tokenizer.ggml.eos_token_id", GgufValue::u32(static_cast<uint32_t>(n - 3))},
                     {"tokenizer.ggml.add_bos_token", GgufValue::boolean(true)}};
  return Tokenizer::from_gguf(md, "fuzz-bpe");
}

Tokenizer make_spm() {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  std::vector<float> scores = {0, 0, 0};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    tokens.push_back(buf), types.push_back(6), scores.push_back(0);
  }
  const std::vector<std::string> pieces = {"▁", "a", "b", "e", "t", "h", "▁t", "he", "▁the", "ab", "▁a", "▁▁", "é", "中"};
  for (size_t i = 0; i < pieces.size(); ++i)
    tokens.push_back(pieces[i]), types.push_back(1), scores.push_back(-static_cast<float>(i));
  GgufArray sc{GgufValueType::FLOAT32, {}};
  for (float s : scores) sc.items.push_back(GgufValue::f32(s));
  GgufMetadata md = {{"tokenizer.ggml.model", GgufValue::str("llama")},
                     {"tokenizer.ggml.tokens", strings(tokens)},
                     {"tokenizer.ggml.token_type", ints(types)},
                     {"tokenizer.ggml.scores", GgufValue::array(std::move(sc))}};
  return Tokenizer::from_gguf(md, "fuzz-spm");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Tokenizer bpe = make_bpe();
  static const Tokenizer spm = make_spm();
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const Tokenizer& tok = (flags & 1) ? spm : bpe;
  const bool add_special = flags & 2, parse_special = flags & 4;
  const bool valid = schwarm::is_valid_utf8(text);
  std::vector<schwarm::TokenId> ids;
  try {
    ids = tok.encode(text, add_special, parse_special);
  } catch (const schwarm::Error& e) {
    if (valid && std::string_view(e.what()).find("pre-tokenizer") == std::string_view::npos) std::abort();
    return 0;
  }
  if (!valid) std::abort();  // invalid UTF-8 must have thrown
  for (auto id : ids)
    if (id < 0 || id >= tok.n_vocab()) std::abort();
  const std::string back = tok.decode(ids);
  // SentencePiece puts "▁" before the text after every special token and decodes a literal
  // "▁" as a space, so only plain text round-trips exactly there.
  const bool spm_inexact = (flags & 1) && (parse_special || text.find("\xE2\x96\x81") != std::string_view::npos);
  if (!add_special && !spm_inexact && back != text) std::abort();
  schwarm::StreamingDetokenizer stream(tok, /*show_special=*/true);  // as decode(ids)
  std::string streamed;
  for (auto id : ids) streamed += stream.push(id);
  streamed += stream.flush();
  if (schwarm::is_valid_utf8(back) && streamed != back) std::abort();
  if (!schwarm::is_valid_utf8(streamed)) std::abort();
  return 0;
}

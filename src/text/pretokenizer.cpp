#include "text/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <utility>

#include "schwarm/error.h"

namespace schwarm::text {
namespace {

// Backtracking budget per match attempt. Real pre-tokenizer regexes need a handful of steps per
// byte; this stops a pathological pattern/input pair with an error instead of a hang.
constexpr uint32_t kMatchLimit = 50'000'000;
constexpr uint32_t kDepthLimit = 100'000;
constexpr uint32_t kHeapLimitKib = 256 * 1024;

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof buf);
  return reinterpret_cast<const char*>(buf);
}

// llama.cpp's regexes for GPT-2 and friends.
const char* const kGpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const char* const kLlama3 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kQwen2 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kQwen35 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|"
    "\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kStarcoderWords =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const char* const kDeepseekLlmLetters =
    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\\x{1F7D}ᾀ-ᾴᾶ-ᾼ\\x{1FBE}ῂ-ῄῆ-ῌῐ-\\x{1FD3}ῖ-\\x{1FDB}ῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\\x{2126}ℨ\\x{212A}-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+";

}  // namespace

struct PreTokenizer::Regex {
  std::string pattern;
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Regex() { pcre2_code_free(code); }
};

PreTokenizer::PreTokenizer(const std::vector<std::string>& regexes) {
  for (const auto& pattern : regexes) {
    auto re = std::make_shared<Regex>();
    re->pattern = pattern;
    int err = 0;
    PCRE2_SIZE err_off = 0;
    re->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                             PCRE2_UTF | PCRE2_UCP, &err, &err_off, nullptr);
    if (!re->code)
      throw Error("pre-tokenizer regex does not compile (" + pcre2_message(err) + " at offset " +
                  std::to_string(err_off) + "): " + pattern);
    re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
    regexes_.push_back(std::move(re));
  }
}

const std::string& PreTokenizer::gpt2_regex() {
  static const std::string r = kGpt2;
  return r;
}

std::optional<std::vector<std::string>> PreTokenizer::regexes_for(std::string_view n) {
  using V = std::vector<std::string>;
  if (n.empty() || n == "default")
    return V{"[\\p{P}\\$\\+<=>\\^~\\|]+", kStarcoderWords, "\\p{N}+", "[0-9][0-9][0-9]"};
  if (n == "llama3" || n == "llama-v3" || n == "llama-bpe" || n == "falcon3" || n == "dbrx" ||
      n == "smaug-bpe" || n == "chatglm-bpe" || n == "pixtral")
    return V{kLlama3};
  if (n == "deepseek-llm")
    return V{"[\r\n]", kDeepseekLlmLetters, "\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$",
             "[一-龥ࠀ-一가-퟿]+", "\\p{N}+"};
  if (n == "deepseek-v3")
    return V{"\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
             "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
             " ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"};
  if (n == "deepseek-coder")
    return V{"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}"};
  if (n == "falcon")
    return V{"[\\p{P}\\$\\+<=>\\^~\\|`]+", kStarcoderWords, "[0-9][0-9][0-9]"};
  if (n == "starcoder" || n == "refact" || n == "command-r" || n == "smollm" || n == "codeshell" ||
      n == "exaone" || n == "minerva-7b")
    return V{"\\p{N}", kStarcoderWords};
  if (n == "gpt-2" || n == "phi-2" || n == "mpt" || n == "olmo" || n == "jais" || n == "gigachat" ||
      n == "roberta-bpe" || n == "jina-es" || n == "jina-de" || n == "jina-v2-es" || n == "jina-v2-de" ||
      n == "jina-v1-en" || n == "jina-v2-code")
    return V{kGpt2};
  if (n == "qwen2" || n == "stablelm2" || n == "deepseek-r1-qwen" || n == "hunyuan") return V{kQwen2};
  if (n == "qwen35") return V{kQwen35};
  if (n == "gemma4") return V{"[^\\n]+|[\\n]+"};
  return std::nullopt;
}

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& out) const {
  if (text.empty()) return;
  if (regexes_.empty()) {
    out.push_back(text);
    return;
  }
  std::unique_ptr<pcre2_match_context, void (*)(pcre2_match_context*)> mctx(
      pcre2_match_context_create(nullptr), pcre2_match_context_free);
  pcre2_set_match_limit(mctx.get(), kMatchLimit);
  pcre2_set_depth_limit(mctx.get(), kDepthLimit);
  pcre2_set_heap_limit(mctx.get(), kHeapLimitKib);

  std::vector<std::string_view> pieces{text}, next;
  for (const auto& re : regexes_) {
    std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> md(
        pcre2_match_data_create_from_pattern(re->code, nullptr), pcre2_match_data_free);
    next.clear();
    next.reserve(pieces.size());
    for (std::string_view piece : pieces) {
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
      size_t pos = 0, last = 0;
      while (pos <= piece.size()) {
        int rc = -1;
        const uint32_t opts = PCRE2_NO_UTF_CHECK;
        if (re->jit) {
          rc = pcre2_jit_match(re->code, subject, piece.size(), pos, opts, md.get(), mctx.get());
          if (rc == PCRE2_ERROR_JIT_STACKLIMIT)  // deep pattern: the interpreter has its own limits
            rc = pcre2_match(re->code, subject, piece.size(), pos, opts | PCRE2_NO_JIT, md.get(), mctx.get());
        } else {
          rc = pcre2_match(re->code, subject, piece.size(), pos, opts, md.get(), mctx.get());
        }
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0)
          throw Error("pre-tokenizer regex failed on a piece of " + std::to_string(piece.size()) +
                      " bytes (" + pcre2_message(rc) + "): " + re->pattern);
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
        const size_t start = ov[0], end = ov[1];
        if (end == start) {  // empty match: step over one character
          pos = start + 1;
          while (pos < piece.size() && (static_cast<uint8_t>(piece[pos]) & 0xC0) == 0x80) ++pos;
          continue;
        }
        if (start > last) next.push_back(piece.substr(last, start - last));
        next.push_back(piece.substr(start, end - start));
        last = pos = end;
      }
      if (last < piece.size()) next.push_back(piece.substr(last));
    }
    std::swap(pieces, next);
  }
  out.insert(out.end(), pieces.begin(), pieces.end());
}

}  // namespace schwarm::text

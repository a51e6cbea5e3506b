// Tokenizer: the tiny checkpoint's tokenizer.json against its GGUF twin, special tokens, BOS,
// round trips on random text, streaming detokenization, hostile inputs and hostile files.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "io/gguf_file.h"
#include "schwarm/error.h"
#include "text/text_utf8.h"
#include "text/tokenizer.h"

namespace fs = std::filesystem;
using schwarm::Error;
using schwarm::FileError;
using schwarm::GgufMetadata;
using schwarm::GgufValue;
using schwarm::StreamingDetokenizer;
using schwarm::TokenId;
using schwarm::Tokenizer;

namespace {

const fs::path kData = SCHWARM_TEST_DATA_DIR;
const fs::path kModels = SCHWARM_LLAMA_CPP_MODELS_DIR;
const std::string kHfDir = (kData / "checkpoints" / "tiny-deepseek-v3").string();
const std::string kGguf = (kData / "checkpoints" / "tiny-deepseek-v3-q8_0.gguf").string();

const Tokenizer& tiny_hf() {
  static const Tokenizer t = Tokenizer::from_hf_dir(kHfDir);
  return t;
}
const Tokenizer& tiny_gguf() {
  static const Tokenizer t = Tokenizer::open(kGguf);
  return t;
}

std::string show(const std::vector<TokenId>& ids) {
  std::string s;
  for (TokenId id : ids) s += std::to_string(id) + " ";
  return s;
}

// Texts on which the two pre-tokenizers (tokenizer.json: digits + GPT-2 regex; GGUF:
// llama.cpp's "deepseek-v3" regexes) split alike.
const std::vector<std::string> kTexts = {
    "Hello world",
    "the cat sat on the mat",
    "In 2024, 12345 tokens were counted.",
    "  leading and trailing spaces  ",
    "tabs\tand\nnewlines\n\n",
    "naïve café — déjà vu",
    "<｜User｜>What is the answer?<｜Assistant｜>42<｜end▁of▁sentence｜>",
    "emoji 😀 and more 👍🏽",
    "",
};

TEST(TokenizerTiny, HfDirAndGgufGiveTheSameIds) {
  for (const auto& t : kTexts) {
    for (bool special : {false, true}) {
      const auto a = tiny_hf().encode(t, special, special);
      const auto b = tiny_gguf().encode(t, special, special);
      EXPECT_EQ(a, b) << "text '" << t << "'\n hf:   " << show(a) << "\n gguf: " << show(b);
    }
  }
  EXPECT_EQ(tiny_hf().n_vocab(), tiny_gguf().n_vocab());
  EXPECT_EQ(tiny_hf().kind(), schwarm::TokenizerKind::BytePairBpe);
}

TEST(TokenizerTiny, BosAddedPerConfig) {
  for (const Tokenizer* t : {&tiny_hf(), &tiny_gguf()}) {
    EXPECT_TRUE(t->add_bos());
    EXPECT_FALSE(t->add_eos());
    EXPECT_EQ(t->bos_id(), 0);
    EXPECT_EQ(t->eos_id(), 1);
    EXPECT_EQ(t->bos_token(), "<｜begin▁of▁sentence｜>");
    EXPECT_TRUE(t->is_end_of_generation(1));
    const auto with = t->encode("Hello", true, true);
    const auto without = t->encode("Hello", false, true);
    ASSERT_FALSE(with.empty());
    EXPECT_EQ(with.front(), 0);
    EXPECT_EQ(std::vector<TokenId>(with.begin() + 1, with.end()), without);
  }
}

TEST(TokenizerTiny, SpecialTokensMatchedOnlyWhenAsked) {
  for (const Tokenizer* t : {&tiny_hf(), &tiny_gguf()}) {
    const std::string text = "<｜User｜>hi<｜Assistant｜>";
    const auto parsed = t->encode(text, false, true);
    ASSERT_GE(parsed.size(), 3u);
    EXPECT_EQ(parsed.front(), 2);
    EXPECT_EQ(parsed.back(), 3);
    const auto literal = t->encode(text, false, false);
    EXPECT_GT(literal.size(), parsed.size());
    for (TokenId id : literal) EXPECT_TRUE(id != 2 && id != 3);
    EXPECT_EQ(t->decode(literal), text);
    EXPECT_EQ(t->decode(parsed), text);
    EXPECT_EQ(t->decode(parsed, /*skip_special=*/true), "hi");
  }
}

// ---- random round trips ----

std::string random_text(std::mt19937& rng, size_t n_chars) {
  static const std::vector<std::pair<uint32_t, uint32_t>> ranges = {
      {0x20, 0x7E},     {0x20, 0x20},     {0x09, 0x0D},     {0x30, 0x39},     {0xA0, 0x17F},
      {0x300, 0x36F},   {0x391, 0x3C9},   {0x400, 0x44F},   {0x5D0, 0x5EA},   {0x600, 0x6FF},
      {0x900, 0x97F},   {0xE00, 0xE5B},   {0x3040, 0x30FF}, {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3},
      {0xFF01, 0xFF5E}, {0x1F300, 0x1F6FF}, {0x1F900, 0x1F9FF}, {0x2000, 0x206F}, {0x10000, 0x10FFFF}};
  std::uniform_int_distribution<size_t> pick(0, ranges.size() - 1);
  std::string s;
  for (size_t i = 0; i < n_chars; ++i) {
    const auto [lo, hi] = ranges[pick(rng)];
    uint32_t cp = std::uniform_int_distribution<uint32_t>(lo, hi)(rng);
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
    if (cp == 0x2581) cp = ' ';  // "▁" is SentencePiece's space: it decodes as " " by design
    if (cp == ' ' && std::uniform_int_distribution<int>(0, 3)(rng) == 0) s += "   ";  // whitespace runs
    schwarm::text::append_utf8(s, cp);
  }
  return s;
}

void check_round_trip(const Tokenizer& tok, const std::string& name, uint32_t seed, int n_texts) {
  std::mt19937 rng(seed);
  for (int i = 0; i < n_texts; ++i) {
    const std::string text = random_text(rng, std::uniform_int_distribution<size_t>(0, 60)(rng));
    const auto ids = tok.encode(text, false, false);
    const std::string back = tok.decode(ids);
    ASSERT_EQ(back, text) << name << ": round trip failed, seed " << seed << " text #" << i;
    // Streaming, one id at a time, gives the same text; nothing but whole characters comes out.
    StreamingDetokenizer stream(tok);
    std::string streamed;
    for (TokenId id : ids) {
      const std::string piece = stream.push(id);
      ASSERT_TRUE(schwarm::text::utf8_seq_len(piece.empty() ? 0 : static_cast<uint8_t>(piece[0])) >= 1);
      streamed += piece;
    }
    streamed += stream.flush();
    ASSERT_EQ(streamed, back) << name << ": streaming differs, seed " << seed << " text #" << i;
  }
}

uint32_t fresh_seed() {
  const uint32_t seed = std::random_device{}();
  std::printf("[ seed     ] %u\n", seed);
  return seed;
}

TEST(TokenizerRoundTrip, TinyCheckpoint) {
  const uint32_t seed = fresh_seed();
  check_round_trip(tiny_hf(), "tiny tokenizer.json", seed, 300);
  check_round_trip(tiny_gguf(), "tiny gguf", seed, 300);
}

TEST(TokenizerRoundTrip, LlamaCppVocabs) {
  if (!fs::is_directory(kModels)) GTEST_SKIP() << kModels << " is missing: run scripts/fetch-test-data.sh";
  const uint32_t seed = fresh_seed();
  for (const char* name : {"llama-spm", "llama-bpe", "qwen2", "deepseek-llm", "deepseek-coder", "gpt-2", "gemma-4",
                           "phi-3", "command-r"}) {
    const fs::path p = kModels / (std::string("ggml-vocab-") + name + ".gguf");
    if (!fs::exists(p)) continue;
    const Tokenizer tok = Tokenizer::open(p.string());
    check_round_trip(tok, name, seed, 100);
  }
}

TEST(TokenizerStreaming, HoldsBackPartialCharacters) {
  // The tiny vocabulary has no merges for these bytes: every byte is its own token.
  const Tokenizer& tok = tiny_gguf();
  const std::string text = "é😀";
  const auto ids = tok.encode(text, false, false);
  ASSERT_EQ(ids.size(), 6u) << show(ids);
  StreamingDetokenizer s(tok);
  EXPECT_EQ(s.push(ids[0]), "");
  EXPECT_EQ(s.push(ids[1]), "é");
  EXPECT_EQ(s.push(ids[2]), "");
  EXPECT_EQ(s.push(ids[3]), "");
  EXPECT_EQ(s.push(ids[4]), "");
  EXPECT_EQ(s.push(ids[5]), "😀");
  EXPECT_EQ(s.flush(), "");
  StreamingDetokenizer cut(tok);
  EXPECT_EQ(cut.push(ids[2]), "");
  EXPECT_EQ(cut.flush(), "\xEF\xBF\xBD");  // an unfinished character flushes as U+FFFD
}

// ---- hostile input ----

TEST(TokenizerHostile, InvalidUtf8IsAnError) {
  for (const std::string& bad : {std::string("abc\xFF"), std::string("\xC3"), std::string("\xED\xA0\x80"),
                                std::string("ok \xE0\x80\xAF")}) {
    try {
      (void)tiny_gguf().encode(bad);
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos) << e.what();
    }
  }
}

TEST(TokenizerHostile, HugeInputsStayFast) {
  std::vector<std::pair<std::string, Tokenizer>> toks;
  toks.emplace_back("tiny", Tokenizer::open(kGguf));
  for (const char* name : {"llama-bpe", "llama-spm", "deepseek-llm"}) {
    const fs::path p = kModels / (std::string("ggml-vocab-") + name + ".gguf");
    if (fs::exists(p)) toks.emplace_back(name, Tokenizer::open(p.string()));
  }
  // The tiny vocabulary gets 10 MB inputs; real vocabularies (many merges on runs of one
  // character) 1 MB, to keep the suite quick. BPE is O(n log n) in a word's length either way.
  // Sanitizer and Debug builds run about 20x slower: there the sizes shrink 8x.
#if defined(__SANITIZE_ADDRESS__) || !defined(NDEBUG)
  const size_t shrink = 8;
#else
  const size_t shrink = 1;
#endif
  std::mt19937 rng(1);
  std::string word;
  for (size_t i = 0; i < (1u << 20) / shrink; ++i) word += static_cast<char>('a' + rng() % 26);
  auto inputs_for = [&](bool tiny) {
    const size_t big = (tiny ? (10u << 20) : (1u << 20)) / shrink;
    return std::vector<std::pair<std::string, std::string>>{
        {"'a' x " + std::to_string(big), std::string(big, 'a')},
        {"' ' x " + std::to_string(big), std::string(big, ' ')},
        {"newline x " + std::to_string(big / 2), std::string(big / 2, '\n')},
        {std::to_string(word.size()) + "-byte word", word},
    };
  };
  for (const auto& [tname, tok] : toks) {
    for (const auto& [iname, text] : inputs_for(tname == "tiny")) {
      const auto t0 = std::chrono::steady_clock::now();
      std::vector<TokenId> ids;
      try {
        ids = tok.encode(text, false, false);
      } catch (const Error& e) {
        // A regex match limit may stop an absurd input; it must say so, not crash.
        EXPECT_NE(std::string(e.what()).find("pre-tokenizer"), std::string::npos) << e.what();
        continue;
      }
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("[ huge     ] %s, %s: %zu ids in %.2f s\n", tname.c_str(), iname.c_str(), ids.size(), s);
      EXPECT_FALSE(ids.empty());
      EXPECT_EQ(tok.decode(ids), text) << tname << ", " << iname;
    }
  }
}

// ---- hostile files ----

fs::path write_hf_dir(const std::string& name, const std::string& tokenizer_json) {
  const fs::path dir = fs::temp_directory_path() / ("schwarm_tok_test_" + name + "_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << tokenizer_json;
  return dir;
}

void expect_file_error(const std::string& dir, const std::string& needle) {
  try {
    (void)Tokenizer::from_hf_dir(dir);
    FAIL() << "no error for " << needle;
  } catch (const FileError& e) {
    EXPECT_NE(e.path().find("tokenizer.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(TokenizerHostileFiles, MalformedTokenizerJson) {
  expect_file_error(write_hf_dir("unknown_merge", R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2},
      "merges": ["a b", "a zz"]}})").string(), "unknown token 'zz'");
  expect_file_error(write_hf_dir("missing_model", R"({"added_tokens": []})").string(), "no \"model\"");
  expect_file_error(write_hf_dir("wordpiece", R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})").string(),
                    "'WordPiece' is not supported");
  expect_file_error(write_hf_dir("bad_json", R"({"model": )").string(), "not valid JSON");
  expect_file_error(write_hf_dir("bad_pre", R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
      "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}})").string(),
                    "does not compile");
  expect_file_error(write_hf_dir("bad_id", R"({"model": {"type": "BPE", "vocab": {"a": -4}, "merges": []}})").string(),
                    "no valid id");
}

TEST(TokenizerHf, SentencePieceStyleBpeWithByteFallback) {
  // Llama 2 / Mistral layout: normalizer prepends "▁" and replaces spaces, no pre-tokenizer,
  // merges by rank over characters, unknown characters as <0xXX>.
  const fs::path dir = write_hf_dir("spm_style", R"({
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                   {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
    "pre_tokenizer": null,
    "added_tokens": [{"id": 8, "content": "<s>", "special": true}],
    "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>",
      "vocab": {"<unk>": 0, "▁": 1, "a": 2, "b": 3, "▁a": 4, "ab": 5, "▁ab": 6, "<0x63>": 7},
      "merges": [["▁", "a"], "a b", "▁a b"]}})");
  std::ofstream(dir / "tokenizer_config.json") << R"({"add_bos_token": true, "bos_token": "<s>"})";
  const Tokenizer tok = Tokenizer::from_hf_dir(dir.string());
  fs::remove_all(dir);
  EXPECT_EQ(tok.kind(), schwarm::TokenizerKind::SentencePieceBpe);
  EXPECT_EQ(tok.encode("ab ac", false), (std::vector<TokenId>{6, 4, 7}));
  EXPECT_EQ(tok.encode("ab", true), (std::vector<TokenId>{8, 6}));
  EXPECT_EQ(tok.decode(tok.encode("ab ac", false)), "ab ac");
  EXPECT_EQ(tok.decode(tok.encode("ab ac", true), true), "ab ac");
  EXPECT_EQ(tok.token_attr(7), schwarm::TokenAttr::Byte);
}

GgufMetadata small_gguf_vocab(const std::string& pre) {
  schwarm::GgufArray tokens{schwarm::GgufValueType::STRING, {}};
  for (const char* t : {"a", "b", "ab"}) tokens.items.push_back(GgufValue::str(t));
  schwarm::GgufArray merges{schwarm::GgufValueType::STRING, {GgufValue::str("a b")}};
  return {{"tokenizer.ggml.model", GgufValue::str("gpt2")},
          {"tokenizer.ggml.pre", GgufValue::str(pre)},
          {"tokenizer.ggml.tokens", GgufValue::array(tokens)},
          {"tokenizer.ggml.merges", GgufValue::array(merges)}};
}

TEST(TokenizerHostileFiles, GgufProblemsNameTheFile) {
  auto md = small_gguf_vocab("gpt-2");
  EXPECT_EQ(Tokenizer::from_gguf(md, "x.gguf").encode("ab", false), std::vector<TokenId>{2});
  md.erase(md.begin() + 2);  // tokens
  try {
    (void)Tokenizer::from_gguf(md, "no-tokens.gguf");
    FAIL();
  } catch (const FileError& e) {
    EXPECT_EQ(e.path(), "no-tokens.gguf");
    EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.tokens"), std::string::npos) << e.what();
  }
  try {
    (void)Tokenizer::from_gguf(small_gguf_vocab("no-such-pre"), "pre.gguf");
    FAIL();
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown pre-tokenizer 'no-such-pre'"), std::string::npos) << e.what();
  }
  auto bert = small_gguf_vocab("gpt-2");
  bert[0].second = GgufValue::str("bert");
  EXPECT_THROW((void)Tokenizer::from_gguf(bert, "bert.gguf"), FileError);
  EXPECT_THROW((void)Tokenizer::open("/nonexistent/tokenizer.gguf"), FileError);
}

TEST(TokenizerApi, OutOfRangeIdsThrow) {
  EXPECT_THROW((void)tiny_gguf().token_to_piece(-1), Error);
  EXPECT_THROW((void)tiny_gguf().token_to_piece(tiny_gguf().n_vocab()), Error);
  const std::vector<TokenId> bad = {5, 1 << 30};
  EXPECT_THROW((void)tiny_gguf().decode(bad), Error);
}

}  // namespace

// GGUF: llama.cpp makes end-of-generation-looking and FIM tokens CONTROL by their text, whatever
// tokenizer.ggml.token_type says; tokenizer.json keeps the file's (and `tokenizers`') view.
TEST(TokenizerGgufTextRules, EogAndFimTokensBecomeControl) {
  const fs::path qwen2 = kModels / "ggml-vocab-qwen2.gguf";
  const fs::path coder = kModels / "ggml-vocab-deepseek-coder.gguf";
  if (!fs::exists(qwen2) || !fs::exists(coder)) GTEST_SKIP() << "llama.cpp vocabs missing";
  const Tokenizer q = Tokenizer::open(qwen2.string());
  EXPECT_EQ(q.encode("a</s>", false, true), (std::vector<TokenId>{64, 128247}));
  EXPECT_NE(q.encode("a</s>", false, false), (std::vector<TokenId>{64, 128247}));
  EXPECT_EQ(q.token_attr(128247), schwarm::TokenAttr::Control);
  EXPECT_TRUE(q.is_end_of_generation(128247));
  const TokenId im_end = q.encode("<|im_end|>", false, true).at(0);
  EXPECT_TRUE(q.is_end_of_generation(im_end));
  EXPECT_FALSE(q.is_end_of_generation(64));

  const Tokenizer c = Tokenizer::open(coder.string());
  for (TokenId id : {32015, 32016, 32017}) {
    EXPECT_EQ(c.token_attr(id), schwarm::TokenAttr::Control) << c.token_text(id);
    const std::string& text = c.token_text(id);
    const auto plain = c.encode(text, false, false);
    EXPECT_NE(plain, std::vector<TokenId>{id}) << text;
    EXPECT_EQ(c.encode(text, false, true), std::vector<TokenId>{id}) << text;
  }
}

// tokenizer.json "normalizer": {"type": "NFC"} is applied (GGUF input is not normalized, as llama.cpp).
TEST(TokenizerHf, NfcNormalizerIsApplied) {
  const fs::path dir = fs::path(kModels).parent_path().parent_path() / "tokenizer-json" / "qwen2";
  const fs::path gguf = kModels / "ggml-vocab-qwen2.gguf";
  if (!fs::exists(dir / "tokenizer.json") || !fs::exists(gguf))
    GTEST_SKIP() << "run tools/fixtures/gguf_vocab_to_tokenizer_json.py";
  const Tokenizer hf = Tokenizer::open(dir.string());
  EXPECT_EQ(hf.encode(" e\xCC\x81", false, true), std::vector<TokenId>{3958});
  EXPECT_EQ(hf.encode(" \xC3\xA9", false, true), std::vector<TokenId>{3958});
  // Special tokens (normalized: false) are matched in the raw text; the text around them is normalized.
  const auto ids = hf.encode("<|im_start|> e\xCC\x81<|im_end|>", false, true);
  ASSERT_EQ(ids.size(), 3u) << show(ids);
  EXPECT_EQ(ids[1], 3958);
  const Tokenizer g = Tokenizer::open(gguf.string());
  EXPECT_EQ(g.encode(" e\xCC\x81", false, true), (std::vector<TokenId>{384, 53839}));
}

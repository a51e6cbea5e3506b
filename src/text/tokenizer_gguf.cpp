// Loading a tokenizer from GGUF tokenizer.ggml.* metadata, as llama.cpp reads it.
#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "schwarm/error.h"
#include "text/tokenizer.h"
#include "text/tokenizer_impl.h"

namespace schwarm {
namespace {

const GgufArray& require_array(const GgufMetadata& md, const std::string& key, const std::string& source) {
  const GgufValue* v = find_metadata(md, key);
  if (!v) throw FileError(source, "tokenizer metadata has no " + key);
  const GgufArray* a = v->as_array();
  if (!a) throw FileError(source, key + " is not an array");
  return *a;
}

std::optional<int64_t> get_int(const GgufMetadata& md, const std::string& key, const std::string& source) {
  const GgufValue* v = find_metadata(md, key);
  if (!v) return std::nullopt;
  auto i = v->as_int();
  if (!i) throw FileError(source, key + " is not an integer");
  return i;
}

std::optional<bool> get_bool(const GgufMetadata& md, const std::string& key, const std::string& source) {
  const GgufValue* v = find_metadata(md, key);
  if (!v) return std::nullopt;
  auto b = v->as_bool();
  if (!b) throw FileError(source, key + " is not a boolean");
  return b;
}

std::string get_string(const GgufMetadata& md, const std::string& key, const std::string& source) {
  const GgufValue* v = find_metadata(md, key);
  if (!v) return {};
  const std::string* s = v->as_string();
  if (!s) throw FileError(source, key + " is not a string");
  return *s;
}


// llama.cpp decides some token types by their text when it loads a GGUF vocabulary, whatever
// tokenizer.ggml.token_type says. The texts below are the ones its loader recognises.

// Fill-in-the-middle roles. A role whose id the file does not give is found by text, and that one
// token is made CONTROL; pad/rep/sep (given or found) also end generation.
struct FimRole {
  const char* id_key;         // tokenizer.ggml.*_token_id
  const char* old_id_key;     // deprecated key for the same role, or nullptr
  std::vector<std::string_view> texts;
  bool ends_generation;
};

const std::array<FimRole, 6>& fim_roles() {
  static const std::array<FimRole, 6> roles = {{
      {"tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id",
       {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>",
        "<|prefix|>"},
       false},
      {"tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id",
       {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>",
        "<|suffix|>"},
       false},
      {"tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id",
       {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>",
        "<|middle|>"},
       false},
      {"tokenizer.ggml.fim_pad_token_id", nullptr, {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}, true},
      {"tokenizer.ggml.fim_rep_token_id", nullptr,
       {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}, true},
      {"tokenizer.ggml.fim_sep_token_id", nullptr, {"<|file_sep|>"}, true},
  }};
  return roles;
}

// Tokens that end generation by their text; each is made CONTROL.
constexpr std::array<std::string_view, 22> kEogTexts = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>",
    "[e~["};

// Tokens llama.cpp always shows as text (gpt-oss): USER_DEFINED whatever the file says.
constexpr std::array<std::string_view, 4> kUserDefinedTexts = {"<|channel|>", "<|message|>", "<|start|>",
                                                                "<|constrain|>"};

template <size_t N>
bool one_of(std::string_view t, const std::array<std::string_view, N>& list) {
  return std::find(list.begin(), list.end(), t) != list.end();
}

// Applies llama.cpp's text-based token types and builds the end-of-generation set. Runs after
// index_texts() and after bos/eos/eot/eom are read. Where several texts of one FIM role are in
// the vocabulary, llama.cpp takes whichever its hash map yields first; we take the lowest id.
void apply_llama_cpp_text_rules(Tokenizer::Impl& m, const GgufMetadata& md, const std::string& source) {
  const auto n = static_cast<TokenId>(m.texts.size());
  // The id text_to_id holds for `text` (the last duplicate), as llama.cpp's token_to_id.
  auto lookup = [&](std::string_view text) { return m.find(text); };
  auto indexed = [&](TokenId id) { return lookup(m.texts[static_cast<size_t>(id)]) == id; };

  std::vector<TokenId> eog;
  auto add_eog = [&](TokenId id) {
    if (id >= 0 && id < n && std::find(eog.begin(), eog.end(), id) == eog.end()) eog.push_back(id);
  };
  for (const FimRole& role : fim_roles()) {
    TokenId id = -1;
    bool given = false;
    for (const char* key : {role.id_key, role.old_id_key}) {
      if (!key) continue;
      if (auto v = get_int(md, key, source); v && *v >= 0 && *v < n) {
        id = static_cast<TokenId>(*v);
        given = true;
      }
    }
    if (!given) {
      for (TokenId i = 0; i < n && id < 0; ++i)
        if (indexed(i) && std::find(role.texts.begin(), role.texts.end(), m.texts[static_cast<size_t>(i)]) !=
                              role.texts.end())
          id = i;
      if (id >= 0) m.attrs[static_cast<size_t>(id)] = TokenAttr::Control;
    }
    if (role.ends_generation) add_eog(id);
  }
  for (TokenId i = 0; i < n; ++i) {
    if (!indexed(i) || !one_of(m.texts[static_cast<size_t>(i)], kEogTexts)) continue;
    add_eog(i);
    m.attrs[static_cast<size_t>(i)] = TokenAttr::Control;
  }
  for (std::string_view t : kUserDefinedTexts)
    if (TokenId id = lookup(t); id >= 0) m.attrs[static_cast<size_t>(id)] = TokenAttr::UserDefined;
  for (TokenId id : {m.eos, m.eot, m.eom}) add_eog(id);

  auto eog_with_text = [&](std::string_view t) {
    for (TokenId id : eog)
      if (m.texts[static_cast<size_t>(id)] == t) return id;
    return TokenId{-1};
  };
  // gpt-oss / solar-open: "<|end|>" ends a message, not the generation.
  const bool has_call = eog_with_text("<|call|>") >= 0 || eog_with_text("<|calls|>") >= 0;
  if (const TokenId end = eog_with_text("<|end|>");
      end >= 0 && has_call && (eog_with_text("<|return|>") >= 0 || eog_with_text("<|flush|>") >= 0)) {
    std::erase(eog, end);
    m.attrs[static_cast<size_t>(end)] = TokenAttr::UserDefined;
  }
  // Gemma 4, PLaMo: "</s>" is an ordinary token there.
  if (const TokenId s = eog_with_text("</s>");
      s >= 0 && (eog_with_text("<|tool_response>") >= 0 || eog_with_text("<|plamo:eos|>") >= 0)) {
    std::erase(eog, s);
    m.attrs[static_cast<size_t>(s)] = TokenAttr::Normal;
  }
  m.eog = std::move(eog);
  m.eog_from_loader = true;
}

}  // namespace

Tokenizer Tokenizer::from_gguf(const GgufMetadata& md, const std::string& source) {
  auto m = std::make_unique<Impl>();
  m->source = source;
  const std::string model = get_string(md, "tokenizer.ggml.model", source);
  std::string pre = get_string(md, "tokenizer.ggml.pre", source);
  if (model.empty()) throw FileError(source, "no tokenizer.ggml.model: the file holds no tokenizer");
  if (model == "gpt2") {
    m->kind = TokenizerKind::BytePairBpe;
    m->algo = BpeAlgo::ByteLevel;
    m->bos = m->eos = 11;  // llama.cpp's defaults for BPE vocabularies
  } else if (model == "llama") {
    m->kind = TokenizerKind::SentencePieceBpe;
    m->algo = BpeAlgo::SpmScores;
    m->bos = 1, m->eos = 2, m->unk = 0;
    m->add_bos = true;
    m->add_space_prefix = true;
    m->escape_whitespace = true;
  } else if (model == "gemma4") {
    m->kind = TokenizerKind::SentencePieceBpe;
    m->algo = BpeAlgo::CharMerges;
    m->escape_whitespace = true;
    m->newline_words_whole = true;
    pre = "gemma4";
  } else if (model == "bert" || model == "t5" || model == "rwkv" || model == "plamo2" || model == "no" ||
             model == "none") {
    throw FileError(source, "tokenizer model '" + model +
                                "' is not supported (only byte-level BPE 'gpt2' and SentencePiece BPE 'llama')");
  } else {
    throw FileError(source, "unknown tokenizer model '" + model + "'");
  }

  const GgufArray& tokens = require_array(md, "tokenizer.ggml.tokens", source);
  if (tokens.items.empty()) throw FileError(source, "tokenizer.ggml.tokens is empty");
  m->texts.reserve(tokens.items.size());
  for (size_t i = 0; i < tokens.items.size(); ++i) {
    const std::string* s = tokens.items[i].as_string();
    if (!s) throw FileError(source, "tokenizer.ggml.tokens[" + std::to_string(i) + "] is not a string");
    m->texts.push_back(*s);
  }
  const size_t n = m->texts.size();
  m->attrs.assign(n, TokenAttr::Normal);
  if (find_metadata(md, "tokenizer.ggml.token_type")) {
    const GgufArray& types = require_array(md, "tokenizer.ggml.token_type", source);
    if (types.items.size() != n)
      throw FileError(source, "tokenizer.ggml.token_type has " + std::to_string(types.items.size()) +
                                  " entries for " + std::to_string(n) + " tokens");
    for (size_t i = 0; i < n; ++i) {
      auto t = types.items[i].as_int();
      if (!t || *t < 1 || *t > 6) t = 1;  // llama.cpp treats unknown types as normal
      m->attrs[i] = static_cast<TokenAttr>(*t);
    }
  }
  if (find_metadata(md, "tokenizer.ggml.scores")) {
    const GgufArray& scores = require_array(md, "tokenizer.ggml.scores", source);
    if (scores.items.size() != n)
      throw FileError(source, "tokenizer.ggml.scores has " + std::to_string(scores.items.size()) +
                                  " entries for " + std::to_string(n) + " tokens");
    m->scores.resize(n);
    for (size_t i = 0; i < n; ++i) m->scores[i] = static_cast<float>(scores.items[i].as_double().value_or(0.0));
  }
  m->index_texts();

  if (m->algo != BpeAlgo::SpmScores) {
    auto regexes = text::PreTokenizer::regexes_for(pre);
    if (!regexes) throw FileError(source, "unknown pre-tokenizer '" + pre + "' (tokenizer.ggml.pre)");
    m->pre = text::PreTokenizer(*regexes);
    if (pre == "llama3" || pre == "llama-v3" || pre == "llama-bpe" || pre == "falcon3" || pre == "pixtral") {
      m->ignore_merges = true;
      m->add_bos = true;
    }
    const GgufArray& merges = require_array(md, "tokenizer.ggml.merges", source);
    int32_t rank = 0;
    for (size_t i = 0; i < merges.items.size(); ++i, ++rank) {
      const std::string* s = merges.items[i].as_string();
      const size_t sp = s ? s->find(' ', 1) : std::string::npos;
      if (sp == std::string::npos)
        throw FileError(source, "tokenizer.ggml.merges[" + std::to_string(i) + "] is not two tokens separated by a space");
      const std::string_view a = std::string_view(*s).substr(0, sp), b = std::string_view(*s).substr(sp + 1);
      const TokenId la = m->find(a), lb = m->find(b), lm = m->find(std::string(a) + std::string(b));
      if (la < 0 || lb < 0 || lm < 0) continue;  // llama.cpp never reaches such a merge either
      m->merges.add(la, lb, rank, lm);
    }
  }

  auto id_key = [&](const char* key, TokenId& dst) {
    if (auto v = get_int(md, key, source)) {
      if (*v < -1 || *v >= static_cast<int64_t>(n))
        throw FileError(source, std::string(key) + " = " + std::to_string(*v) + " is outside the vocabulary");
      dst = static_cast<TokenId>(*v);
    }
  };
  id_key("tokenizer.ggml.bos_token_id", m->bos);
  id_key("tokenizer.ggml.eos_token_id", m->eos);
  id_key("tokenizer.ggml.unknown_token_id", m->unk);
  id_key("tokenizer.ggml.eot_token_id", m->eot);
  id_key("tokenizer.ggml.eom_token_id", m->eom);
  if (m->bos >= static_cast<TokenId>(n)) m->bos = -1;
  if (m->eos >= static_cast<TokenId>(n)) m->eos = -1;
  if (m->unk >= static_cast<TokenId>(n)) m->unk = -1;
  if (auto b = get_bool(md, "tokenizer.ggml.add_bos_token", source)) m->add_bos = *b;
  if (auto b = get_bool(md, "tokenizer.ggml.add_eos_token", source)) m->add_eos = *b;
  if (auto b = get_bool(md, "tokenizer.ggml.add_space_prefix", source)) m->add_space_prefix = *b;
  apply_llama_cpp_text_rules(*m, md, source);

  // GGUF has no lstrip/rstrip flags; llama.cpp sets them by model name.
  std::string name = get_string(md, "general.name", source);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  m->lstrip.assign(n, 0);
  m->rstrip.assign(n, 0);
  if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
    for (size_t i = 0; i < n; ++i) {
      const TokenAttr a = m->attrs[i];
      if (a == TokenAttr::Control || a == TokenAttr::UserDefined || a == TokenAttr::Unknown) m->rstrip[i] = 1;
    }
    if (TokenId id = m->find("</s>"); id >= 0) m->rstrip[id] = 1;
    for (const char* t : {"<unk>", "<s>", "<|endoftext|>"})
      if (TokenId id = m->find(t); id >= 0) m->rstrip[id] = 0;
  }
  m->finalize();
  return Tokenizer(std::move(m));
}

}  // namespace schwarm

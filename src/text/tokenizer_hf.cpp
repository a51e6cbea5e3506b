// Loading a tokenizer from a Hugging Face directory: tokenizer.json (model, added tokens,
// normalizer, pre-tokenizer) and tokenizer_config.json (bos/eos and whether to add them).
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/json_file.h"
#include "schwarm/error.h"
#include "text/tokenizer.h"
#include "text/tokenizer_impl.h"

namespace schwarm {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int64_t kMaxVocab = 1 << 24;


std::string regex_quote(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$.|?*+()[]{}-/").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// What the loader learns from the normalizer and pre-tokenizer.
struct TextPipeline {
  std::vector<std::string> regexes;
  bool byte_level = false;
  bool escape_whitespace = false;
  bool add_space_prefix = false;
  bool nfc = false;
};

void read_normalizer(const json& n, const std::string& where, TextPipeline& p) {
  if (n.is_null()) return;
  const std::string type = n.is_object() ? n.value("type", "") : "";
  if (type == "Sequence") {
    for (const auto& s : n.value("normalizers", json::array())) read_normalizer(s, where, p);
  } else if (type == "NFC") {
    p.nfc = true;
  } else if (type == "Prepend" && n.value("prepend", "") == "\xE2\x96\x81") {
    p.add_space_prefix = true;
  } else if (type == "Replace" && n.contains("pattern") && n["pattern"].is_object() &&
             n["pattern"].value("String", "") == " " && n.value("content", "") == "\xE2\x96\x81") {
    p.escape_whitespace = true;
  } else {
    throw FileError(where, "normalizer '" + (type.empty() ? n.dump() : type) + "' is not supported");
  }
}

void read_pre_tokenizer(const json& t, const std::string& where, TextPipeline& p) {
  if (t.is_null()) return;
  const std::string type = t.is_object() ? t.value("type", "") : "";
  if (type == "Sequence") {
    for (const auto& s : t.value("pretokenizers", json::array())) read_pre_tokenizer(s, where, p);
  } else if (type == "ByteLevel") {
    if (t.value("add_prefix_space", false))
      throw FileError(where, "pre_tokenizer ByteLevel with add_prefix_space is not supported");
    p.byte_level = true;
    if (t.value("use_regex", true)) p.regexes.push_back(text::PreTokenizer::gpt2_regex());
  } else if (type == "Split") {
    const json& pat = t.value("pattern", json::object());
    const std::string behavior = t.value("behavior", "");
    if (behavior != "Isolated" || t.value("invert", false))
      throw FileError(where, "pre_tokenizer Split with behavior '" + behavior + "'" +
                                 (t.value("invert", false) ? " inverted" : "") + " is not supported (only Isolated)");
    if (pat.contains("Regex") && pat["Regex"].is_string())
      p.regexes.push_back(pat["Regex"].get<std::string>());
    else if (pat.contains("String") && pat["String"].is_string())
      p.regexes.push_back(regex_quote(pat["String"].get<std::string>()));
    else
      throw FileError(where, "pre_tokenizer Split has no Regex or String pattern");
  } else if (type == "Digits") {
    p.regexes.push_back(t.value("individual_digits", false) ? "\\p{N}" : "\\p{N}+");
  } else if (type == "Metaspace") {
    if (t.value("replacement", "\xE2\x96\x81") != "\xE2\x96\x81")
      throw FileError(where, "pre_tokenizer Metaspace with a replacement other than U+2581 is not supported");
    p.escape_whitespace = true;
    const std::string scheme = t.value("prepend_scheme", t.value("add_prefix_space", true) ? "always" : "never");
    p.add_space_prefix = scheme != "never";
    if (t.value("split", true)) p.regexes.push_back("\xE2\x96\x81[^\xE2\x96\x81]*");
  } else {
    throw FileError(where, "pre_tokenizer '" + (type.empty() ? t.dump() : type) + "' is not supported");
  }
}

// tokenizer_config.json writes special tokens as "text" or {"content": "text", ...}.
std::string config_token(const json& cfg, const char* key) {
  if (!cfg.contains(key)) return {};
  const json& j = cfg[key];
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string()) return j["content"].get<std::string>();
  return {};
}

}  // namespace

Tokenizer Tokenizer::from_hf_dir(const std::string& dir) {
  const fs::path tok_path = fs::path(dir) / "tokenizer.json";
  std::error_code ec;
  if (!fs::exists(tok_path, ec)) throw FileError(dir, "no tokenizer.json in this directory");
  const std::string where = tok_path.string();
  const json tok = read_json_file(tok_path.string());
  if (!tok.is_object() || !tok.contains("model") || !tok["model"].is_object())
    throw FileError(where, "no \"model\" object: not a Hugging Face tokenizer.json");
  const json& model = tok["model"];
  const std::string type = model.value("type", model.contains("merges") ? "BPE" : "");
  if (type != "BPE")
    throw FileError(where, "tokenizer model type '" + type + "' is not supported (only BPE)");

  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(key) && !model[key].is_null() && model[key] != "")
      throw FileError(where, std::string("BPE with ") + key + " is not supported");

  auto m = std::make_unique<Impl>();
  m->source = where;
  // Vocabulary: model.vocab plus added_tokens, by id.
  if (!model.contains("vocab") || !model["vocab"].is_object()) throw FileError(where, "model has no \"vocab\" object");
  const json added = tok.value("added_tokens", json::array());
  if (!added.is_array()) throw FileError(where, "\"added_tokens\" is not an array");
  int64_t max_id = -1;
  auto check_id = [&](const json& id, const std::string& what) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= kMaxVocab)
      throw FileError(where, what + " has no valid id");
    max_id = std::max(max_id, id.get<int64_t>());
    return static_cast<TokenId>(id.get<int64_t>());
  };
  for (const auto& [text, id] : model["vocab"].items()) check_id(id, "vocab entry '" + text + "'");
  for (const auto& a : added) {
    if (!a.is_object() || !a.contains("content") || !a["content"].is_string())
      throw FileError(where, "an added_tokens entry has no \"content\" string");
    check_id(a.value("id", json()), "added token '" + a["content"].get<std::string>() + "'");
  }
  const size_t n = static_cast<size_t>(max_id + 1);
  if (n == 0) throw FileError(where, "the vocabulary is empty");
  m->texts.assign(n, std::string());
  m->attrs.assign(n, TokenAttr::Unused);
  m->lstrip.assign(n, 0);
  m->rstrip.assign(n, 0);
  m->normalized.assign(n, 0);
  for (const auto& [text, id] : model["vocab"].items()) {
    const TokenId i = id.get<TokenId>();
    if (m->attrs[i] != TokenAttr::Unused) throw FileError(where, "token id " + std::to_string(i) + " is used twice");
    m->texts[i] = text;
    m->attrs[i] = TokenAttr::Normal;
  }

  TextPipeline pipe;
  read_normalizer(tok.value("normalizer", json()), where, pipe);
  read_pre_tokenizer(tok.value("pre_tokenizer", json()), where, pipe);
  m->algo = pipe.byte_level ? BpeAlgo::ByteLevel : BpeAlgo::CharMerges;
  m->kind = pipe.byte_level ? TokenizerKind::BytePairBpe : TokenizerKind::SentencePieceBpe;
  m->escape_whitespace = pipe.escape_whitespace;
  m->add_space_prefix = pipe.add_space_prefix;
  m->nfc = pipe.nfc;
  m->byte_fallback = model.value("byte_fallback", false) || pipe.byte_level;
  m->ignore_merges = model.value("ignore_merges", false);
  try {
    m->pre = text::PreTokenizer(pipe.regexes);
  } catch (const Error& e) {
    throw FileError(where, e.what());
  }
  if (!pipe.byte_level)
    for (size_t i = 0; i < n; ++i) {
      const std::string& t = m->texts[i];
      if (t.size() == 6 && t.starts_with("<0x") && t.back() == '>') m->attrs[i] = TokenAttr::Byte;
    }

  for (const auto& a : added) {
    const TokenId i = a["id"].get<TokenId>();
    m->texts[i] = a["content"].get<std::string>();
    const bool special = a.value("special", false);
    m->attrs[i] = special ? TokenAttr::Control : TokenAttr::UserDefined;
    m->normalized[i] = a.value("normalized", !special);  // the default of `tokenizers`' AddedToken
    m->lstrip[i] = a.value("lstrip", false);
    m->rstrip[i] = a.value("rstrip", false);
  }
  m->index_texts();
  if (model.contains("unk_token") && model["unk_token"].is_string()) m->unk = m->find(model["unk_token"].get<std::string>());

  // Merges: "a b" strings or ["a", "b"] pairs; rank is the position.
  const json merges = model.value("merges", json::array());
  if (!merges.is_array()) throw FileError(where, "model \"merges\" is not an array");
  for (size_t r = 0; r < merges.size(); ++r) {
    const json& e = merges[r];
    std::string a, b;
    if (e.is_string()) {
      const std::string s = e.get<std::string>();
      const size_t sp = s.find(' ', 1);
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        throw FileError(where, "merges[" + std::to_string(r) + "] '" + s + "' is not two tokens separated by a space");
      a = s.substr(0, sp), b = s.substr(sp + 1);
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      a = e[0].get<std::string>(), b = e[1].get<std::string>();
    } else {
      throw FileError(where, "merges[" + std::to_string(r) + "] is neither \"a b\" nor [\"a\", \"b\"]");
    }
    const TokenId la = m->find(a), lb = m->find(b), lm = m->find(a + b);
    for (const auto& [id, t] : {std::pair{la, a}, std::pair{lb, b}, std::pair{lm, a + b}})
      if (id < 0) throw FileError(where, "merges[" + std::to_string(r) + "] names unknown token '" + t + "'");
    m->merges.add(la, lb, static_cast<int32_t>(r), lm);
  }

  // BOS/EOS: tokenizer_config.json, else the post-processor's template.
  const fs::path cfg_path = fs::path(dir) / "tokenizer_config.json";
  json cfg = fs::exists(cfg_path, ec) ? read_json_file(cfg_path.string()) : json::object();
  if (!cfg.is_object()) throw FileError(cfg_path.string(), "not a JSON object");
  auto token_id = [&](const std::string& text, const char* key) -> TokenId {
    if (text.empty()) return -1;
    const TokenId id = m->find(text);
    if (id < 0) throw FileError(cfg_path.string(), std::string(key) + " '" + text + "' is not in the vocabulary");
    return id;
  };
  m->bos = token_id(config_token(cfg, "bos_token"), "bos_token");
  m->eos = token_id(config_token(cfg, "eos_token"), "eos_token");
  m->add_bos = cfg.value("add_bos_token", false);
  m->add_eos = cfg.value("add_eos_token", false);
  const json post = tok.value("post_processor", json());
  if (!cfg.contains("add_bos_token") && post.is_object() && post.value("type", "") == "TemplateProcessing") {
    const json single = post.value("single", json::array());
    if (single.is_array() && !single.empty() && single[0].contains("SpecialToken")) {
      const TokenId id = m->find(single[0]["SpecialToken"].value("id", ""));
      if (id >= 0) {
        m->add_bos = true;
        if (m->bos < 0) m->bos = id;
      }
    }
  }
  m->finalize();
  return Tokenizer(std::move(m));
}

}  // namespace schwarm

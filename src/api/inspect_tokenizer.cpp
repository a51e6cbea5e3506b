#include "api/inspect_tokenizer.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/utf8.h"
#include "io/json_file.h"
#include "schwarm/error.h"

namespace schwarm {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {


// tokenizer_config.json writes special tokens as "text" or as {"content": "text", ...}.
std::string token_text(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string())
    return j["content"].get<std::string>();
  return "";
}

}  // namespace

TokenizerSummary summarize_hf_tokenizer(const std::string& dir) {
  TokenizerSummary s;
  const fs::path tok_path = fs::path(dir) / "tokenizer.json";
  std::error_code ec;
  if (!fs::exists(tok_path, ec)) return s;
  const json tok = read_json_file(tok_path.string());
  const std::string where = tok_path.string();
  if (!tok.is_object() || !tok.contains("model") || !tok["model"].is_object())
    throw FileError(where, "no \"model\" object: not a Hugging Face tokenizer.json");
  const json& model = tok["model"];
  s.present = true;
  s.source = "tokenizer.json";
  s.model = model.value("type", std::string("?"));
  if (tok.contains("pre_tokenizer") && tok["pre_tokenizer"].is_object())
    s.pre = tok["pre_tokenizer"].value("type", std::string(""));

  int64_t max_id = -1;
  json token_ids = json::object();  // token text -> id, for the bos/eos lookup
  if (model.contains("vocab") && model["vocab"].is_object()) {
    for (const auto& [text, id] : model["vocab"].items()) {
      if (!id.is_number_integer()) throw FileError(where, "vocab entry '" + text + "' has no integer id");
      max_id = std::max<int64_t>(max_id, id.get<int64_t>());
      token_ids[text] = id;
    }
  } else if (model.contains("vocab") && model["vocab"].is_array()) {  // Unigram: [[piece, score]]
    max_id = static_cast<int64_t>(model["vocab"].size()) - 1;
  }
  if (model.contains("merges") && model["merges"].is_array()) s.merges = model["merges"].size();
  if (tok.contains("added_tokens") && tok["added_tokens"].is_array()) {
    for (const json& t : tok["added_tokens"]) {
      if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() ||
          !t.contains("content") || !t["content"].is_string())
        throw FileError(where, "an added_tokens entry lacks an integer \"id\" or a \"content\"");
      max_id = std::max<int64_t>(max_id, t["id"].get<int64_t>());
      token_ids[t["content"].get<std::string>()] = t["id"];
      ++s.added_tokens;
    }
  }
  s.vocab_size = max_id + 1;

  const fs::path cfg_path = fs::path(dir) / "tokenizer_config.json";
  if (fs::exists(cfg_path, ec)) {
    const json cfg = read_json_file(cfg_path.string());
    if (!cfg.is_object()) throw FileError(cfg_path.string(), "not a JSON object");
    if (cfg.contains("bos_token")) s.bos_token = token_text(cfg["bos_token"]);
    if (cfg.contains("eos_token")) s.eos_token = token_text(cfg["eos_token"]);
    s.has_chat_template = cfg.contains("chat_template") && !cfg["chat_template"].is_null();
  }
  if (fs::exists(fs::path(dir) / "chat_template.jinja", ec) ||
      fs::exists(fs::path(dir) / "chat_template.json", ec))
    s.has_chat_template = true;
  if (!s.bos_token.empty() && token_ids.contains(s.bos_token)) s.bos_id = token_ids[s.bos_token].get<int64_t>();
  if (!s.eos_token.empty() && token_ids.contains(s.eos_token)) s.eos_id = token_ids[s.eos_token].get<int64_t>();
  return s;
}

TokenizerSummary summarize_gguf_tokenizer(const GgufMetadata& md) {
  TokenizerSummary s;
  const GgufValue* model = find_metadata(md, "tokenizer.ggml.model");
  const GgufValue* tokens = find_metadata(md, "tokenizer.ggml.tokens");
  if (!model && !tokens) return s;
  s.present = true;
  s.source = "gguf";
  if (model && model->as_string()) s.model = sanitize_utf8(*model->as_string());
  if (const GgufValue* pre = find_metadata(md, "tokenizer.ggml.pre"); pre && pre->as_string())
    s.pre = sanitize_utf8(*pre->as_string());
  const GgufArray* token_list = tokens ? tokens->as_array() : nullptr;
  if (token_list) s.vocab_size = static_cast<int64_t>(token_list->items.size());
  if (const GgufValue* m = find_metadata(md, "tokenizer.ggml.merges"); m && m->as_array())
    s.merges = static_cast<int64_t>(m->as_array()->items.size());
  if (const GgufValue* t = find_metadata(md, "tokenizer.ggml.token_type"); t && t->as_array()) {
    for (const GgufValue& v : t->as_array()->items) {
      auto type = v.as_int();
      if (type && (*type == 3 || *type == 4)) ++s.added_tokens;  // CONTROL, USER_DEFINED
    }
  }
  auto token_at = [&](int64_t id) -> std::string {
    if (!token_list || id < 0 || id >= static_cast<int64_t>(token_list->items.size())) return "";
    const std::string* text = token_list->items[static_cast<size_t>(id)].as_string();
    return text ? sanitize_utf8(*text) : "";
  };
  if (const GgufValue* b = find_metadata(md, "tokenizer.ggml.bos_token_id"); b && b->as_int()) {
    s.bos_id = *b->as_int();
    s.bos_token = token_at(*s.bos_id);
  }
  if (const GgufValue* e = find_metadata(md, "tokenizer.ggml.eos_token_id"); e && e->as_int()) {
    s.eos_id = *e->as_int();
    s.eos_token = token_at(*s.eos_id);
  }
  s.has_chat_template = find_metadata(md, "tokenizer.chat_template") != nullptr;
  return s;
}

}  // namespace schwarm

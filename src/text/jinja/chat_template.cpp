// ChatTemplate: parse once, render many times; checkpoint template discovery.
#include "text/jinja/chat_template.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/gguf_file.h"
#include "schwarm/error.h"
#include "text/jinja/ast.h"
#include "text/jinja/interpreter.h"

namespace schwarm {

ChatTemplate ChatTemplate::parse(std::string source, std::string name) {
  ChatTemplate t;
  t.tmpl_ = std::make_shared<jinja::Template>(jinja::parse_template(source, name));
  t.name_ = std::move(name);
  return t;
}

std::string ChatTemplate::render(const nlohmann::ordered_json& context, const ChatTemplateOptions& options) const {
  if (!context.is_object()) throw Error(name_ + ": the context must be a JSON object");
  jinja::Interpreter in;
  in.now = options.now;
  in.max_steps = options.max_steps;
  return in.render(*tmpl_, jinja::Value::from_json(context));
}

namespace {

std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw FileError(p.string(), "cannot read");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// "bos_token": "<s>" or {"content": "<s>", ...} (AddedToken form).
std::optional<std::string> token_string(const nlohmann::ordered_json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
  return std::nullopt;
}

std::optional<std::string> gguf_token(const GgufMetadata& md, const char* id_key) {
  const GgufValue* id = find_metadata(md, id_key);
  const GgufValue* tokens = find_metadata(md, "tokenizer.ggml.tokens");
  if (!id || !tokens || !id->as_int() || !tokens->as_array()) return std::nullopt;
  const int64_t i = *id->as_int();
  const auto& items = tokens->as_array()->items;
  if (i < 0 || static_cast<size_t>(i) >= items.size() || !items[static_cast<size_t>(i)].as_string()) return std::nullopt;
  return *items[static_cast<size_t>(i)].as_string();
}

}  // namespace

CheckpointChatTemplate find_chat_template(const std::string& path) {
  namespace fs = std::filesystem;
  CheckpointChatTemplate out;
  if (fs::is_directory(path)) {
    const fs::path dir(path);
    const fs::path cfg_path = dir / "tokenizer_config.json";
    nlohmann::ordered_json cfg = nlohmann::ordered_json::object();
    if (fs::exists(cfg_path)) {
      try {
        cfg = nlohmann::ordered_json::parse(read_text(cfg_path));
      } catch (const nlohmann::json::exception& e) {
        throw FileError(cfg_path.string(), std::string("invalid JSON: ") + e.what());
      }
      if (!cfg.is_object()) throw FileError(cfg_path.string(), "not a JSON object");
      out.bos_token = token_string(cfg, "bos_token");
      out.eos_token = token_string(cfg, "eos_token");
    }
    if (auto it = cfg.find("chat_template"); it != cfg.end() && !it->is_null()) {
      out.origin = cfg_path.string();
      if (it->is_string()) {
        out.source = it->get<std::string>();
        return out;
      }
      if (it->is_array()) {
        for (const auto& e : *it)
          if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string()) {
            out.source = e["template"].get<std::string>();
            return out;
          }
        throw FileError(cfg_path.string(), "chat_template list has no \"default\" entry");
      }
      throw FileError(cfg_path.string(), "chat_template is neither a string nor a list");
    }
    const fs::path jinja_path = dir / "chat_template.jinja";
    if (fs::exists(jinja_path)) {
      out.origin = jinja_path.string();
      out.source = read_text(jinja_path);
      return out;
    }
    throw FileError(path, "no chat template (tokenizer_config.json chat_template or chat_template.jinja)");
  }
  const GgufFile g = GgufFile::open(path);
  const GgufValue* t = find_metadata(g.metadata(), "tokenizer.chat_template");
  if (!t || !t->as_string()) throw FileError(path, "no tokenizer.chat_template in the GGUF metadata");
  out.origin = path;
  out.source = *t->as_string();
  out.bos_token = gguf_token(g.metadata(), "tokenizer.ggml.bos_token_id");
  out.eos_token = gguf_token(g.metadata(), "tokenizer.ggml.eos_token_id");
  return out;
}

void fill_special_tokens(nlohmann::ordered_json& context, const CheckpointChatTemplate& t) {
  if (t.bos_token && !context.contains("bos_token")) context["bos_token"] = *t.bos_token;
  if (t.eos_token && !context.contains("eos_token")) context["eos_token"] = *t.eos_token;
}

}  // namespace schwarm

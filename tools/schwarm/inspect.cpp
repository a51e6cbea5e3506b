// schwarm inspect PATH: what is in a checkpoint, as a table or as JSON.
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "schwarm/inspect.h"
#include "subcommands.h"

namespace schwarm::cli {
namespace {

// 671026419200 -> "671.03 B"; small counts stay exact.
std::string human_count(int64_t n) {
  char buf[64];
  if (n >= 1'000'000'000) std::snprintf(buf, sizeof buf, "%.2f B", n / 1e9);
  else if (n >= 1'000'000) std::snprintf(buf, sizeof buf, "%.2f M", n / 1e6);
  else if (n >= 10'000) std::snprintf(buf, sizeof buf, "%.1f K", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%" PRId64, n);
  return buf;
}

std::string human_bytes(uint64_t n) {
  char buf[64];
  if (n >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", n / double(1ull << 30));
  else if (n >= (1ull << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", n / double(1ull << 20));
  else if (n >= (1ull << 10)) std::snprintf(buf, sizeof buf, "%.1f KiB", n / double(1ull << 10));
  else std::snprintf(buf, sizeof buf, "%" PRIu64 " B", n);
  return buf;
}

std::string value_text(const InspectValue& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.10g", *d);
    return buf;
  }
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  return std::get<std::string>(v);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

nlohmann::json value_json(const InspectValue& v) {
  return std::visit([](const auto& x) { return nlohmann::json(x); }, v);
}

nlohmann::json to_json(const CheckpointSummary& s) {
  using nlohmann::json;
  json j;
  j["path"] = s.path;
  j["format"] = s.format;
  j["files"] = s.files;
  j["architecture"] = s.architecture;
  j["family"] = s.family;
  j["config_error"] = s.config_error.empty() ? json(nullptr) : json(s.config_error);
  json hp = json::object();
  for (const auto& [k, v] : s.hyperparameters) hp[k] = value_json(v);
  j["hyperparameters"] = hp;
  const TokenizerSummary& t = s.tokenizer;
  if (t.present) {
    j["tokenizer"] = {{"source", t.source}, {"model", t.model}, {"pre", t.pre},
                      {"vocab_size", t.vocab_size}, {"merges", t.merges},
                      {"added_tokens", t.added_tokens},
                      {"bos_id", t.bos_id ? json(*t.bos_id) : json(nullptr)},
                      {"eos_id", t.eos_id ? json(*t.eos_id) : json(nullptr)},
                      {"bos_token", t.bos_token}, {"eos_token", t.eos_token},
                      {"chat_template", t.has_chat_template}};
  } else {
    j["tokenizer"] = nullptr;
  }
  j["params"] = {{"total", s.total_params},
                 {"active", s.active_params ? json(*s.active_params) : json(nullptr)}};
  j["tensor_bytes"] = s.tensor_bytes;
  j["kv_cache_bytes_per_token"] = s.kv_cache_bytes_per_token ? json(*s.kv_cache_bytes_per_token) : json(nullptr);
  json tensors = json::array();
  for (const TensorSummary& ts : s.tensors)
    tensors.push_back({{"name", ts.name}, {"type", ts.type}, {"shape", ts.shape}, {"bytes", ts.bytes}, {"file", ts.file}});
  j["tensors"] = tensors;
  if (!s.metadata.empty()) {
    json md = json::object();
    for (const auto& [k, v] : s.metadata) md[k] = value_json(v);
    j["metadata"] = md;
  }
  return j;
}

void print_table(const CheckpointSummary& s) {
  std::printf("%s\n", s.path.c_str());
  std::printf("  format          %s (%zu file%s)\n", s.format.c_str(), s.files.size(), s.files.size() == 1 ? "" : "s");
  std::printf("  architecture    %s%s%s%s\n", s.architecture.empty() ? "?" : s.architecture.c_str(),
              s.family.empty() ? "" : " (family ", s.family.c_str(), s.family.empty() ? "" : ")");
  if (!s.config_error.empty()) std::printf("  config          not usable: %s\n", s.config_error.c_str());
  std::printf("  parameters      %s total, %s active per token\n", human_count(s.total_params).c_str(),
              s.active_params ? human_count(*s.active_params).c_str() : "unknown");
  std::printf("  tensor data     %s in %zu tensors\n", human_bytes(s.tensor_bytes).c_str(), s.tensors.size());
  if (s.kv_cache_bytes_per_token)
    std::printf("  kv cache        %" PRId64 " bytes per token (f32)\n", *s.kv_cache_bytes_per_token);
  else
    std::printf("  kv cache        unknown bytes per token (no usable config)\n");

  if (!s.hyperparameters.empty()) {
    std::printf("\nhyperparameters\n");
    for (const auto& [k, v] : s.hyperparameters) std::printf("  %-46s %s\n", k.c_str(), value_text(v).c_str());
  }
  const TokenizerSummary& t = s.tokenizer;
  std::printf("\ntokenizer\n");
  if (!t.present) {
    std::printf("  none found\n");
  } else {
    std::printf("  source          %s\n", t.source.c_str());
    std::printf("  model           %s%s%s\n", t.model.c_str(), t.pre.empty() ? "" : ", pre-tokenizer ", t.pre.c_str());
    std::printf("  vocabulary      %" PRId64 " tokens, %" PRId64 " merges, %" PRId64 " added/special\n",
                t.vocab_size, t.merges, t.added_tokens);
    auto special = [](const std::string& text, const std::optional<int64_t>& id) {
      if (text.empty() && !id) return std::string("none");
      return text + (id ? " (id " + std::to_string(*id) + ")" : "");
    };
    std::printf("  bos             %s\n", special(t.bos_token, t.bos_id).c_str());
    std::printf("  eos             %s\n", special(t.eos_token, t.eos_id).c_str());
    std::printf("  chat template   %s\n", t.has_chat_template ? "yes" : "no");
  }

  size_t name_w = 4;
  for (const TensorSummary& ts : s.tensors) name_w = std::max(name_w, ts.name.size());
  std::printf("\ntensors\n  %-*s  %-8s  %-22s  %s\n", int(name_w), "name", "type", "shape", "bytes");
  for (const TensorSummary& ts : s.tensors) {
    std::printf("  %-*s  %-8s  %-22s  %" PRIu64 "\n", int(name_w), ts.name.c_str(), ts.type.c_str(),
                shape_text(ts.shape).c_str(), ts.bytes);
  }
}

}  // namespace

void add_inspect(CLI::App& app, Runner& run) {
  auto* cmd = app.add_subcommand("inspect", "Show what is in a checkpoint (HF directory, .safetensors or .gguf)");
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("path", *path, "Checkpoint: a Hugging Face directory, a .safetensors file or a .gguf file")
      ->required();
  cmd->add_flag("--json", *json, "Print the same content as JSON");
  cmd->callback([&run, path, json] {
    run = [path, json] {
      const CheckpointSummary s = inspect_checkpoint(*path);
      if (*json) {
        // Names were made valid UTF-8 by the library; replace anyway rather than throw.
        std::printf("%s\n", to_json(s).dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
      } else {
        print_table(s);
      }
      return 0;
    };
  });
}

}  // namespace schwarm::cli

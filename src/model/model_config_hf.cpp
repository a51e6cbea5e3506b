// ModelConfig from a Hugging Face config.json. Absent keys take the defaults of the matching
// transformers config class (DeepseekV2Config, DeepseekV3Config, Qwen3MoeConfig, MixtralConfig,
// OlmoeConfig, LlamaConfig, Qwen2Config, Qwen3Config), except the core sizes (vocab_size,
// hidden_size, num_hidden_layers, num_attention_heads, intermediate_size): a config.json without
// them is broken, not a request for a default model, so they are required.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "model/model_config.h"
#include "schwarm/error.h"

namespace schwarm {
namespace {

using json = nlohmann::json;

const char* json_type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "object";
    case json::value_t::array: return "array";
    case json::value_t::string: return "string";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    default: return "value";
  }
}

// Typed access to one JSON object; errors read "SOURCE: key 'PREFIX.KEY' ...".
class Obj {
 public:
  Obj(const json& o, const std::string& source, std::string prefix = {})
      : o_(o), source_(source), prefix_(std::move(prefix)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw Error(source_ + ": key '" + prefix_ + key + "' " + problem);
  }
  // nullptr when the key is absent or null (transformers treats both as "use the default").
  const json* get(const std::string& key) const {
    auto it = o_.find(key);
    if (it == o_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  bool has(const std::string& key) const { return get(key) != nullptr; }

  int64_t to_int(const std::string& key, const json& v) const {
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) fail(key, "is out of range");
      return static_cast<int64_t>(u);
    }
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float()) {
      const double d = v.get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) <= 9007199254740992.0)
        return static_cast<int64_t>(d);
      fail(key, "must be an integer (got " + v.dump() + ")");
    }
    fail(key, std::string("must be an integer (got ") + json_type_name(v) + ")");
  }
  int64_t req_int(const std::string& key) const {
    const json* v = get(key);
    if (!v) fail(key, "is missing");
    return to_int(key, *v);
  }
  int64_t opt_int(const std::string& key, int64_t def) const {
    const json* v = get(key);
    return v ? to_int(key, *v) : def;
  }
  double opt_double(const std::string& key, double def) const {
    const json* v = get(key);
    if (!v) return def;
    if (!v->is_number()) fail(key, std::string("must be a number (got ") + json_type_name(*v) + ")");
    const double d = v->get<double>();
    if (!std::isfinite(d)) fail(key, "must be finite");
    return d;
  }
  bool opt_bool(const std::string& key, bool def) const {
    const json* v = get(key);
    if (!v) return def;
    if (!v->is_boolean())
      fail(key, std::string("must be a boolean (got ") + json_type_name(*v) + ")");
    return v->get<bool>();
  }
  std::string opt_string(const std::string& key, const std::string& def) const {
    const json* v = get(key);
    if (!v) return def;
    if (!v->is_string()) fail(key, std::string("must be a string (got ") + json_type_name(*v) + ")");
    return v->get<std::string>();
  }
  const json* opt_object(const std::string& key) const {
    const json* v = get(key);
    if (v && !v->is_object())
      fail(key, std::string("must be an object (got ") + json_type_name(*v) + ")");
    return v;
  }
  const std::string& prefix() const { return prefix_; }

 private:
  const json& o_;
  const std::string& source_;
  std::string prefix_;
};

struct ArchInfo {
  ArchFamily family;
  bool deepseek_v3;  // V3 defaults (also Kimi K2)
};

const std::map<std::string, ArchInfo>& hf_architectures() {
  static const std::map<std::string, ArchInfo> m = {
      {"DeepseekV2ForCausalLM", {ArchFamily::DeepSeek, false}},
      {"DeepseekV3ForCausalLM", {ArchFamily::DeepSeek, true}},
      {"Qwen3MoeForCausalLM", {ArchFamily::Qwen3Moe, false}},
      {"MixtralForCausalLM", {ArchFamily::Mixtral, false}},
      {"OlmoeForCausalLM", {ArchFamily::Olmoe, false}},
      {"LlamaForCausalLM", {ArchFamily::Llama, false}},
      {"Qwen2ForCausalLM", {ArchFamily::Qwen2, false}},
      {"Qwen3ForCausalLM", {ArchFamily::Qwen3, false}},
  };
  return m;
}

const std::map<std::string, ArchInfo>& hf_model_types() {
  static const std::map<std::string, ArchInfo> m = {
      {"deepseek_v2", {ArchFamily::DeepSeek, false}}, {"deepseek_v3", {ArchFamily::DeepSeek, true}},
      {"kimi_k2", {ArchFamily::DeepSeek, true}},      {"qwen3_moe", {ArchFamily::Qwen3Moe, false}},
      {"mixtral", {ArchFamily::Mixtral, false}},      {"olmoe", {ArchFamily::Olmoe, false}},
      {"llama", {ArchFamily::Llama, false}},          {"qwen2", {ArchFamily::Qwen2, false}},
      {"qwen3", {ArchFamily::Qwen3, false}},
  };
  return m;
}

std::string known_list(const std::map<std::string, ArchInfo>& m) {
  std::string s;
  for (const auto& [k, v] : m) s += (s.empty() ? "" : ", ") + k;
  return s;
}

ArchInfo detect_arch(const Obj& o, ModelConfig& c) {
  c.model_type = o.opt_string("model_type", "");
  if (const json* a = o.get("architectures")) {
    if (!a->is_array() || a->empty())
      o.fail("architectures", "must be a non-empty array of strings");
    const json& first = (*a)[0];
    if (!first.is_string()) o.fail("architectures", "must be a non-empty array of strings");
    c.architecture = first.get<std::string>();
    auto it = hf_architectures().find(c.architecture);
    if (it == hf_architectures().end())
      o.fail("architectures", "names unknown architecture '" + c.architecture +
                                  "' (known: " + known_list(hf_architectures()) + ")");
    return it->second;
  }
  if (c.model_type.empty()) o.fail("architectures", "is missing (and so is 'model_type')");
  auto it = hf_model_types().find(c.model_type);
  if (it == hf_model_types().end())
    o.fail("model_type", "names unknown model type '" + c.model_type +
                             "' (known: " + known_list(hf_model_types()) + ")");
  c.architecture = c.model_type;
  return it->second;
}

void read_rope_scaling(const json& config, const std::string& source, ModelConfig& c) {
  const Obj top(config, source);
  std::string key = "rope_scaling";
  const json* rs = top.opt_object(key);
  if (!rs) {
    if (const json* rp = top.opt_object("rope_parameters")) {
      key = "rope_parameters";
      rs = rp;
      c.rope_theta = Obj(*rp, source, key + ".").opt_double("rope_theta", c.rope_theta);
    }
  }
  if (!rs) return;
  const Obj r(*rs, source, key + ".");
  std::string type = r.opt_string("rope_type", r.opt_string("type", "default"));
  if (type == "default") type = "none";
  if (type != "none" && type != "linear" && type != "dynamic" && type != "yarn" &&
      type != "llama3")
    r.fail(r.has("rope_type") ? "rope_type" : "type", "names unsupported rope scaling '" + type + "'");
  RopeScaling& s = c.rope_scaling;
  s.type = type;
  if (type == "none") return;
  s.factor = r.opt_double("factor", 1.0);
  if (!r.has("factor")) r.fail("factor", "is missing");
  s.original_max_position_embeddings = r.opt_int("original_max_position_embeddings", 0);
  if (type == "yarn") {
    s.beta_fast = r.opt_double("beta_fast", 32.0);
    s.beta_slow = r.opt_double("beta_slow", 1.0);
    s.mscale = r.opt_double("mscale", 1.0);
    s.mscale_all_dim = r.opt_double("mscale_all_dim", 0.0);
    if (s.original_max_position_embeddings == 0)
      s.original_max_position_embeddings = c.max_position_embeddings;
  }
  if (type == "llama3") {
    s.low_freq_factor = r.opt_double("low_freq_factor", 1.0);
    s.high_freq_factor = r.opt_double("high_freq_factor", 4.0);
    if (!r.has("original_max_position_embeddings"))
      r.fail("original_max_position_embeddings", "is missing");
  }
}

void read_quantization(const json& config, const std::string& source, ModelConfig& c) {
  const Obj top(config, source);
  const json* q = top.opt_object("quantization_config");
  if (!q) return;
  const Obj qo(*q, source, "quantization_config.");
  c.quant_method = qo.opt_string("quant_method", "");
  if (const json* b = qo.get("weight_block_size")) {
    if (!b->is_array() || b->size() != 2)
      qo.fail("weight_block_size", "must be an array of two integers");
    for (size_t i = 0; i < 2; ++i) {
      const int64_t v = qo.to_int("weight_block_size", (*b)[i]);
      if (v < 1 || v > (int64_t{1} << 20)) qo.fail("weight_block_size", "must be positive");
      c.fp8_block_size[i] = v;
    }
  }
}

}  // namespace

ModelConfig config_from_hf_json(const nlohmann::json& config, const std::string& source) {
  if (!config.is_object())
    throw Error(source + ": config must be a JSON object (got " + json_type_name(config) + ")");
  const Obj o(config, source);
  ModelConfig c;
  const ArchInfo arch = detect_arch(o, c);
  c.family = arch.family;
  const ArchFamily f = c.family;

  c.vocab_size = o.req_int("vocab_size");
  c.hidden_size = o.req_int("hidden_size");
  c.num_layers = o.req_int("num_hidden_layers");
  c.num_heads = o.req_int("num_attention_heads");
  c.intermediate_size = o.req_int("intermediate_size");
  c.num_kv_heads = o.opt_int("num_key_value_heads", c.num_heads);
  if (c.hidden_size <= 0) o.fail("hidden_size", "must be positive");
  if (c.num_heads <= 0) o.fail("num_attention_heads", "must be positive");

  struct Defaults {
    int64_t max_pos;
    double eps;
    double theta;
  };
  Defaults d{};
  switch (f) {
    case ArchFamily::DeepSeek: d = {arch.deepseek_v3 ? 4096 : 2048, 1e-6, 10000.0}; break;
    case ArchFamily::Qwen3Moe: d = {32768, 1e-6, 10000.0}; break;
    case ArchFamily::Mixtral: d = {4096 * 32, 1e-5, 1e6}; break;
    case ArchFamily::Olmoe: d = {4096, 1e-5, 10000.0}; break;
    case ArchFamily::Llama: d = {2048, 1e-6, 10000.0}; break;
    case ArchFamily::Qwen2: d = {32768, 1e-6, 10000.0}; break;
    case ArchFamily::Qwen3: d = {32768, 1e-6, 10000.0}; break;
  }
  c.max_position_embeddings = o.opt_int("max_position_embeddings", d.max_pos);
  c.rms_norm_eps = o.opt_double("rms_norm_eps", d.eps);
  c.rope_theta = o.opt_double("rope_theta", d.theta);
  c.tie_word_embeddings = o.opt_bool("tie_word_embeddings", false);
  c.attention_bias = o.opt_bool("attention_bias", f == ArchFamily::Qwen2);
  if (f == ArchFamily::Qwen2) c.attention_bias = true;  // Qwen2 always has q/k/v bias
  c.qk_norm = f == ArchFamily::Qwen3 || f == ArchFamily::Qwen3Moe || f == ArchFamily::Olmoe;

  // head_dim: explicit for Qwen3 (default 128) and optional for Llama; derived elsewhere.
  const bool derived_head_dim = !o.has("head_dim") && f != ArchFamily::Qwen3;
  if (f == ArchFamily::Qwen3)
    c.head_dim = o.opt_int("head_dim", 128);
  else if (f != ArchFamily::DeepSeek)
    c.head_dim = o.opt_int("head_dim", c.hidden_size / c.num_heads);
  if (derived_head_dim && f != ArchFamily::DeepSeek && c.hidden_size % c.num_heads != 0)
    o.fail("num_attention_heads", "must divide hidden_size: " + std::to_string(c.hidden_size) +
                                      " % " + std::to_string(c.num_heads) + " != 0");

  std::map<std::string, std::string> alias;
  switch (f) {
    case ArchFamily::DeepSeek: {
      const bool v3 = arch.deepseek_v3;
      c.mla = true;
      // q_lora_rank: null means "no q compression" (V2-Lite); absent means the class default.
      const json* ql = o.get("q_lora_rank");
      const bool ql_null = config.contains("q_lora_rank") && config["q_lora_rank"].is_null();
      c.q_lora_rank = ql ? o.to_int("q_lora_rank", *ql) : (ql_null ? 0 : 1536);
      c.kv_lora_rank = o.opt_int("kv_lora_rank", 512);
      c.qk_nope_head_dim = o.opt_int("qk_nope_head_dim", 128);
      c.qk_rope_head_dim = o.opt_int("qk_rope_head_dim", 64);
      c.v_head_dim = o.opt_int("v_head_dim", 128);
      c.head_dim = c.qk_nope_head_dim + c.qk_rope_head_dim;
      alias["head_dim"] = "qk_nope_head_dim";
      // V2's class defaults leave the MoE keys None (a dense model); V3's describe DeepSeek-V3.
      c.n_routed_experts = o.opt_int("n_routed_experts", v3 ? 256 : 0);
      c.n_shared_experts = o.opt_int("n_shared_experts", v3 ? 1 : 0);
      c.num_experts_per_tok = o.opt_int("num_experts_per_tok", v3 ? 8 : 0);
      c.moe_intermediate_size = o.opt_int("moe_intermediate_size", v3 ? 2048 : 1407);
      c.first_k_dense_replace = o.opt_int("first_k_dense_replace", v3 ? 3 : 0);
      c.moe_layer_freq = o.opt_int("moe_layer_freq", 1);
      c.n_group = o.opt_int("n_group", v3 ? 8 : 1);
      c.topk_group = o.opt_int("topk_group", v3 ? 4 : 1);
      c.routed_scaling_factor = o.opt_double("routed_scaling_factor", v3 ? 2.5 : 1.0);
      c.norm_topk_prob = o.opt_bool("norm_topk_prob", v3);
      c.num_nextn_predict_layers = o.opt_int("num_nextn_predict_layers", 0);
      if (c.num_nextn_predict_layers < 0 || c.num_nextn_predict_layers > 64)
        o.fail("num_nextn_predict_layers", "is out of range");
      const std::string method = o.opt_string("topk_method", v3 ? "noaux_tc" : "greedy");
      if (method == "greedy") c.topk_method = TopkMethod::Greedy;
      else if (method == "group_limited_greedy") c.topk_method = TopkMethod::GroupLimitedGreedy;
      else if (method == "noaux_tc") c.topk_method = TopkMethod::NoauxTc;
      else o.fail("topk_method", "names unknown method '" + method + "'");
      const std::string scoring = o.opt_string("scoring_func", v3 ? "sigmoid" : "softmax");
      if (scoring == "softmax") c.scoring = MoeScoring::Softmax;
      else if (scoring == "sigmoid") c.scoring = MoeScoring::Sigmoid;
      else o.fail("scoring_func", "names unknown scoring function '" + scoring + "'");
      if (c.n_shared_experts < 0) o.fail("n_shared_experts", "must not be negative");
      if (c.moe_intermediate_size < 0) o.fail("moe_intermediate_size", "must not be negative");
      if (c.n_shared_experts > (int64_t{1} << 16)) o.fail("n_shared_experts", "is out of range");
      if (c.moe_intermediate_size > (int64_t{1} << 24))
        o.fail("moe_intermediate_size", "is out of range");
      c.shared_expert_intermediate_size = c.n_shared_experts * c.moe_intermediate_size;
      alias["shared_expert_intermediate_size"] = "n_shared_experts";
      break;
    }
    case ArchFamily::Qwen3Moe: {
      c.n_routed_experts = o.opt_int("num_experts", 128);
      c.num_experts_per_tok = o.opt_int("num_experts_per_tok", 8);
      c.moe_intermediate_size = o.opt_int("moe_intermediate_size", 768);
      c.norm_topk_prob = o.opt_bool("norm_topk_prob", false);
      c.decoder_sparse_step = o.opt_int("decoder_sparse_step", 1);
      if (const json* m = o.get("mlp_only_layers")) {
        if (!m->is_array()) o.fail("mlp_only_layers", "must be an array of layer indices");
        if (m->size() > (size_t{1} << 16)) o.fail("mlp_only_layers", "is too long");
        for (const json& v : *m) c.mlp_only_layers.push_back(o.to_int("mlp_only_layers", v));
        std::sort(c.mlp_only_layers.begin(), c.mlp_only_layers.end());
        c.mlp_only_layers.erase(std::unique(c.mlp_only_layers.begin(), c.mlp_only_layers.end()),
                                c.mlp_only_layers.end());
      }
      alias["n_routed_experts"] = "num_experts";
      break;
    }
    case ArchFamily::Mixtral:
      c.n_routed_experts = o.opt_int("num_local_experts", 8);
      c.num_experts_per_tok = o.opt_int("num_experts_per_tok", 2);
      c.moe_intermediate_size = c.intermediate_size;  // Mixtral's experts are its FFN
      c.norm_topk_prob = true;                        // softmax over the top-k logits
      alias["n_routed_experts"] = "num_local_experts";
      alias["moe_intermediate_size"] = "intermediate_size";
      break;
    case ArchFamily::Olmoe:
      c.n_routed_experts = o.opt_int("num_experts", 64);
      c.num_experts_per_tok = o.opt_int("num_experts_per_tok", 8);
      c.moe_intermediate_size = c.intermediate_size;
      c.norm_topk_prob = o.opt_bool("norm_topk_prob", false);
      alias["n_routed_experts"] = "num_experts";
      alias["moe_intermediate_size"] = "intermediate_size";
      break;
    case ArchFamily::Llama:
    case ArchFamily::Qwen2:
    case ArchFamily::Qwen3:
      break;
  }
  alias["num_layers"] = "num_hidden_layers";

  read_rope_scaling(config, source, c);
  read_quantization(config, source, c);

  validate_config(c, source, [&alias](const std::string& field) {
    auto it = alias.find(field);
    return it == alias.end() ? field : it->second;
  });
  return c;
}

ModelConfig config_from_hf_file(const std::string& config_json_path) {
  std::ifstream in(config_json_path, std::ios::binary);
  if (!in) throw FileError(config_json_path, "cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw FileError(config_json_path, "is not valid JSON");
  return config_from_hf_json(j, config_json_path);
}

}  // namespace schwarm

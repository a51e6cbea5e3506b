// Presets, the vocabulary, and the tensor list of each architecture (names and shapes as
// llama.cpp's loader creates them: src/models/{qwen3moe,deepseek2,llama,olmoe}.cpp of the
// vendored llama.cpp). Types: mix.cpp. Drawing and writing: write.cpp.
#include <cmath>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "synth.h"
#include "schwarm/error.h"

namespace schwarm::synth {
namespace {

GgufValue json_to_value(const std::string& key, const nlohmann::json& v, const std::string& source) {
  if (v.is_string()) return GgufValue::str(v.get<std::string>());
  if (v.is_boolean()) return GgufValue::boolean(v.get<bool>());
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u <= std::numeric_limits<uint32_t>::max()) return GgufValue::u32(static_cast<uint32_t>(u));
    return GgufValue::u64(u);
  }
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (i >= std::numeric_limits<int32_t>::min() && i <= std::numeric_limits<int32_t>::max())
      return GgufValue::i32(static_cast<int32_t>(i));
    return GgufValue::i64(i);
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max())
      throw Error(source + ": metadata key '" + key + "' is out of the range of a float32");
    return GgufValue::f32(static_cast<float>(d));
  }
  throw Error(source + ": metadata key '" + key + "' must be a string, a number or a boolean (is " +
              std::string(v.type_name()) + ")");
}

const std::string& arch_of(const GgufMetadata& md) {
  const GgufValue* a = find_metadata(md, "general.architecture");
  return *a->as_string();  // config_from_gguf has checked it
}

void set_key(GgufMetadata& md, const std::string& key, GgufValue v) {
  for (auto& [k, old] : md)
    if (k == key) {
      old = std::move(v);
      return;
    }
  md.emplace_back(key, std::move(v));
}

void erase_key(GgufMetadata& md, const std::string& key) {
  std::erase_if(md, [&](const auto& kv) { return kv.first == key; });
}

std::string pad_token(int64_t id) { return "[PAD" + std::to_string(id) + "]"; }

}  // namespace

Preset parse_preset(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw Error(source + ": a preset must be a JSON object");
  Preset p;
  auto text = [&](const char* key, bool required) -> std::string {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      if (required) throw Error(source + ": field '" + key + "' is missing");
      return "";
    }
    if (!it->is_string()) throw Error(source + ": field '" + key + "' must be a string");
    return it->get<std::string>();
  };
  p.name = text("name", true);
  p.vocab = text("vocab", false);
  for (char c : p.vocab)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      throw Error(source + ": field 'vocab' must name a vocab file (letters, digits, '-', '_', '.'), is '" +
                  p.vocab + "'");
  const auto md = j.find("metadata");
  if (md == j.end() || !md->is_object()) throw Error(source + ": field 'metadata' must be an object of GGUF keys");
  for (const auto& [k, v] : md->items()) {
    if (k.rfind("tokenizer.", 0) == 0 || k == "general.alignment")
      throw Error(source + ": metadata key '" + k + "' is set by the tool, not by a preset");
    p.metadata.emplace_back(k, json_to_value(k, v, source));
  }
  (void)config_from_gguf(p.metadata, source);  // the architecture, every key's type and range
  return p;
}

Preset load_preset(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path, "cannot open the preset");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw FileError(path, std::string("is not valid JSON: ") + e.what());
  }
  return parse_preset(j, path);
}

GgufMetadata vocab_metadata(const GgufMetadata& vocab_file, int64_t vocab_size, const std::string& source) {
  GgufMetadata out;
  for (const auto& [k, v] : vocab_file)
    if (k.rfind("tokenizer.", 0) == 0) out.emplace_back(k, v);
  GgufValue* tokens = nullptr;
  for (auto& [k, v] : out)
    if (k == "tokenizer.ggml.tokens") tokens = &v;
  const GgufArray* list = tokens ? tokens->as_array() : nullptr;
  if (!list || list->elem_type != GgufValueType::STRING)
    throw Error(source + ": key 'tokenizer.ggml.tokens' is missing or not an array of strings");
  const int64_t n = static_cast<int64_t>(list->items.size());
  if (n > vocab_size) {
    for (int64_t i = vocab_size; i < n; ++i) {
      const std::string* s = list->items[static_cast<size_t>(i)].as_string();
      if (s->rfind("[PAD", 0) != 0)
        throw Error(source + ": holds " + std::to_string(n) + " tokens, more than the model's " +
                    std::to_string(vocab_size) + ", and token " + std::to_string(i) + " ('" + *s +
                    "') is no padding token that could be dropped");
    }
    for (const auto& [k, v] : out)
      if (k.size() > 9 && k.rfind("_token_id") == k.size() - 9)
        if (auto id = v.as_int(); id && *id >= vocab_size)
          throw Error(source + ": key '" + k + "' is " + std::to_string(*id) + ", past the model's vocab of " +
                      std::to_string(vocab_size));
  }
  // Every per-token array is fitted together: tokens, token_type, scores.
  for (auto& [k, v] : out) {
    auto* a = std::get_if<GgufArray>(&v.value);
    if (!a || (k != "tokenizer.ggml.tokens" && k != "tokenizer.ggml.token_type" && k != "tokenizer.ggml.scores"))
      continue;
    if (static_cast<int64_t>(a->items.size()) != n)
      throw Error(source + ": key '" + k + "' has " + std::to_string(a->items.size()) + " entries, not one per token (" +
                  std::to_string(n) + ")");
    if (n > vocab_size) {
      a->items.resize(static_cast<size_t>(vocab_size));
      continue;
    }
    for (int64_t i = n; i < vocab_size; ++i) {
      if (k == "tokenizer.ggml.tokens") a->items.push_back(GgufValue::str(pad_token(i)));
      else if (k == "tokenizer.ggml.token_type") a->items.push_back(GgufValue::i32(5));  // UNUSED
      else a->items.push_back(GgufValue::f32(-1000.0f));  // llama.cpp's converter: SPM padding score
    }
    if (a->elem_type != a->items.front().type)
      throw Error(source + ": key '" + k + "' holds " + gguf_value_type_name(a->elem_type) + " where " +
                  gguf_value_type_name(a->items.front().type) + " was expected");
  }
  return out;
}

namespace {

constexpr float kSigma = 0.02f;  // every matrix; rms_norm rescales activations per layer

class TensorList {
 public:
  void matrix(std::string name, std::vector<int64_t> shape, float sigma = kSigma) {
    list.push_back({{std::move(name), TensorType::F32, std::move(shape)}, Init{sigma, 0.0f}, 0});
  }
  void norm(std::string name, int64_t n) {
    list.push_back({{std::move(name), TensorType::F32, {n}}, Init{0.0f, 1.0f}, 0});
  }
  std::vector<PlannedTensor> list;
};

std::string blk(int64_t l, const char* rest) { return "blk." + std::to_string(l) + "." + rest; }

void add_ffn(TensorList& t, const ModelConfig& c, int64_t l) {
  const int64_t hid = c.hidden_size;
  if (!c.layer_is_moe(l)) {
    const int64_t f = c.intermediate_size;
    t.matrix(blk(l, "ffn_gate.weight"), {f, hid});
    t.matrix(blk(l, "ffn_down.weight"), {hid, f});
    t.matrix(blk(l, "ffn_up.weight"), {f, hid});
    return;
  }
  const int64_t E = c.n_routed_experts, f = c.moe_intermediate_size;
  t.matrix(blk(l, "ffn_gate_inp.weight"), {E, hid});
  if (c.scoring == MoeScoring::Sigmoid) t.matrix(blk(l, "exp_probs_b.bias"), {E}, 1e-3f);
  t.matrix(blk(l, "ffn_gate_exps.weight"), {E, f, hid});
  t.matrix(blk(l, "ffn_down_exps.weight"), {E, hid, f});
  t.matrix(blk(l, "ffn_up_exps.weight"), {E, f, hid});
  if (c.n_shared_experts > 0) {
    const int64_t fs = c.shared_expert_intermediate_size;
    t.matrix(blk(l, "ffn_gate_shexp.weight"), {fs, hid});
    t.matrix(blk(l, "ffn_down_shexp.weight"), {hid, fs});
    t.matrix(blk(l, "ffn_up_shexp.weight"), {fs, hid});
  }
}

void add_mla_attention(TensorList& t, const ModelConfig& c, int64_t l) {
  const int64_t hid = c.hidden_size, H = c.num_heads, dn = c.qk_nope_head_dim, dr = c.qk_rope_head_dim,
                dv = c.v_head_dim, kvr = c.kv_lora_rank, qr = c.q_lora_rank;
  if (qr > 0) {
    t.norm(blk(l, "attn_q_a_norm.weight"), qr);
    t.matrix(blk(l, "attn_q_a.weight"), {qr, hid});
    t.matrix(blk(l, "attn_q_b.weight"), {H * (dn + dr), qr});
  } else {
    t.matrix(blk(l, "attn_q.weight"), {H * (dn + dr), hid});
  }
  t.norm(blk(l, "attn_kv_a_norm.weight"), kvr);
  t.matrix(blk(l, "attn_kv_a_mqa.weight"), {kvr + dr, hid});
  t.matrix(blk(l, "attn_k_b.weight"), {H, kvr, dn});
  t.matrix(blk(l, "attn_v_b.weight"), {H, dv, kvr});
  t.matrix(blk(l, "attn_output.weight"), {hid, H * dv});
}

void add_gqa_attention(TensorList& t, const ModelConfig& c, int64_t l) {
  const int64_t hid = c.hidden_size, H = c.num_heads, KV = c.num_kv_heads, hd = c.head_dim;
  t.matrix(blk(l, "attn_q.weight"), {H * hd, hid});
  t.matrix(blk(l, "attn_k.weight"), {KV * hd, hid});
  t.matrix(blk(l, "attn_v.weight"), {KV * hd, hid});
  t.matrix(blk(l, "attn_output.weight"), {hid, H * hd});
  if (c.family == ArchFamily::Olmoe) {  // over the whole projection
    t.norm(blk(l, "attn_q_norm.weight"), H * hd);
    t.norm(blk(l, "attn_k_norm.weight"), KV * hd);
  } else if (c.qk_norm || c.family == ArchFamily::Qwen3Moe || c.family == ArchFamily::Qwen3) {  // per head
    t.norm(blk(l, "attn_q_norm.weight"), hd);
    t.norm(blk(l, "attn_k_norm.weight"), hd);
  }
}

}  // namespace

Plan make_plan(const Preset& preset, const Options& options, const GgufMetadata& vocab) {
  const std::string source = "preset '" + preset.name + "'";
  Plan plan;
  plan.metadata = preset.metadata;
  const std::string arch = arch_of(plan.metadata);
  ModelConfig full = config_from_gguf(plan.metadata, source);
  if (full.family != ArchFamily::DeepSeek && full.family != ArchFamily::Qwen3Moe &&
      full.family != ArchFamily::Mixtral && full.family != ArchFamily::Olmoe)
    throw Error(source + ": architecture '" + arch + "' (" + arch_family_name(full.family) +
                ") has no synthetic layout; known: deepseek2, qwen3moe, llama with experts (Mixtral), olmoe");
  const int64_t layers = options.layers == 0 ? full.num_layers : options.layers;
  if (layers < 1 || layers > full.num_layers)
    throw Error(source + ": --layers " + std::to_string(options.layers) + " must be in 1.." +
                std::to_string(full.num_layers));

  // The cut: fewer blocks, the dense lead clipped to them, no multi-token-prediction blocks.
  set_key(plan.metadata, arch + ".block_count", GgufValue::u32(static_cast<uint32_t>(layers)));
  if (find_metadata(plan.metadata, arch + ".leading_dense_block_count"))
    set_key(plan.metadata, arch + ".leading_dense_block_count",
            GgufValue::u32(static_cast<uint32_t>(std::min(layers, full.first_k_dense_replace))));
  erase_key(plan.metadata, arch + ".nextn_predict_layers");
  set_key(plan.metadata, arch + ".vocab_size", GgufValue::u32(static_cast<uint32_t>(full.vocab_size)));
  set_key(plan.metadata, "general.name",
          GgufValue::str(preset.name + " (synthetic: random weights, " + std::to_string(layers) + " of " +
                         std::to_string(full.num_layers) + " layers, " + std::string(mix_name(options.mix)) +
                         ", seed " + std::to_string(options.seed) + ")"));
  // llama_ftype ids (llama.h) so that llama-bench names the type.
  uint32_t ftype = 0;
  switch (options.mix) {
    case Mix::F32: ftype = 0; break;
    case Mix::F16: ftype = 1; break;
    case Mix::Q4_0: ftype = 2; break;
    case Mix::Q8_0: ftype = 7; break;
    case Mix::Q4_K_M: ftype = 15; break;
    case Mix::BF16: ftype = 32; break;
  }
  set_key(plan.metadata, "general.file_type", GgufValue::u32(ftype));
  for (const auto& kv : vocab) plan.metadata.push_back(kv);
  plan.config = config_from_gguf(plan.metadata, source);
  (void)count_params(plan.config);  // throws on sizes that overflow
  const ModelConfig& c = plan.config;

  TensorList t;
  t.matrix("token_embd.weight", {c.vocab_size, c.hidden_size});
  for (int64_t l = 0; l < layers; ++l) {
    t.norm(blk(l, "attn_norm.weight"), c.hidden_size);
    if (c.family == ArchFamily::DeepSeek) add_mla_attention(t, c, l);
    else add_gqa_attention(t, c, l);
    t.norm(blk(l, "ffn_norm.weight"), c.hidden_size);
    add_ffn(t, c, l);
  }
  t.norm("output_norm.weight", c.hidden_size);
  t.matrix("output.weight", {c.vocab_size, c.hidden_size});
  plan.tensors = std::move(t.list);
  choose_types(plan.tensors, options.mix, c);

  const uint64_t align = 32;
  for (PlannedTensor& p : plan.tensors) {
    p.nbytes = gguf_tensor_nbytes(p.info);
    const uint64_t padded = (p.nbytes + align - 1) / align * align;
    if (p.nbytes > padded || plan.data_bytes > std::numeric_limits<uint64_t>::max() - padded)
      throw Error(source + ": the file size overflows");
    plan.data_bytes += padded;
  }
  return plan;
}

}  // namespace schwarm::synth

// The type of each tensor under a mix. Quantized mixes follow llama-quantize
// (src/llama-quant.cpp of the vendored llama.cpp: tensor_allows_quantization,
// llama_tensor_get_type_impl, tensor_type_fallback) for the ftypes we have quantizers for:
//   - quantized at all: tensors of 2+ dims whose name ends in "weight", except "*_norm.weight"
//     and the router "ffn_gate_inp.weight"; the rest stay F32 (as the converter writes them);
//   - output.weight: Q6_K (Q8_0 when the mix is Q8_0, or its rows are no multiple of 256);
//   - attn_v.weight (GQA): Q6_K where use_more_bits(i, n) over the attn_v tensors in file order;
//     8-expert models (Mixtral) take Q8_0 for attn_v and attn_k and Q5_K for attn_output;
//   - ffn_down, ffn_down_exps, ffn_down_shexp of layer i: Q6_K where use_more_bits(i, n_layer);
//   - everything else (token_embd too, as the file has its own output.weight): Q4_K;
//   - a row length the type's block does not divide falls back: Q4_K -> Q5_0, Q5_K -> Q5_1,
//     Q6_K -> Q8_0, then F16 (DeepSeek's attn_k_b, rows of qk_nope_head_dim = 128, is Q5_0).
// use_more_bits(i, n) = i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2: "half of the layers".
// The split MLA tensors attn_k_b / attn_v_b do not match llama-quantize's "attn_v.weight" /
// "attn_kv_b.weight" names, so they are plain Q4_K there and here.
// F32 / F16 / BF16 mixes store every quantizable tensor in that type, as the converter does.
#include <cstdio>

#include "synth.h"
#include "schwarm/error.h"

namespace schwarm::synth {
namespace {

enum class Category { Output, TokenEmbd, AttnV, AttnK, AttnQ, AttnOutput, FfnUp, FfnGate, FfnDown, Other };

bool has(const std::string& name, const char* part) { return name.find(part) != std::string::npos; }

// llama-quant.cpp tensor_get_category (attn_qkv and attn_kv_b count as attn_v; we write neither).
Category category(const std::string& n) {
  if (n == "output.weight") return Category::Output;
  if (n == "token_embd.weight") return Category::TokenEmbd;
  if (has(n, "attn_qkv.weight") || has(n, "attn_kv_b.weight") || has(n, "attn_v.weight")) return Category::AttnV;
  if (has(n, "attn_k.weight")) return Category::AttnK;
  if (has(n, "attn_q.weight")) return Category::AttnQ;
  if (has(n, "attn_output.weight")) return Category::AttnOutput;
  if (has(n, "ffn_up")) return Category::FfnUp;
  if (has(n, "ffn_gate")) return Category::FfnGate;
  if (has(n, "ffn_down")) return Category::FfnDown;
  return Category::Other;
}

bool quantizable(const GgufTensorInfo& t) {
  const std::string& n = t.name;
  const bool ends_weight = n.size() >= 6 && n.compare(n.size() - 6, 6, "weight") == 0;
  return t.shape.size() >= 2 && ends_weight && !has(n, "_norm.weight") && !has(n, "ffn_gate_inp.weight");
}

bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

int64_t layer_of(const std::string& name) {
  int l = -1;
  if (std::sscanf(name.c_str(), "blk.%d.", &l) != 1 || l < 0) throw Error("tensor '" + name + "' names no layer");
  return l;
}

TensorType fallback(TensorType t, int64_t row) {
  auto fits = [&](TensorType x) { return row % type_traits(x).block_size == 0; };
  if (fits(t)) return t;
  switch (t) {
    case TensorType::Q4_K: t = TensorType::Q5_0; break;
    case TensorType::Q5_K: t = TensorType::Q5_1; break;
    case TensorType::Q6_K: t = TensorType::Q8_0; break;
    default: break;
  }
  return fits(t) ? t : TensorType::F16;
}

TensorType base_type(Mix mix) {
  switch (mix) {
    case Mix::F32: return TensorType::F32;
    case Mix::F16: return TensorType::F16;
    case Mix::BF16: return TensorType::BF16;
    case Mix::Q8_0: return TensorType::Q8_0;
    case Mix::Q4_0: return TensorType::Q4_0;
    case Mix::Q4_K_M: return TensorType::Q4_K;
  }
  return TensorType::F32;
}

}  // namespace

std::optional<Mix> mix_from_name(std::string_view name) {
  for (Mix m : {Mix::F32, Mix::F16, Mix::BF16, Mix::Q8_0, Mix::Q4_0, Mix::Q4_K_M})
    if (mix_name(m) == name) return m;
  return std::nullopt;
}

std::string_view mix_name(Mix m) {
  switch (m) {
    case Mix::F32: return "f32";
    case Mix::F16: return "f16";
    case Mix::BF16: return "bf16";
    case Mix::Q8_0: return "q8_0";
    case Mix::Q4_0: return "q4_0";
    case Mix::Q4_K_M: return "q4_k_m";
  }
  return "?";
}

void choose_types(std::vector<PlannedTensor>& tensors, Mix mix, const ModelConfig& c) {
  const TensorType base = base_type(mix);
  const bool quantized = type_traits(base).is_quantized;
  const bool eight_experts = c.n_routed_experts == 8;
  int64_t n_attn_v = 0, i_attn_v = 0;
  for (const PlannedTensor& p : tensors)
    if (quantizable(p.info) && category(p.info.name) == Category::AttnV) ++n_attn_v;
  for (PlannedTensor& p : tensors) {
    if (!quantizable(p.info)) continue;
    TensorType t = base;
    if (quantized) {
      const std::string& n = p.info.name;
      switch (category(n)) {
        case Category::Output:
          if (t != TensorType::Q8_0) t = p.info.shape.back() % 256 == 0 ? TensorType::Q6_K : TensorType::Q8_0;
          break;
        case Category::AttnV:
          if (mix == Mix::Q4_K_M && use_more_bits(i_attn_v, n_attn_v)) t = TensorType::Q6_K;
          if (eight_experts) t = TensorType::Q8_0;
          ++i_attn_v;
          break;
        case Category::AttnK:
          if (eight_experts) t = TensorType::Q8_0;
          break;
        case Category::FfnDown:
          if (mix == Mix::Q4_K_M && use_more_bits(layer_of(n), c.num_layers)) t = TensorType::Q6_K;
          break;
        case Category::AttnOutput:
          if (mix == Mix::Q4_K_M && eight_experts) t = TensorType::Q5_K;
          break;
        default:
          break;
      }
      t = fallback(t, p.info.shape.back());
    }
    p.info.type = t;
  }
}

}  // namespace schwarm::synth

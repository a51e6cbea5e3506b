// The grouped-query-attention family, written once over Backend ops: Qwen3-MoE, Mixtral, OLMoE and
// the dense Llama / Qwen2 / Qwen3 path they share.
//
// Per layer, for x[n, hidden]:
//   h  = rms_norm(x)                                          input_layernorm / attn_norm
//   q  = q_proj(h) (+ bias), k = k_proj(h) (+ bias), v = v_proj(h) (+ bias)   bias: Qwen2, Llama attention_bias
//   q/k norm: OLMoE over the whole projection (before splitting into heads), Qwen3 / Qwen3-MoE per
//             head; none for Llama / Mixtral / Qwen2
//   rope on q and k (HF rotate_half = RopeStyle::Halves; see "GGUF" below)
//   o  = attention(q, k, v) over the paged cache, scale head_dim^-0.5
//   x += o_proj(o) (+ o bias for Llama attention_bias)
//   x += ffn(rms_norm(x))  dense layers (Llama, Qwen2/3, Qwen3-MoE mlp_only_layers / decoder_sparse_step)
//        moe(rms_norm(x))  softmax router, top-k; renormalised for Mixtral, per norm_topk_prob for
//                          Qwen3-MoE and OLMoE
// Final rms_norm, lm_head (the embedding when tied).
//
// GGUF: llama.cpp's converter permutes the Q and K rows of arch "llama" files (Llama, Mixtral) so
// that each head's halves (x[i], x[i + d/2]) become adjacent pairs (x[2i], x[2i+1]). The same
// permutation of q and k leaves q·k unchanged, so those files are run as stored with
// RopeStyle::Interleaved (no un-permute). Other archs (qwen2, qwen3, qwen3moe, olmoe) are stored
// unpermuted and use Halves. llama3 rope scaling in GGUF is the rope_freqs tensor (inv_freq is
// divided by it).
#include <cmath>
#include <string>

#include "model/model.h"
#include "model/rope.h"
#include "model/scratch.h"
#include "model/weights.h"
#include "schwarm/error.h"

namespace schwarm {
namespace {

struct Layer {
  TensorView attn_norm, q, k, v, o, q_norm, k_norm, ffn_norm;
  std::vector<float> q_bias, k_bias, v_bias, o_bias;  // empty when absent
  bool moe = false;
  FfnWeights dense;
  MoeWeights experts;
};

TensorName lname(int64_t l, const std::string& hf, const std::string& gguf) { return layer_tensor(l, hf, gguf); }

// y[r, :] += bias for every row of width bias.size().
void add_bias(Backend& be, const std::vector<float>& bias, std::span<float> y) {
  if (bias.empty()) return;
  for (size_t r = 0; r < y.size(); r += bias.size()) be.add(bias, y.subspan(r, bias.size()));
}

class GqaModel final : public Model {
 public:
  GqaModel(const Checkpoint& cp, const ModelConfig& c) : cp_(cp), c_(c), w_(cp_) {
    if (c_.mla) throw Error(cp_.path() + ": a GQA-family model with MLA dims is not supported");
    if (c_.num_kv_heads <= 0 || c_.num_heads % c_.num_kv_heads != 0)
      throw Error(cp_.path() + ": " + std::to_string(c_.num_heads) + " attention heads are not a multiple of " +
                  std::to_string(c_.num_kv_heads) + " kv heads");
    if (c_.is_moe() && c_.n_shared_experts > 0)
      throw Error(cp_.path() + ": shared experts are not supported for " + arch_family_name(c_.family));
    bind();
    // llama.cpp permutes Q/K rows of arch "llama" (see the header comment).
    const bool permuted_qk = w_.is_gguf() && c_.model_type == "llama";
    rope_ = make_rope_spec(c_, c_.head_dim, permuted_qk ? RopeStyle::Interleaved : RopeStyle::Halves);
    TensorView freqs;
    if (w_.is_gguf() && w_.get_optional({"", "rope_freqs.weight"}, {c_.head_dim / 2}, freqs)) {
      const std::vector<float> f = dequantize_to_f32(freqs);
      for (size_t i = 0; i < f.size(); ++i) rope_.inv_freq[i] /= f[i];
    }
    scale_ = static_cast<float>(1.0 / std::sqrt(static_cast<double>(c_.head_dim)));
    spec_.n_experts = c_.n_routed_experts;
    spec_.top_k = c_.num_experts_per_tok;
    spec_.scoring = MoeScoringFn::Softmax;
    spec_.group_rule = MoeGroupRule::None;
    spec_.norm_topk_prob = c_.family == ArchFamily::Mixtral || c_.norm_topk_prob;
    spec_.routed_scaling_factor = 1.0f;
  }

  GqaModel(const GqaModel&) = delete;  // the weight store points into cp_
  GqaModel& operator=(const GqaModel&) = delete;

  const ModelConfig& config() const override { return c_; }

  std::vector<KvLayerSpec> kv_layout() const override { return kv_layout_for(c_); }

  std::vector<float> forward(const BatchLayout& batch, std::span<const int32_t> tokens,
                             std::span<KvLayerCache> caches, Backend& be, const ForwardOptions& opt) override;

 private:
  void bind();
  std::vector<float> bias(int64_t l, const char* hf, const char* gguf, int64_t size);
  void attention(Layer& L, const BatchLayout& batch, KvLayerCache& cache, Backend& be, std::span<const float> h,
                 std::span<float> out);

  Checkpoint cp_;
  ModelConfig c_;
  WeightStore w_;
  TensorView embed_, out_norm_, lm_head_;
  std::vector<Layer> layers_;
  RopeSpec rope_;
  float scale_ = 1.0f;
  MoeSpec spec_;
  ScratchBuffers scratch_;  // attention's projections (one forward pass at a time)
};

std::vector<float> GqaModel::bias(int64_t l, const char* hf, const char* gguf, int64_t size) {
  TensorView b;
  if (!w_.get_optional(lname(l, hf, gguf), {size}, b)) {
    throw Error(cp_.path() + ": tensor '" + w_.name_for(lname(l, hf, gguf)) + "' [" + std::to_string(size) +
                "] is missing (the config asks for attention biases)");
  }
  return dequantize_to_f32(b);
}

void GqaModel::bind() {
  const int64_t hid = c_.hidden_size, H = c_.num_heads, KV = c_.num_kv_heads, hd = c_.head_dim, V = c_.vocab_size;
  const bool mixtral = c_.family == ArchFamily::Mixtral;
  embed_ = w_.get({"model.embed_tokens.weight", "token_embd.weight"}, {V, hid});
  out_norm_ = w_.get({"model.norm.weight", "output_norm.weight"}, {hid});
  if (c_.tie_word_embeddings || !w_.get_optional({"lm_head.weight", "output.weight"}, {V, hid}, lm_head_))
    lm_head_ = embed_;
  layers_.resize(static_cast<size_t>(c_.num_layers));
  for (int64_t l = 0; l < c_.num_layers; ++l) {
    Layer& L = layers_[static_cast<size_t>(l)];
    L.attn_norm = w_.get(lname(l, "input_layernorm.weight", "attn_norm.weight"), {hid});
    L.q = w_.get(lname(l, "self_attn.q_proj.weight", "attn_q.weight"), {H * hd, hid});
    L.k = w_.get(lname(l, "self_attn.k_proj.weight", "attn_k.weight"), {KV * hd, hid});
    L.v = w_.get(lname(l, "self_attn.v_proj.weight", "attn_v.weight"), {KV * hd, hid});
    L.o = w_.get(lname(l, "self_attn.o_proj.weight", "attn_output.weight"), {hid, H * hd});
    if (c_.attention_bias) {
      L.q_bias = bias(l, "self_attn.q_proj.bias", "attn_q.bias", H * hd);
      L.k_bias = bias(l, "self_attn.k_proj.bias", "attn_k.bias", KV * hd);
      L.v_bias = bias(l, "self_attn.v_proj.bias", "attn_v.bias", KV * hd);
      if (c_.family == ArchFamily::Llama) L.o_bias = bias(l, "self_attn.o_proj.bias", "attn_output.bias", hid);
    }
    if (c_.qk_norm) {
      const bool whole = c_.family == ArchFamily::Olmoe;  // over the whole projection, else per head
      L.q_norm = w_.get(lname(l, "self_attn.q_norm.weight", "attn_q_norm.weight"), {whole ? H * hd : hd});
      L.k_norm = w_.get(lname(l, "self_attn.k_norm.weight", "attn_k_norm.weight"), {whole ? KV * hd : hd});
    }
    L.ffn_norm = w_.get(lname(l, "post_attention_layernorm.weight", "ffn_norm.weight"), {hid});
    L.moe = c_.layer_is_moe(l);
    if (!L.moe) {
      L.dense = w_.dense_ffn(l, c_.intermediate_size, hid);
      continue;
    }
    const int64_t E = c_.n_routed_experts, f = c_.moe_intermediate_size;
    const std::string moe = mixtral ? "block_sparse_moe." : "mlp.";
    L.experts.router = w_.get(lname(l, moe + "gate.weight", "ffn_gate_inp.weight"), {E, hid});
    // Mixtral: w1 = gate, w3 = up, w2 = down.
    L.experts.experts = mixtral ? w_.experts(l, E, f, hid, moe + "experts.", {"w1", "w3", "w2"})
                                : w_.experts(l, E, f, hid, moe + "experts.", {"gate_proj", "up_proj", "down_proj"});
  }
}

void GqaModel::attention(Layer& L, const BatchLayout& batch, KvLayerCache& cache, Backend& be,
                         std::span<const float> h, std::span<float> out) {
  const int64_t n = batch.n_tokens, H = c_.num_heads, KV = c_.num_kv_heads, hd = c_.head_dim;
  enum { kQ, kK, kV, kO };
  const std::span<float> q = scratch_.get(kQ, n * H * hd), k = scratch_.get(kK, n * KV * hd),
                         v = scratch_.get(kV, n * KV * hd), o = scratch_.get(kO, n * H * hd);  // o: [n, H, hd]
  be.matmul(L.q, h, n, q);
  be.matmul(L.k, h, n, k);
  be.matmul(L.v, h, n, v);
  add_bias(be, L.q_bias, q);
  add_bias(be, L.k_bias, k);
  add_bias(be, L.v_bias, v);
  if (c_.qk_norm) {  // rms_norm normalises rows of the gain's length: whole projection or one head
    be.rms_norm(q, L.q_norm, static_cast<float>(c_.rms_norm_eps), q);
    be.rms_norm(k, L.k_norm, static_cast<float>(c_.rms_norm_eps), k);
  }
  be.rope(q, H, hd, batch.pos, rope_);
  be.rope(k, KV, hd, batch.pos, rope_);
  be.attention(q, k, v, H, KV, hd, scale_, batch, cache, o);
  be.matmul(L.o, o, n, out);
  add_bias(be, L.o_bias, out);
}

std::vector<float> GqaModel::forward(const BatchLayout& batch, std::span<const int32_t> tokens,
                                     std::span<KvLayerCache> caches, Backend& be, const ForwardOptions& opt) {
  auto layer = [&](int64_t l) {
    const Layer& L = layers_[static_cast<size_t>(l)];
    return DecoderLayer{&L.attn_norm, &L.ffn_norm, L.moe ? nullptr : &L.dense, L.moe ? &L.experts : nullptr};
  };
  auto attend = [&](int64_t l, std::span<const float> h, std::span<float> out) {
    Layer& L = layers_[static_cast<size_t>(l)];
    attention(L, batch, caches[static_cast<size_t>(l)], be, h, out);
  };
  return run_decoder(c_, {&embed_, &out_norm_, &lm_head_, &spec_}, layer, attend, batch, tokens, caches.size(), be, opt);
}

}  // namespace

std::unique_ptr<Model> make_gqa_model(const Checkpoint& cp, const ModelConfig& config) {
  return std::make_unique<GqaModel>(cp, config);
}

}  // namespace schwarm

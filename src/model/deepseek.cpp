// DeepSeek-V2 / V2-Lite / V3 (and V3-shaped models such as Kimi K2): multi-head latent attention
// (MLA) and DeepSeekMoE (routed + shared experts), written once over Backend ops.
//
// Per layer, for x[n, hidden]:
//   h      = rms_norm(x)                                   input_layernorm / attn_norm
//   q      = q_b(rms_norm_1e-6(q_a(h)))  or  q_proj(h)     [n, H, d_nope + d_rope]
//   kv_a   = kv_a_proj_with_mqa(h)                          [n, kv_lora + d_rope]
//   latent = rms_norm_1e-6(kv_a[:, :kv_lora]), k_pe = kv_a[:, kv_lora:]  (one rope key, all heads)
//   rope (interleaved pairs, YaRN) on q[..., d_nope:] and k_pe
//   o      = mla_attention(...) through kv_b_proj           [n, H * d_v]
//   x     += o_proj(o)
//   x     += ffn(rms_norm(x)) (first_k_dense_replace layers) or moe(rms_norm(x))
// The q_a / kv_a norms use eps 1e-6 whatever rms_norm_eps says, as the published code does.
#include <cstring>
#include <string>

#include "model/model.h"
#include "model/rope.h"
#include "model/scratch.h"
#include "model/weights.h"
#include "schwarm/error.h"

namespace schwarm {
namespace {

constexpr float kLatentNormEps = 1e-6f;

struct Layer {
  TensorView attn_norm, q_a, q_a_norm, q_b, q;  // q_a/q_a_norm/q_b when q_lora_rank > 0, else q
  TensorView kv_a, kv_a_norm, o;
  MlaKvB kv_b;  // HF's joint kv_b_proj, or GGUF's split attn_k_b / attn_v_b
  TensorView ffn_norm;
  bool moe = false;
  FfnWeights dense;
  TensorView router, bias;
  bool has_bias = false;
  MoeWeights experts;
};

std::string hf_layer(int64_t l, const char* rest) { return "model.layers." + std::to_string(l) + "." + rest; }
std::string gguf_layer(int64_t l, const char* rest) { return "blk." + std::to_string(l) + "." + rest; }
TensorName lname(int64_t l, const char* hf, const char* gguf) { return {hf_layer(l, hf), gguf_layer(l, gguf)}; }

void copy_cols(std::span<const float> src, int64_t rows, int64_t src_cols, int64_t col0, int64_t cols,
               std::span<float> dst) {
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(&dst[static_cast<size_t>(r * cols)], &src[static_cast<size_t>(r * src_cols + col0)],
                static_cast<size_t>(cols) * sizeof(float));
}

class DeepSeekModel final : public Model {
 public:
  DeepSeekModel(const Checkpoint& cp, const ModelConfig& c)
      : cp_(cp), c_(c), w_(cp_, c.fp8_block_size[0] > 0 ? c.fp8_block_size[0] : 128) {
    if (!c_.mla) throw Error(cp_.path() + ": DeepSeek model without MLA dims (kv_lora_rank) is not supported");
    if (c_.quant_method == "fp8" && c_.fp8_block_size[0] != c_.fp8_block_size[1])
      throw Error(cp_.path() + ": fp8 weight_block_size must be square, is [" +
                  std::to_string(c_.fp8_block_size[0]) + ", " + std::to_string(c_.fp8_block_size[1]) + "]");
    bind();
    rope_ = make_rope_spec(c_, c_.qk_rope_head_dim, RopeStyle::Interleaved);
    scale_ = mla_softmax_scale(c_);
    spec_.n_experts = c_.n_routed_experts;
    spec_.top_k = c_.num_experts_per_tok;
    spec_.scoring = c_.scoring == MoeScoring::Sigmoid ? MoeScoringFn::Sigmoid : MoeScoringFn::Softmax;
    spec_.n_group = c_.n_group;
    spec_.topk_group = c_.topk_group;
    switch (c_.topk_method) {
      case TopkMethod::Greedy: spec_.group_rule = MoeGroupRule::None; break;
      case TopkMethod::GroupLimitedGreedy: spec_.group_rule = MoeGroupRule::GroupMax; break;
      case TopkMethod::NoauxTc: spec_.group_rule = MoeGroupRule::GroupTop2Sum; break;
    }
    if (c_.topk_method == TopkMethod::NoauxTc) {
      // V3: optionally renormalise, then always scale.
      spec_.norm_topk_prob = c_.norm_topk_prob;
      spec_.routed_scaling_factor = static_cast<float>(c_.routed_scaling_factor);
    } else {
      // V2 (the original code): renormalise when asked (and top_k > 1), otherwise scale.
      // transformers' V2 port always scales; the published V2 configs set norm_topk_prob false,
      // where both agree.
      spec_.norm_topk_prob = c_.norm_topk_prob && c_.num_experts_per_tok > 1;
      spec_.routed_scaling_factor = spec_.norm_topk_prob ? 1.0f : static_cast<float>(c_.routed_scaling_factor);
    }
  }

  DeepSeekModel(const DeepSeekModel&) = delete;  // the weight store points into cp_
  DeepSeekModel& operator=(const DeepSeekModel&) = delete;

  const ModelConfig& config() const override { return c_; }

  std::vector<KvLayerSpec> kv_layout() const override { return kv_layout_for(c_); }

  std::vector<float> forward(const BatchLayout& batch, std::span<const int32_t> tokens,
                             std::span<KvLayerCache> caches, Backend& be, const ForwardOptions& opt) override;

 private:
  void bind();
  void attention(Layer& L, int64_t l, const BatchLayout& batch, KvLayerCache& cache, Backend& be,
                 std::span<const float> h, std::span<float> out);

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

void DeepSeekModel::bind() {
  const int64_t hid = c_.hidden_size, H = c_.num_heads, dn = c_.qk_nope_head_dim, dr = c_.qk_rope_head_dim,
                dv = c_.v_head_dim, kvr = c_.kv_lora_rank, qr = c_.q_lora_rank, V = c_.vocab_size;
  embed_ = w_.get({"model.embed_tokens.weight", "token_embd.weight"}, {V, hid});
  out_norm_ = w_.get({"model.norm.weight", "output_norm.weight"}, {hid});
  if (!w_.get_optional({"lm_head.weight", "output.weight"}, {V, hid}, lm_head_)) {
    if (!c_.tie_word_embeddings)
      throw Error(cp_.path() + ": tensor '" + w_.name_for({"lm_head.weight", "output.weight"}) + "' [" +
                  std::to_string(V) + ", " + std::to_string(hid) + "] is missing (and embeddings are not tied)");
    lm_head_ = embed_;
  }
  layers_.resize(static_cast<size_t>(c_.num_layers));  // never resized again: MoeWeights points into it
  for (int64_t l = 0; l < c_.num_layers; ++l) {
    Layer& L = layers_[static_cast<size_t>(l)];
    L.attn_norm = w_.get(lname(l, "input_layernorm.weight", "attn_norm.weight"), {hid});
    if (qr > 0) {
      L.q_a = w_.get(lname(l, "self_attn.q_a_proj.weight", "attn_q_a.weight"), {qr, hid});
      L.q_a_norm = w_.get(lname(l, "self_attn.q_a_layernorm.weight", "attn_q_a_norm.weight"), {qr});
      L.q_b = w_.get(lname(l, "self_attn.q_b_proj.weight", "attn_q_b.weight"), {H * (dn + dr), qr});
    } else {
      L.q = w_.get(lname(l, "self_attn.q_proj.weight", "attn_q.weight"), {H * (dn + dr), hid});
    }
    L.kv_a = w_.get(lname(l, "self_attn.kv_a_proj_with_mqa.weight", "attn_kv_a_mqa.weight"), {kvr + dr, hid});
    L.kv_a_norm = w_.get(lname(l, "self_attn.kv_a_layernorm.weight", "attn_kv_a_norm.weight"), {kvr});
    const TensorName kv_b_name = lname(l, "self_attn.kv_b_proj.weight", "attn_kv_b.weight");
    TensorView joint;
    if (w_.get_optional(kv_b_name, {H * (dn + dv), kvr}, joint)) {
      L.kv_b = joint;
    } else {
      const TensorName kb = lname(l, "", "attn_k_b.weight"), vb = lname(l, "", "attn_v_b.weight");
      if (!w_.is_gguf() || !w_.has(kb) || !w_.has(vb))
        throw Error(cp_.path() + ": tensor '" + w_.name_for(kv_b_name) + "' " + shape_string({H * (dn + dv), kvr}) +
                    " is missing" + (w_.is_gguf() ? " (nor the split attn_k_b / attn_v_b pair)" : ""));
      L.kv_b = MlaKvB::split(w_.get(kb, {H, kvr, dn}), w_.get(vb, {H, dv, kvr}));
    }
    L.o = w_.get(lname(l, "self_attn.o_proj.weight", "attn_output.weight"), {hid, H * dv});
    L.ffn_norm = w_.get(lname(l, "post_attention_layernorm.weight", "ffn_norm.weight"), {hid});
    L.moe = c_.layer_is_moe(l);
    if (!L.moe) {
      L.dense = w_.dense_ffn(l, c_.intermediate_size, hid);
      continue;
    }
    const int64_t E = c_.n_routed_experts, f = c_.moe_intermediate_size;
    L.experts.router = w_.get(lname(l, "mlp.gate.weight", "ffn_gate_inp.weight"), {E, hid});
    L.has_bias = w_.get_optional(lname(l, "mlp.gate.e_score_correction_bias", "exp_probs_b.bias"), {E}, L.bias);
    if (c_.topk_method == TopkMethod::NoauxTc && !L.has_bias)
      throw Error(cp_.path() + ": tensor '" + w_.name_for(lname(l, "mlp.gate.e_score_correction_bias", "exp_probs_b.bias")) +
                  "' [" + std::to_string(E) + "] is missing (topk_method noaux_tc needs it)");
    L.experts.selection_bias = L.has_bias ? &L.bias : nullptr;
    L.experts.experts = w_.experts(l, E, f, hid, "mlp.experts.", {"gate_proj", "up_proj", "down_proj"});
    if (c_.n_shared_experts > 0) {
      const int64_t fs = c_.shared_expert_intermediate_size > 0 ? c_.shared_expert_intermediate_size
                                                                : c_.n_shared_experts * f;
      FfnWeights s;
      s.gate = w_.get(lname(l, "mlp.shared_experts.gate_proj.weight", "ffn_gate_shexp.weight"), {fs, hid});
      s.up = w_.get(lname(l, "mlp.shared_experts.up_proj.weight", "ffn_up_shexp.weight"), {fs, hid});
      s.down = w_.get(lname(l, "mlp.shared_experts.down_proj.weight", "ffn_down_shexp.weight"), {hid, fs});
      L.experts.shared.push_back(s);
    }
  }
}

void DeepSeekModel::attention(Layer& L, int64_t l, const BatchLayout& batch, KvLayerCache& cache, Backend& be,
                              std::span<const float> h, std::span<float> out) {
  const int64_t n = batch.n_tokens, H = c_.num_heads, dn = c_.qk_nope_head_dim, dr = c_.qk_rope_head_dim,
                dv = c_.v_head_dim, kvr = c_.kv_lora_rank, qr = c_.q_lora_rank, dq = dn + dr;
  (void)l;
  enum { kQ, kQa, kQNope, kQPe, kKvA, kLatent, kKPe, kO };
  const std::span<float> q = scratch_.get(kQ, n * H * dq);  // [n, H, d_nope + d_rope]
  if (qr > 0) {
    const std::span<float> qa = scratch_.get(kQa, n * qr);  // [n, q_lora]
    be.matmul(L.q_a, h, n, qa);
    be.rms_norm(qa, L.q_a_norm, kLatentNormEps, qa);
    be.matmul(L.q_b, qa, n, q);
  } else {
    be.matmul(L.q, h, n, q);
  }
  const std::span<float> q_nope = scratch_.get(kQNope, n * H * dn), q_pe = scratch_.get(kQPe, n * H * dr);
  copy_cols(q, n * H, dq, 0, dn, q_nope);   // rows are (token, head) pairs
  copy_cols(q, n * H, dq, dn, dr, q_pe);
  const std::span<float> kv_a = scratch_.get(kKvA, n * (kvr + dr));  // [n, kv_lora + d_rope]
  be.matmul(L.kv_a, h, n, kv_a);
  const std::span<float> latent = scratch_.get(kLatent, n * kvr), k_pe = scratch_.get(kKPe, n * dr);
  copy_cols(kv_a, n, kvr + dr, 0, kvr, latent);
  copy_cols(kv_a, n, kvr + dr, kvr, dr, k_pe);
  be.rms_norm(latent, L.kv_a_norm, kLatentNormEps, latent);
  be.rope(q_pe, H, dr, batch.pos, rope_);
  be.rope(k_pe, 1, dr, batch.pos, rope_);
  const std::span<float> o = scratch_.get(kO, n * H * dv);  // [n, H, d_v]
  be.mla_attention(q_nope, q_pe, latent, k_pe, L.kv_b, H, dn, dr, dv, scale_, batch, cache, o);
  be.matmul(L.o, o, n, out);
}

std::vector<float> DeepSeekModel::forward(const BatchLayout& batch, std::span<const int32_t> tokens,
                                          std::span<KvLayerCache> caches, Backend& be, const ForwardOptions& opt) {
  auto layer = [&](int64_t l) {
    const Layer& L = layers_[static_cast<size_t>(l)];
    return DecoderLayer{&L.attn_norm, &L.ffn_norm, L.moe ? nullptr : &L.dense, L.moe ? &L.experts : nullptr};
  };
  auto attend = [&](int64_t l, std::span<const float> h, std::span<float> out) {
    Layer& L = layers_[static_cast<size_t>(l)];
    attention(L, l, batch, caches[static_cast<size_t>(l)], be, h, out);
  };
  return run_decoder(c_, {&embed_, &out_norm_, &lm_head_, &spec_}, layer, attend, batch, tokens, caches.size(), be, opt);
}

}  // namespace

std::unique_ptr<Model> make_deepseek_model(const Checkpoint& cp, const ModelConfig& config) {
  return std::make_unique<DeepSeekModel>(cp, config);
}

}  // namespace schwarm

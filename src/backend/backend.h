#pragma once
// The one seam between model code and hardware. A forward pass is written once as a sequence of
// these ops; each backend (ref: plain and obviously right; cpu: threaded and vectorised; cuda
// later) implements them, and one parity suite checks every backend against ref.
//
// Conventions
// - Activations are fp32, row-major, one row per token: x[n_tokens, dim]. The CPU backends use
//   host memory; spans are exactly the sizes stated.
// - Weights are TensorViews of any registry type with the PyTorch layout ([out, in] for a Linear
//   weight). A backend may dequantize or repack a weight once and cache it keyed by its data
//   pointer; weights never change, move or get freed while a backend lives. (ref and cpu keep no
//   such cache; a test that frees weights must make a fresh backend for a cached one.)
// - Changes since the first version (ops branch): mla_attention takes an MlaKvB (implicitly
//   built from the joint kv_b TensorView, or the GGUF attn_k_b/attn_v_b pair); MoeSpec's routing
//   rules are spelt out below. F8_E4M3 weights are used as stored (no block scale): DeepSeek-V3's
//   block-scaled FP8 (weight_scale_inv) must be converted by the loader first (fp8_block.h).
// - A Backend serves one calling thread at a time (cpu keeps scratch buffers and a thread pool);
//   use one Backend per thread that runs ops concurrently.
// - Ops never allocate per call in the steady state where avoidable, and never read outside the
//   spans given. Shape mismatches throw schwarm::Error naming the op and the shapes.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "io/tensor_view.h"

namespace schwarm {

// ---- rotary position embedding ------------------------------------------------------------
enum class RopeStyle {
  Interleaved,  // rotate pairs (x[2i], x[2i+1]): GPT-J; DeepSeek's HF code after its de-interleave view
  Halves,       // rotate pairs (x[i], x[i + d/2]): GPT-NeoX, HF Llama/Qwen/Mixtral/OLMoE "rotate_half"
};

// The model computes the frequencies once (YaRN/llama3 scaling included); ops only apply them.
struct RopeSpec {
  RopeStyle style = RopeStyle::Halves;
  int64_t rot_dim = 0;             // rotated dims at the start of each head (== head dim usually)
  std::vector<float> inv_freq;     // rot_dim / 2 entries
  float attention_factor = 1.0f;   // multiplies cos and sin (YaRN mscale); 1 otherwise
};

// ---- a batch of tokens from several sequences ------------------------------------------------
// Token t belongs to sequence seq[t] at position pos[t]. Tokens of one sequence are contiguous and
// in increasing position. The KV cache of every sequence already holds positions [0, first pos of
// this batch); attention ops first store this batch's keys/values, then attend causally over
// positions [0, pos[t]] of the token's own sequence.
struct BatchLayout {
  int64_t n_tokens = 0;
  std::span<const int32_t> seq;   // n_tokens
  std::span<const int32_t> pos;   // n_tokens
  // Paged cache: page_table[s] lists the pages of sequence s in position order; a page holds
  // page_tokens consecutive positions.
  std::vector<std::span<const int32_t>> page_table;
  int64_t page_tokens = 16;
};

// One layer's cache pool, owned by runtime/. Each token slot holds `width` floats.
// GQA: k and v, width = n_kv_heads * head_dim each.
// MLA: k holds the compressed latent (kv_lora_rank) and v holds the rope key (qk_rope_head_dim):
//      the two things DeepSeek's MLA needs to keep, not full per-head K and V.
struct KvLayerCache {
  std::span<float> k;  // n_pages * page_tokens * k_width
  std::span<float> v;  // n_pages * page_tokens * v_width
  int64_t k_width = 0;
  int64_t v_width = 0;
};

// ---- coarse weights bundles -----------------------------------------------------------------
struct FfnWeights {  // SwiGLU: down( silu(gate x) * (up x) )
  TensorView gate, up, down;
};

enum class MoeScoringFn { Softmax, Sigmoid };
enum class MoeGroupRule {
  None,         // plain top-k over all experts
  GroupMax,     // DeepSeek-V2 group_limited_greedy: keep topk_group groups by their best score
  GroupTop2Sum  // DeepSeek-V3 noaux_tc: keep topk_group groups by the sum of their top-2 (biased) scores
};

// Routing, per token (transformers' semantics; ties go to the lower expert id):
//   scores = softmax(logits) or sigmoid(logits) over all n_experts (router = [n_experts, hidden]);
//   choice = scores + selection_bias (V3) or scores;
//   group rule: split the experts into n_group equal groups, score each group (GroupMax: max
//     choice; GroupTop2Sum: sum of its two largest choices), keep the topk_group best groups and
//     exclude every expert of the others (-inf, not transformers' 0.0 fill: same result whenever
//     the kept groups hold top_k experts with positive choice, and right when they don't);
//   select the top_k experts by choice; weight_i = scores[e_i] (unbiased), divided by their sum
//   (+1e-20) iff norm_topk_prob, then times routed_scaling_factor (always, as transformers).
// Mixtral = Softmax + norm_topk_prob; Qwen3-MoE / OLMoE = Softmax, norm per config;
// DeepSeek-V2 = Softmax + GroupMax (group_limited_greedy) or None (greedy);
// DeepSeek-V3 = Sigmoid + GroupTop2Sum + selection_bias (noaux_tc).
struct MoeSpec {
  int64_t n_experts = 0;
  int64_t top_k = 0;
  MoeScoringFn scoring = MoeScoringFn::Softmax;
  MoeGroupRule group_rule = MoeGroupRule::None;
  int64_t n_group = 1;
  int64_t topk_group = 1;
  bool norm_topk_prob = false;   // renormalise the k selected weights to sum 1
  float routed_scaling_factor = 1.0f;
};

struct MoeWeights {
  TensorView router;                    // [n_experts, hidden]
  const TensorView* selection_bias = nullptr;  // [n_experts], V3's e_score_correction_bias: selection only
  std::vector<FfnWeights> experts;      // n_experts (views may be slices of a stacked GGUF tensor)
  std::vector<FfnWeights> shared;       // always-on shared experts (DeepSeek), added unweighted
};

// MLA's up-projection of the latent into per-head K (nope part) and V. Either the joint HF
// kv_b_proj, or the pair newer llama.cpp GGUF files carry instead (attn_k_b / attn_v_b, split
// from kv_b_proj by convert_hf_to_gguf.py). Converts implicitly from the joint TensorView, so
// `mla_attention(..., kv_b, ...)` keeps compiling.
struct MlaKvB {
  TensorView kv_b;  // joint: [H * (d_nope + d_v), kv_lora_rank]; head h = W_uk rows, then W_uv rows
  TensorView k_b;   // split: [H, kv_lora_rank, d_nope] (W_uk transposed per head)
  TensorView v_b;   // split: [H, d_v, kv_lora_rank]   (W_uv)
  MlaKvB() = default;
  MlaKvB(const TensorView& joint) : kv_b(joint) {}  // NOLINT(google-explicit-constructor)
  static MlaKvB split(TensorView k_b_, TensorView v_b_) {
    MlaKvB m;
    m.k_b = std::move(k_b_);
    m.v_b = std::move(v_b_);
    return m;
  }
  bool is_split() const { return kv_b.data.empty(); }
};

// ---- the ops ----------------------------------------------------------------------------------
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  // The quantized-activations mode (quant/act_q8k.h): when on, matmul, ffn and moe multiply each
  // K-quant (Q4_K, Q5_K, Q6_K), Q8_0, Q4_0 and Q5_0 weight with its input rounded to 8 bits per
  // block of 256 (quant::act_q8k_applies), as llama.cpp does, which lets the cpu backend use
  // integer dot products (VNNI). Off by default:
  // every backend then computes with the activations as they are. Backends agree with each other
  // in either mode (parity suite).
  void set_quantized_activations(bool on) { quantized_activations_ = on; }
  bool quantized_activations() const { return quantized_activations_; }

  // Makes a checkpoint's weights resident where this backend computes, before the first op,
  // calling progress(bytes done, total) along the way. Returns false where there is nothing to do
  // (ref and cpu use the weights in place, memory-mapped); cuda uploads every tensor once and
  // returns true. The views must stay valid while the backend lives (backend.h's convention).
  using WeightProgressFn = std::function<void(uint64_t done, uint64_t total)>;
  virtual bool upload_weights(std::span<const TensorView> weights, const WeightProgressFn& progress) {
    (void)weights;
    (void)progress;
    return false;
  }

  // Lets a backend keep its own copy, in another layout, of weights it computes from faster so
  // (the cpu backend repacks Q4_K matrices for its integer kernels), before the first op; calls
  // copied(t) for each weight copied: the caller may drop the stored bytes' pages (whatever still
  // reads them, reads them again from the file). Default: nothing.
  using CopiedWeightFn = std::function<void(const TensorView&)>;
  virtual void prepare_weights(std::span<const TensorView> weights, const CopiedWeightFn& copied) {
    (void)weights;
    (void)copied;
  }

  // y[n, dim] = table[ids[i], :]
  virtual void embed(const TensorView& table, std::span<const int32_t> ids, std::span<float> y) = 0;
  // y[n, out] = x[n, in] · Wᵀ, W of any registry type.
  virtual void matmul(const TensorView& w, std::span<const float> x, int64_t n, std::span<float> y) = 0;
  // y[r, :] = x[r, :] / rms(x[r, :]) * gain; rows of gain.numel() values. y may alias x.
  virtual void rms_norm(std::span<const float> x, const TensorView& gain, float eps, std::span<float> y) = 0;
  // y += x
  virtual void add(std::span<const float> x, std::span<float> y) = 0;
  // Rotates the first rot_dim dims of each head in place: x[n, n_heads, head_dim].
  virtual void rope(std::span<float> x, int64_t n_heads, int64_t head_dim, std::span<const int32_t> pos,
                    const RopeSpec& rope) = 0;
  // y[n, hidden] = SwiGLU FFN of x[n, hidden].
  virtual void ffn(const FfnWeights& w, std::span<const float> x, int64_t n, std::span<float> y) = 0;
  // y[n, hidden] = routed experts (top-k, weighted) + shared experts of x[n, hidden].
  virtual void moe(const MoeWeights& w, const MoeSpec& spec, std::span<const float> x, int64_t n,
                   std::span<float> y) = 0;

  // Grouped-query attention. q[n, n_heads, head_dim], k/v[n, n_kv_heads, head_dim] (rope applied);
  // stores k, v into the cache at each token's slot, then out[n, n_heads, head_dim] =
  // softmax(q·Kᵀ * scale) · V over positions [0, pos[t]] of the token's sequence.
  virtual void attention(std::span<const float> q, std::span<const float> k, std::span<const float> v,
                         int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale,
                         const BatchLayout& batch, KvLayerCache& cache, std::span<float> out) = 0;

  // DeepSeek multi-head latent attention, absorbed form. q_nope[n, H, d_nope], q_pe[n, H, d_rope]
  // (rope applied); latent[n, kv_lora_rank] (after kv_a_layernorm) and k_pe[n, d_rope] (rope
  // applied) are stored into the cache (k: latent, v: k_pe); kv_b: see MlaKvB.
  // out[n, H, d_v] = attention with keys k = [W_uk·latent, k_pe] and values W_uv·latent, computed
  // in the absorbed form: q_lat = W_ukᵀ·q_nope, score = (q_lat·latent_j + q_pe·k_pe_j) * scale,
  // out = W_uv·Σ_j p_j latent_j. The caller passes the scale (including YaRN's mscale²).
  virtual void mla_attention(std::span<const float> q_nope, std::span<const float> q_pe,
                             std::span<const float> latent, std::span<const float> k_pe,
                             const MlaKvB& kv_b, int64_t n_heads, int64_t d_nope, int64_t d_rope,
                             int64_t d_v, float scale, const BatchLayout& batch, KvLayerCache& cache,
                             std::span<float> out) = 0;

 private:
  bool quantized_activations_ = false;
};

std::unique_ptr<Backend> make_ref_backend();
std::unique_ptr<Backend> make_cpu_backend(int n_threads = 0);  // 0: all hardware threads
// The CUDA backend on GPU `device`; nullptr where this build has no CUDA backend or the machine no
// CUDA device (see cuda_backend_compiled()). Throws Error for a device index that does not exist.
std::unique_ptr<Backend> make_cuda_backend(int device = 0);
bool cuda_backend_compiled();
// "cpu" (n_threads), "ref", "cuda" (device 0) or "cuda:N". Throws Error naming the problem: an
// unknown name, a build without CUDA, a machine without a CUDA device, a device that does not exist.
std::unique_ptr<Backend> make_backend_by_name(const std::string& name, int n_threads = 0);
bool is_backend_name(const std::string& name);

}  // namespace schwarm

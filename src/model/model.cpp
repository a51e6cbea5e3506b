// Model registry: config from a checkpoint, family -> implementation.
#include "model/model.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "schwarm/error.h"

namespace schwarm {

ModelConfig config_from_checkpoint(const Checkpoint& cp) {
  if (const GgufMetadata* md = cp.gguf_metadata()) {
    ModelConfig c = config_from_gguf(*md, cp.path());
    // GGUF has no tie_word_embeddings key: a tied model simply lacks output.weight.
    if (!cp.find_tensor("output.weight")) c.tie_word_embeddings = true;
    return c;
  }
  if (cp.hf_dir().empty()) throw FileError(cp.path(), "no config.json beside the checkpoint");
  const auto path = std::filesystem::path(cp.hf_dir()) / "config.json";
  if (!std::filesystem::exists(path)) throw FileError(cp.path(), "no config.json in " + cp.hf_dir());
  return config_from_hf_file(path.string());
}

std::unique_ptr<Model> make_model(const Checkpoint& cp) {
  const ModelConfig c = config_from_checkpoint(cp);
  switch (c.family) {
    case ArchFamily::DeepSeek:
      return make_deepseek_model(cp, c);
    case ArchFamily::Qwen3Moe:
    case ArchFamily::Mixtral:
    case ArchFamily::Olmoe:
    case ArchFamily::Llama:
    case ArchFamily::Qwen2:
    case ArchFamily::Qwen3:
      return make_gqa_model(cp, c);
  }
  throw Error(cp.path() + ": architecture '" + c.architecture + "' has no forward pass");
}

namespace {

void check_forward_inputs(const ModelConfig& c, const BatchLayout& batch, std::span<const int32_t> tokens,
                          size_t n_caches) {
  const int64_t n = batch.n_tokens;
  if (n <= 0) throw Error("forward: empty batch");
  if (static_cast<int64_t>(tokens.size()) != n || static_cast<int64_t>(batch.seq.size()) != n ||
      static_cast<int64_t>(batch.pos.size()) != n)
    throw Error("forward: batch of " + std::to_string(n) + " tokens with " + std::to_string(tokens.size()) +
                " ids, " + std::to_string(batch.seq.size()) + " seq and " + std::to_string(batch.pos.size()) +
                " pos entries");
  if (static_cast<int64_t>(n_caches) != c.num_layers)
    throw Error("forward: " + std::to_string(n_caches) + " cache layers for a model of " +
                std::to_string(c.num_layers) + " layers");
  for (int64_t t = 0; t < n; ++t) {
    const int32_t id = tokens[static_cast<size_t>(t)];
    if (id < 0 || id >= c.vocab_size)
      throw Error("token id " + std::to_string(id) + " (at index " + std::to_string(t) +
                  ") is out of the vocabulary range [0, " + std::to_string(c.vocab_size) + ")");
  }
}

}  // namespace

std::vector<float> run_decoder(const ModelConfig& c, const DecoderWeights& w,
                               const std::function<DecoderLayer(int64_t layer)>& layer,
                               const LayerAttention& attention, const BatchLayout& batch,
                               std::span<const int32_t> tokens, size_t n_caches, Backend& be,
                               const ForwardOptions& opt) {
  check_forward_inputs(c, batch, tokens, n_caches);
  const int64_t n = batch.n_tokens, hid = c.hidden_size, V = c.vocab_size;
  const auto eps = static_cast<float>(c.rms_norm_eps);
  auto dump = [&](const char* name, int64_t l, std::span<const float> d, int64_t rows, int64_t cols) {
    if (opt.dump) opt.dump(name, l, d, rows, cols);
  };
  std::vector<float> x(static_cast<size_t>(n * hid)), h(x.size()), y(x.size());  // [n, hidden] each
  be.embed(*w.embed, tokens, x);
  dump("embed", -1, x, n, hid);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const DecoderLayer L = layer(l);
    be.rms_norm(x, *L.attn_norm, eps, h);
    attention(l, h, y);
    dump("attn_out", l, y, n, hid);
    be.add(y, x);
    be.rms_norm(x, *L.ffn_norm, eps, h);
    if (L.moe) be.moe(*L.moe, *w.moe_spec, h, n, y);
    else be.ffn(*L.dense, h, n, y);
    dump("ffn_out", l, y, n, hid);
    be.add(y, x);
    dump("layer_out", l, x, n, hid);
  }
  int64_t rows = n;
  if (opt.last_token_only) {  // keep each sequence's last token, in batch order
    rows = 0;
    for (int64_t t = 0; t < n; ++t) {
      if (t + 1 < n && batch.seq[static_cast<size_t>(t + 1)] == batch.seq[static_cast<size_t>(t)]) continue;
      if (rows != t)
        std::memmove(&x[static_cast<size_t>(rows * hid)], &x[static_cast<size_t>(t * hid)],
                     static_cast<size_t>(hid) * sizeof(float));
      ++rows;
    }
  }
  std::span<float> xs(x.data(), static_cast<size_t>(rows * hid));
  be.rms_norm(xs, *w.out_norm, eps, xs);
  dump("final_norm", -1, xs, rows, hid);
  std::vector<float> logits(static_cast<size_t>(rows * V));
  be.matmul(*w.lm_head, xs, rows, logits);
  dump("logits", -1, logits, rows, V);
  return logits;
}

std::vector<KvLayerSpec> kv_layout_for(const ModelConfig& c) {
  const KvLayerSpec s = c.mla ? KvLayerSpec{c.kv_lora_rank, c.qk_rope_head_dim}
                              : KvLayerSpec{c.num_kv_heads * c.head_dim, c.num_kv_heads * c.head_dim};
  return std::vector<KvLayerSpec>(static_cast<size_t>(std::max<int64_t>(0, c.num_layers)), s);
}

}  // namespace schwarm

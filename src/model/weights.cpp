// Weight binding: names, shapes, FP8 dequantization at load, stacked-expert slices.
#include "model/weights.h"

#include "quant/fp8_block.h"
#include "schwarm/error.h"

namespace schwarm {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::vector<float> dequantize_to_f32(const TensorView& t) {
  const TypeTraits& tr = type_traits(t.type);
  if (!tr.dequantize)
    throw Error("tensor '" + t.name + "': type " + std::string(tr.name) + " cannot be dequantized");
  std::vector<float> out(static_cast<size_t>(t.numel()));
  tr.dequantize(t.data.data(), out.data(), t.numel());
  return out;
}

WeightStore::WeightStore(const Checkpoint& cp, int64_t fp8_block)
    : cp_(&cp), gguf_(cp.format() == CheckpointFormat::Gguf), fp8_block_(fp8_block) {}

const TensorView* WeightStore::find(const TensorName& n) const {
  const std::string& name = name_for(n);
  return name.empty() ? nullptr : cp_->find_tensor(name);
}

bool WeightStore::has(const TensorName& n) const { return find(n) != nullptr; }

bool WeightStore::get_optional(const TensorName& n, std::vector<int64_t> shape, TensorView& out) {
  const TensorView* t = find(n);
  if (!t) return false;
  if (t->shape != shape)
    throw Error(cp_->path() + ": tensor '" + t->name + "' has shape " + shape_string(t->shape) +
                ", expected " + shape_string(shape));
  if (t->type == TensorType::F8_E4M3) {
    // Block-scaled FP8 (DeepSeek-V3): "<x>.weight" + "<x>.weight_scale_inv".
    const std::string scale_name = t->name + "_scale_inv";
    const TensorView* s = cp_->find_tensor(scale_name);
    if (!s)
      throw Error(cp_->path() + ": FP8 tensor '" + t->name + "' has no scale tensor '" + scale_name + "'");
    if (shape.size() != 2)
      throw Error(cp_->path() + ": FP8 tensor '" + t->name + "' must be 2-D, is " + shape_string(shape));
    std::vector<float> data(static_cast<size_t>(t->numel()));
    dequantize_fp8_block_scaled(*t, *s, data.data(), fp8_block_);
    out = own_f32(t->name, shape, std::move(data));
    return true;
  }
  out = *t;
  return true;
}

TensorView WeightStore::get(const TensorName& n, std::vector<int64_t> shape) {
  TensorView out;
  if (!get_optional(n, shape, out)) {
    const std::string& name = name_for(n);
    throw Error(cp_->path() + ": tensor '" + (name.empty() ? n.hf : name) + "' " + shape_string(shape) +
                " is missing");
  }
  return out;
}

TensorView WeightStore::expert_slice(const TensorView& stacked, int64_t e) const {
  if (stacked.shape.size() != 3 || e < 0 || e >= stacked.shape[0])
    throw Error("tensor '" + stacked.name + "' " + shape_string(stacked.shape) +
                ": no expert " + std::to_string(e) + " in a stacked [experts, rows, cols] tensor");
  TensorView v;
  v.name = stacked.name + "[" + std::to_string(e) + "]";
  v.type = stacked.type;
  v.shape = {stacked.shape[1], stacked.shape[2]};
  v.file = stacked.file;
  const auto bytes = tensor_nbytes(stacked.type, v.shape);
  if (!bytes || *bytes * static_cast<uint64_t>(stacked.shape[0]) != stacked.data.size())
    throw Error("tensor '" + stacked.name + "': byte size does not split into " +
                std::to_string(stacked.shape[0]) + " experts");
  v.data = stacked.data.subspan(static_cast<size_t>(*bytes) * static_cast<size_t>(e), static_cast<size_t>(*bytes));
  return v;
}

TensorName layer_tensor(int64_t layer, const std::string& hf, const std::string& gguf) {
  const std::string l = std::to_string(layer);
  return {hf.empty() ? "" : "model.layers." + l + "." + hf, gguf.empty() ? "" : "blk." + l + "." + gguf};
}

FfnWeights WeightStore::dense_ffn(int64_t layer, int64_t ffn, int64_t hidden) {
  return {get(layer_tensor(layer, "mlp.gate_proj.weight", "ffn_gate.weight"), {ffn, hidden}),
          get(layer_tensor(layer, "mlp.up_proj.weight", "ffn_up.weight"), {ffn, hidden}),
          get(layer_tensor(layer, "mlp.down_proj.weight", "ffn_down.weight"), {hidden, ffn})};
}

std::vector<FfnWeights> WeightStore::experts(int64_t layer, int64_t n_experts, int64_t ffn, int64_t hidden,
                                             const std::string& hf_prefix,
                                             const std::array<const char*, 3>& hf_names) {
  std::vector<FfnWeights> out(static_cast<size_t>(n_experts));
  if (gguf_) {
    const TensorView g = get(layer_tensor(layer, "", "ffn_gate_exps.weight"), {n_experts, ffn, hidden});
    const TensorView u = get(layer_tensor(layer, "", "ffn_up_exps.weight"), {n_experts, ffn, hidden});
    const TensorView d = get(layer_tensor(layer, "", "ffn_down_exps.weight"), {n_experts, hidden, ffn});
    for (int64_t e = 0; e < n_experts; ++e)
      out[static_cast<size_t>(e)] = {expert_slice(g, e), expert_slice(u, e), expert_slice(d, e)};
    return out;
  }
  for (int64_t e = 0; e < n_experts; ++e) {
    const std::string p = hf_prefix + std::to_string(e) + ".";
    FfnWeights& x = out[static_cast<size_t>(e)];
    x.gate = get(layer_tensor(layer, p + hf_names[0] + ".weight", ""), {ffn, hidden});
    x.up = get(layer_tensor(layer, p + hf_names[1] + ".weight", ""), {ffn, hidden});
    x.down = get(layer_tensor(layer, p + hf_names[2] + ".weight", ""), {hidden, ffn});
  }
  return out;
}

TensorView WeightStore::own_f32(std::string name, std::vector<int64_t> shape, std::vector<float> data) {
  owned_bytes_ += data.size() * sizeof(float);
  owned_.push_back(std::move(data));
  const std::vector<float>& d = owned_.back();
  TensorView v;
  v.name = std::move(name);
  v.type = TensorType::F32;
  v.shape = std::move(shape);
  v.data = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(d.data()), d.size() * sizeof(float));
  v.file = "(dequantized at load)";
  return v;
}

}  // namespace schwarm

#pragma once
// Binding checkpoint tensors to a model's weight slots by name. A family asks for each tensor by
// its Hugging Face name and its GGUF name, with the shape it expects (PyTorch order, [out, in] for
// a Linear weight); a missing or misshaped tensor throws Error naming the tensor, the shape found
// and the shape expected.
//
// Most weights are zero-copy views into the checkpoint's mapping. The exceptions own an f32 copy:
// - block-scaled FP8 weights (DeepSeek-V3's F8_E4M3 + "<name>_scale_inv"): dequantized once at
//   load. Memory cost: 4 bytes per weight instead of 1, i.e. a 671B-parameter V3 would need
//   ~2.7 TB; fine for tests and small models, a real deployment wants a quantized GGUF (or an FP8
//   matmul in the backend, which would make this copy unnecessary).
#include <array>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "io/checkpoint.h"

namespace schwarm {

// One tensor's name in both formats; either may be empty when a format lacks it.
struct TensorName {
  std::string hf;
  std::string gguf;
};

// "model.layers.L.<hf>" and "blk.L.<gguf>"; an empty part stays empty (that format lacks the tensor).
TensorName layer_tensor(int64_t layer, const std::string& hf, const std::string& gguf);

class WeightStore {
 public:
  // cp must outlive the store (the model keeps a copy of the Checkpoint, which shares the mapping).
  explicit WeightStore(const Checkpoint& cp, int64_t fp8_block = 128);

  bool is_gguf() const { return gguf_; }
  const std::string& name_for(const TensorName& n) const { return gguf_ ? n.gguf : n.hf; }
  bool has(const TensorName& n) const;

  // The tensor with exactly this shape (FP8 block-scaled ones dequantized to f32). Throws Error
  // "tensor 'NAME' ...: expected shape [..], found [..]" or "... is missing".
  TensorView get(const TensorName& n, std::vector<int64_t> shape);
  // nullptr-like: returns false when absent (shape still checked when present).
  bool get_optional(const TensorName& n, std::vector<int64_t> shape, TensorView& out);

  // Expert e of a stacked GGUF expert tensor [n_experts, rows, cols]: a view of its slice.
  TensorView expert_slice(const TensorView& stacked, int64_t e) const;

  // A layer's dense SwiGLU FFN: mlp.{gate,up,down}_proj / ffn_{gate,up,down}.
  FfnWeights dense_ffn(int64_t layer, int64_t ffn, int64_t hidden);
  // A layer's routed experts (gate/up [ffn, hidden], down [hidden, ffn]): GGUF's stacked
  // blk.L.ffn_{gate,up,down}_exps sliced per expert, or HF's
  // "model.layers.L.<hf_prefix>E.<hf_names[gate, up, down]>.weight".
  std::vector<FfnWeights> experts(int64_t layer, int64_t n_experts, int64_t ffn, int64_t hidden,
                                  const std::string& hf_prefix, const std::array<const char*, 3>& hf_names);

  // An owned f32 tensor (the store keeps it alive as long as itself).
  TensorView own_f32(std::string name, std::vector<int64_t> shape, std::vector<float> data);

  // Bytes of the f32 copies this store owns.
  uint64_t owned_bytes() const { return owned_bytes_; }

 private:
  const TensorView* find(const TensorName& n) const;

  const Checkpoint* cp_;
  bool gguf_;
  int64_t fp8_block_;
  std::deque<std::vector<float>> owned_;  // deque: element addresses never move
  uint64_t owned_bytes_ = 0;
};

std::string shape_string(const std::vector<int64_t>& shape);
// The whole tensor in f32 (any registry type with a dequantizer). Throws Error naming it otherwise.
std::vector<float> dequantize_to_f32(const TensorView& t);

}  // namespace schwarm

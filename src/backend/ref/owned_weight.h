#pragma once
// A weight that owns its bytes: f32 values quantized to any registry type with a quantize
// routine (F8_E4M3 has none: its bytes are drawn directly). For tests and synthetic models. The
// view points into `bytes`; moving an OwnedWeight keeps that buffer, copying is disallowed.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/tensor_type.h"
#include "io/tensor_view.h"
#include "schwarm/error.h"

namespace schwarm {

struct OwnedWeight {
  std::vector<uint8_t> bytes;
  TensorView view;

  // values.size() == product of shape; the innermost dim a multiple of the type's block size.
  static OwnedWeight quantized(const std::string& name, TensorType type, std::vector<int64_t> shape,
                               const std::vector<float>& values) {
    const TypeTraits& tt = type_traits(type);
    if (!tt.quantize) throw Error("OwnedWeight: no quantize routine for " + std::string(tt.name));
    OwnedWeight w;
    w.view.name = name;
    w.view.type = type;
    w.view.shape = std::move(shape);
    const int64_t n = w.view.numel();
    if (static_cast<int64_t>(values.size()) != n || n % tt.block_size != 0)
      throw Error("OwnedWeight: " + std::to_string(values.size()) + " values for '" + name + "'");
    w.bytes.resize(static_cast<size_t>(n / tt.block_size) * tt.block_bytes);
    tt.quantize(values.data(), w.bytes.data(), n);
    w.view.data = w.bytes;
    return w;
  }

  // F8_E4M3 bytes drawn at random with magnitudes in [2^-7, 2^1.9] or zero (never NaN).
  static OwnedWeight random_f8_e4m3(const std::string& name, std::vector<int64_t> shape, std::mt19937& rng) {
    OwnedWeight w;
    w.view.name = name;
    w.view.type = TensorType::F8_E4M3;
    w.view.shape = std::move(shape);
    w.bytes.resize(static_cast<size_t>(w.view.numel()));
    std::uniform_int_distribution<int> sign(0, 1), exp(0, 8), man(0, 7);
    for (uint8_t& b : w.bytes) b = static_cast<uint8_t>(sign(rng) << 7 | exp(rng) << 3 | man(rng));
    w.view.data = w.bytes;
    return w;
  }

  OwnedWeight() = default;
  OwnedWeight(const OwnedWeight&) = delete;
  OwnedWeight& operator=(const OwnedWeight&) = delete;
  // Moving a vector keeps its heap buffer, so the view stays valid across moves.
  OwnedWeight(OwnedWeight&&) = default;
  OwnedWeight& operator=(OwnedWeight&&) = default;
};

}  // namespace schwarm

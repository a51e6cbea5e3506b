// ref: factory, weight cache and the elementwise ops (embed, rms_norm, add, rope).
#include "backend/ref/ref_backend.h"

#include <cmath>

#include "backend/ref/op_common.h"

namespace schwarm {

using namespace backend_detail;

std::unique_ptr<Backend> make_ref_backend() { return std::make_unique<RefBackend>(); }

std::vector<float> RefBackend::dense(const TensorView& w) {
  std::vector<float> f(static_cast<size_t>(w.numel()));
  type_traits(w.type).dequantize(w.data.data(), f.data(), w.numel());
  return f;
}

void RefBackend::embed(const TensorView& table, std::span<const int32_t> ids, std::span<float> y) {
  const Dims2 d = weight_dims(table, "embed");
  check(y.size() == ids.size() * static_cast<size_t>(d.cols), "embed",
        "output of " + std::to_string(y.size()) + " floats for " + std::to_string(ids.size()) + " ids of width " +
            std::to_string(d.cols));
  for (size_t i = 0; i < ids.size(); ++i) {
    check(ids[i] >= 0 && ids[i] < d.rows, "embed",
          "id " + std::to_string(ids[i]) + " outside the table's " + std::to_string(d.rows) + " rows");
    dequantize_rows(table, ids[i], 1, d.cols, y.data() + i * static_cast<size_t>(d.cols));
  }
}

void RefBackend::rms_norm(std::span<const float> x, const TensorView& gain, float eps, std::span<float> y) {
  const int64_t dim = gain.numel();
  check(dim > 0 && x.size() % static_cast<size_t>(dim) == 0 && y.size() == x.size(), "rms_norm",
        "x of " + std::to_string(x.size()) + " floats, y of " + std::to_string(y.size()) + ", gain " +
            shape_str(gain.shape));
  check(type_traits(gain.type).dequantize != nullptr && dim % type_traits(gain.type).block_size == 0, "rms_norm",
        "gain of type " + std::string(tensor_type_name(gain.type)) + " cannot be dequantized");
  const std::vector<float> g = dense(gain);
  const size_t rows = x.size() / static_cast<size_t>(dim);
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x.data() + r * static_cast<size_t>(dim);
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(dim) + eps);
    float* yr = y.data() + r * static_cast<size_t>(dim);
    for (int64_t i = 0; i < dim; ++i) yr[i] = static_cast<float>(xr[i] * inv * g[static_cast<size_t>(i)]);
  }
}

void RefBackend::add(std::span<const float> x, std::span<float> y) {
  check(x.size() == y.size(), "add", "x of " + std::to_string(x.size()) + " floats, y of " + std::to_string(y.size()));
  for (size_t i = 0; i < x.size(); ++i) y[i] += x[i];
}

void RefBackend::rope(std::span<float> x, int64_t n_heads, int64_t head_dim, std::span<const int32_t> pos,
                      const RopeSpec& rope) {
  check_rope(rope, head_dim, "rope");
  check(x.size() == pos.size() * static_cast<size_t>(n_heads * head_dim), "rope",
        "x of " + std::to_string(x.size()) + " floats for " + std::to_string(pos.size()) + " tokens x " +
            std::to_string(n_heads) + " heads x " + std::to_string(head_dim));
  const int64_t half = rope.rot_dim / 2;
  for (size_t t = 0; t < pos.size(); ++t) {
    for (int64_t h = 0; h < n_heads; ++h) {
      float* xh = x.data() + (t * static_cast<size_t>(n_heads) + static_cast<size_t>(h)) * static_cast<size_t>(head_dim);
      for (int64_t i = 0; i < half; ++i) {
        const double angle = static_cast<double>(pos[t]) * static_cast<double>(rope.inv_freq[static_cast<size_t>(i)]);
        const double c = std::cos(angle) * rope.attention_factor, s = std::sin(angle) * rope.attention_factor;
        const int64_t a = rope.style == RopeStyle::Interleaved ? 2 * i : i;
        const int64_t b = rope.style == RopeStyle::Interleaved ? 2 * i + 1 : i + half;
        const double x0 = xh[a], x1 = xh[b];
        xh[a] = static_cast<float>(x0 * c - x1 * s);
        xh[b] = static_cast<float>(x0 * s + x1 * c);
      }
    }
  }
}

}  // namespace schwarm

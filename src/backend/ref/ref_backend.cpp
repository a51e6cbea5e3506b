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
  const Dims2 d = check_embed(table, ids, y);
  for (size_t i = 0; i < ids.size(); ++i)
    dequantize_rows(table, ids[i], 1, d.cols, y.data() + i * static_cast<size_t>(d.cols));
}

void RefBackend::rms_norm(std::span<const float> x, const TensorView& gain, float eps, std::span<float> y) {
  const int64_t dim = check_rms_norm(x, gain, y);
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
  check_add(x, y);
  for (size_t i = 0; i < x.size(); ++i) y[i] += x[i];
}

void RefBackend::rope(std::span<float> x, int64_t n_heads, int64_t head_dim, std::span<const int32_t> pos,
                      const RopeSpec& rope) {
  check_rope_args(x, n_heads, head_dim, pos, rope);
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

// cpu: factory and the elementwise ops (embed, rms_norm, add, rope).
#include "backend/cpu/cpu_backend.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "backend/cpu/row_decode.h"
#include "backend/cpu/vec.h"
#include "backend/ref/op_common.h"

namespace schwarm {

using namespace backend_detail;

std::unique_ptr<Backend> make_cpu_backend(int n_threads) { return std::make_unique<CpuBackend>(n_threads); }

void CpuBackend::prepare_weights(std::span<const TensorView> weights, const CopiedWeightFn& copied) {
  if (!quantized_activations() || !k_.gemv_q4k_x16 || !k_.gemm_q4k_x16) return;
  if (const char* e = std::getenv("SCHWARM_CPU_REPACK"); e && std::strcmp(e, "0") == 0) return;
  for (const TensorView& t : weights)
    if (repacked_.add(t, pool_) && copied) copied(t);
}

void CpuBackend::embed(const TensorView& table, std::span<const int32_t> ids, std::span<float> y) {
  const Dims2 d = check_embed(table, ids, y);
  pool_.parallel_for(static_cast<int64_t>(ids.size()), 4, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) cpu::decode_rows(table, ids[static_cast<size_t>(i)], 1, d.cols, y.data() + i * d.cols);
  });
}

void CpuBackend::rms_norm(std::span<const float> x, const TensorView& gain, float eps, std::span<float> y) {
  const int64_t dim = check_rms_norm(x, gain, y);
  const TypeTraits& tt = type_traits(gain.type);
  std::vector<float> g(static_cast<size_t>(dim));  // small (one row): decoded per call
  tt.dequantize(gain.data.data(), g.data(), dim);
  const int64_t rows = static_cast<int64_t>(x.size()) / dim;
  pool_.parallel_for(rows, std::max<int64_t>(1, 16384 / dim), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* xr = x.data() + r * dim;
      float* yr = y.data() + r * dim;
      const float inv = 1.0f / std::sqrt(cpu::sum_squares(xr, dim) / static_cast<float>(dim) + eps);
      for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] * inv * g[static_cast<size_t>(i)];
    }
  });
}

void CpuBackend::add(std::span<const float> x, std::span<float> y) {
  check_add(x, y);
  const float* __restrict xs = x.data();
  float* __restrict ys = y.data();
  for (size_t i = 0; i < x.size(); ++i) ys[i] += xs[i];
}

void CpuBackend::rope(std::span<float> x, int64_t n_heads, int64_t head_dim, std::span<const int32_t> pos,
                      const RopeSpec& rope) {
  check_rope_args(x, n_heads, head_dim, pos, rope);
  const int64_t half = rope.rot_dim / 2;
  pool_.parallel_for(static_cast<int64_t>(pos.size()), 8, [&](int64_t b, int64_t e) {
    thread_local std::vector<float> cs, sn;
    cs.resize(static_cast<size_t>(half));
    sn.resize(static_cast<size_t>(half));
    for (int64_t t = b; t < e; ++t) {
      // The angle in double: pos * inv_freq reaches 1e5 rad, where a float angle is off by 1e-2.
      for (int64_t i = 0; i < half; ++i) {
        const double a = static_cast<double>(pos[static_cast<size_t>(t)]) * rope.inv_freq[static_cast<size_t>(i)];
        cs[static_cast<size_t>(i)] = static_cast<float>(std::cos(a) * rope.attention_factor);
        sn[static_cast<size_t>(i)] = static_cast<float>(std::sin(a) * rope.attention_factor);
      }
      for (int64_t h = 0; h < n_heads; ++h) {
        float* xh = x.data() + (t * n_heads + h) * head_dim;
        if (rope.style == RopeStyle::Halves) {
          float* x0 = xh;
          float* x1 = xh + half;
          for (int64_t i = 0; i < half; ++i) {
            const float a = x0[i], c = x1[i];
            x0[i] = a * cs[static_cast<size_t>(i)] - c * sn[static_cast<size_t>(i)];
            x1[i] = a * sn[static_cast<size_t>(i)] + c * cs[static_cast<size_t>(i)];
          }
        } else {
          for (int64_t i = 0; i < half; ++i) {
            const float a = xh[2 * i], c = xh[2 * i + 1];
            xh[2 * i] = a * cs[static_cast<size_t>(i)] - c * sn[static_cast<size_t>(i)];
            xh[2 * i + 1] = a * sn[static_cast<size_t>(i)] + c * cs[static_cast<size_t>(i)];
          }
        }
      }
    }
  });
}

}  // namespace schwarm

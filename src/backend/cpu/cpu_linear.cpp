// cpu: matmul and the SwiGLU FFN. Output rows are split among threads in blocks; a quantized
// block is decoded into a thread-local f32 buffer once per call and then used for all n tokens,
// so prefill pays the decode once per row and decode (n = 1) streams the weight exactly once.
#include <algorithm>
#include <cmath>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/row_decode.h"
#include "backend/cpu/vec.h"
#include "backend/ref/op_common.h"

namespace schwarm {

using namespace backend_detail;

namespace {
// Rows per block: about 64 KiB of f32 weight (fits L2 beside the activations), 1..64 rows.
int64_t rows_per_block(int64_t cols) { return std::clamp<int64_t>(16384 / std::max<int64_t>(cols, 1), 1, 64); }
}  // namespace

void CpuBackend::matmul_unchecked(const TensorView& w, int64_t rows, int64_t cols, const float* x, int64_t n,
                                  float* y) {
  const int64_t rb = rows_per_block(cols);
  const int64_t n_blocks = (rows + rb - 1) / rb;
  const bool in_place = w.type == TensorType::F32;
  pool_.parallel_for(n_blocks, 1, [&](int64_t b0, int64_t b1) {
    thread_local std::vector<float> buf;
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t r0 = blk * rb, nr = std::min(rb, rows - r0);
      const float* wf;
      if (in_place) {
        wf = reinterpret_cast<const float*>(w.data.data()) + r0 * cols;
      } else {
        buf.resize(static_cast<size_t>(nr * cols));
        cpu::decode_rows(w, r0, nr, cols, buf.data());
        wf = buf.data();
      }
      for (int64_t t = 0; t < n; ++t) {
        const float* xt = x + t * cols;
        float* yt = y + t * rows + r0;
        for (int64_t r = 0; r < nr; ++r) yt[r] = cpu::dot(wf + r * cols, xt, cols);
      }
    }
  });
}

void CpuBackend::matmul(const TensorView& w, std::span<const float> x, int64_t n, std::span<float> y) {
  const Dims2 d = check_matmul(w, x, n, y);
  matmul_unchecked(w, d.rows, d.cols, x.data(), n, y.data());
}

void CpuBackend::ffn_unchecked(const FfnWeights& w, const float* x, int64_t n, int64_t inter, float* y) {
  const auto m = static_cast<size_t>(n * inter);
  gate_.resize(m);
  up_.resize(m);
  const int64_t hidden = w.gate.shape[1];
  matmul_unchecked(w.gate, inter, hidden, x, n, gate_.data());
  matmul_unchecked(w.up, inter, hidden, x, n, up_.data());
  float* __restrict g = gate_.data();
  const float* __restrict u = up_.data();
  for (size_t i = 0; i < m; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
  matmul_unchecked(w.down, hidden, inter, g, n, y);
}

void CpuBackend::ffn(const FfnWeights& w, std::span<const float> x, int64_t n, std::span<float> y) {
  const int64_t inter = check_ffn(w, x, n, y);
  ffn_unchecked(w, x.data(), n, inter, y.data());
}

}  // namespace schwarm

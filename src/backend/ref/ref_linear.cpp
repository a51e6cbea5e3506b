// ref: matmul and the SwiGLU FFN, double accumulation over a dequantized f32 copy of the weight.
#include <cmath>

#include "backend/ref/op_common.h"
#include "backend/ref/ref_backend.h"

namespace schwarm {

using namespace backend_detail;

void RefBackend::matmul(const TensorView& w, std::span<const float> x, int64_t n, std::span<float> y) {
  const Dims2 d = weight_dims(w, "matmul");
  check(n >= 0 && x.size() == static_cast<size_t>(n * d.cols) && y.size() == static_cast<size_t>(n * d.rows),
        "matmul",
        "weight '" + w.name + "' " + shape_str(w.shape) + " with x of " + std::to_string(x.size()) + " and y of " +
            std::to_string(y.size()) + " floats for n = " + std::to_string(n));
  const std::vector<float> wf = dense(w);
  for (int64_t t = 0; t < n; ++t) {
    const float* xt = x.data() + t * d.cols;
    for (int64_t o = 0; o < d.rows; ++o) {
      const float* wr = wf.data() + o * d.cols;
      double acc = 0;
      for (int64_t i = 0; i < d.cols; ++i) acc += static_cast<double>(wr[i]) * xt[i];
      y[static_cast<size_t>(t * d.rows + o)] = static_cast<float>(acc);
    }
  }
}

void RefBackend::ffn(const FfnWeights& w, std::span<const float> x, int64_t n, std::span<float> y) {
  const Dims2 g = weight_dims(w.gate, "ffn"), u = weight_dims(w.up, "ffn"), dn = weight_dims(w.down, "ffn");
  check(g.rows == u.rows && g.cols == u.cols && dn.cols == g.rows && dn.rows == g.cols, "ffn",
        "gate " + shape_str(w.gate.shape) + ", up " + shape_str(w.up.shape) + ", down " + shape_str(w.down.shape) +
            " do not fit together");
  const auto inter = static_cast<size_t>(n * g.rows);
  std::vector<float> gate(inter), up(inter);
  matmul(w.gate, x, n, gate);
  matmul(w.up, x, n, up);
  for (size_t i = 0; i < inter; ++i) {
    const double a = gate[i];
    gate[i] = static_cast<float>(a / (1.0 + std::exp(-a)) * up[i]);
  }
  matmul(w.down, gate, n, y);
}

}  // namespace schwarm

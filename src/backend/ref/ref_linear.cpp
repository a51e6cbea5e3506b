// ref: matmul and the SwiGLU FFN, double accumulation over a dequantized f32 copy of the weight.
#include <cmath>

#include "backend/ref/op_common.h"
#include "backend/ref/ref_backend.h"
#include "quant/act_q8k.h"

namespace schwarm {

using namespace backend_detail;

void RefBackend::matmul(const TensorView& w, std::span<const float> x, int64_t n, std::span<float> y) {
  const Dims2 d = check_matmul(w, x, n, y);
  const std::vector<float> wf = dense(w);
  const bool round_x = quantized_activations() && quant::act_q8k_applies(w.type, d.cols);
  std::vector<float> xhat(round_x ? static_cast<size_t>(d.cols) : 0);
  for (int64_t t = 0; t < n; ++t) {
    const float* xt = x.data() + t * d.cols;
    if (round_x) {  // the K-quant weight meets x rounded to 8 bits (quant/act_q8k.h)
      quant::round_trip_act_q8k(xt, d.cols, xhat.data());
      xt = xhat.data();
    }
    for (int64_t o = 0; o < d.rows; ++o) {
      const float* wr = wf.data() + o * d.cols;
      double acc = 0;
      for (int64_t i = 0; i < d.cols; ++i) acc += static_cast<double>(wr[i]) * xt[i];
      y[static_cast<size_t>(t * d.rows + o)] = static_cast<float>(acc);
    }
  }
}

void RefBackend::ffn(const FfnWeights& w, std::span<const float> x, int64_t n, std::span<float> y) {
  const int64_t rows = check_ffn(w, x, n, y);
  const auto inter = static_cast<size_t>(n * rows);
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

#pragma once
// Activations quantized to 8 bits for the K-quant weight types (Q4_K, Q5_K, Q6_K) and the 32-block
// types Q8_0, Q4_0, Q5_0, the numeric definition behind the backends' "quantized activations" mode
// (Backend::set_quantized_activations): a matmul by such a weight then multiplies it with x̂, not
// x, where per block of 256 activations (the last block of a row may be shorter: rows of the
// 32-block types need only be whole 32s, e.g. DeepSeek-V2-Lite's 1408)
//     d = amax / 127,   q = nearbyint(x * (127 / amax)) in [-127, 127],   x̂ = d * q
// (amax = max |x| over the block; a zero block gives d = 0, q = 0). So |x - x̂| <= d / 2 per
// element, and a dot product with weight row w moves by at most Σ_blocks d/2 · Σ|w| of the block.
// Integer kernels compute Σ w·x̂ as d · Σ q_w q (+ the weight's offsets through the block sums
// `bsum16`, Σ q over 16 consecutive elements) in exact integer arithmetic; the ref backend computes
// it from x̂ in double: the two agree to float rounding, so the parity suite's tolerance holds.
#include <cstdint>

#include "core/tensor_type.h"

namespace schwarm::quant {

constexpr int64_t kActBlock = 256;

// Whether the quantized-activations mode applies to weights of `type` with rows of `cols`: the
// K-quants, and Q8_0, Q4_0, Q5_0 (cols a multiple of 32).
bool act_q8k_applies(TensorType type, int64_t cols);

// Blocks of one row of `cols` activations: cols / 256 rounded up.
constexpr int64_t act_q8k_blocks(int64_t cols) { return (cols + kActBlock - 1) / kActBlock; }

// One row of `cols` activations (a multiple of 32) quantized: q[cols], d[act_q8k_blocks(cols)],
// bsum16[cols / 16] (Σ q over elements 16 j .. 16 j + 15), all in element order.
void quantize_act_q8k(const float* x, int64_t cols, int8_t* q, float* d, int16_t* bsum16);

// x̂: the values the quantized row stands for (d * q), in place of x.
void round_trip_act_q8k(const float* x, int64_t cols, float* xhat);

}  // namespace schwarm::quant

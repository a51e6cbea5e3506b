// Golden tests: the DeepSeek-V2 / V2-Lite / V3 / V3-FP8 forward pass against transformers' fp32
// logits on tiny seeded checkpoints (tests/data/golden/, see tools/fixtures/README-golden.md).
// The shared suite of golden_harness.h, on the ref and the cpu backend:
//   - logits of every prompt position: ||a - b|| / ||b|| <= 1e-4 per position (on failure the
//     per-layer error against hidden_states.npy is printed);
//   - the 32-token greedy continuation through the Engine and the KV cache: identical ids;
//   - cache: prefill N then decode 1 == row N of a full prefill, with small, fragmented pages;
//   - batch: 3 prompts of different lengths in one forward == each alone (batch_logits.npy);
//   - mixed batch: one request decoding while another prefills == each alone.
#include "golden_harness.h"

namespace schwarm {
namespace {

INSTANTIATE_TEST_SUITE_P(DeepSeek, Golden,
                         ::testing::ValuesIn(golden_params({"deepseek-v2-lite", "deepseek-v2", "deepseek-v3", "deepseek-v3-fp8"})),
                         golden_param_name);

}  // namespace
}  // namespace schwarm

#pragma once
// Working buffers of a model's forward pass, kept from call to call: a prefill of 512 tokens of
// Qwen3-30B-A3B needs ~18 MiB of attention projections per layer, and allocating them afresh had
// the kernel fault in and zero new pages on every layer, on the calling thread while the pool's
// workers waited (with the other serial work then, 16 % of a pp512 run on a 2-core EPYC: docs/
// PERFORMANCE.md). A model runs one forward pass at a time, so one set per model suffices.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace schwarm {

class ScratchBuffers {
 public:
  // Buffer `slot` resized to `size` floats (it only grows); its contents are unspecified: the
  // caller writes every element before reading it.
  std::span<float> get(size_t slot, int64_t size) {
    if (slot >= bufs_.size()) bufs_.resize(slot + 1);
    std::vector<float>& b = bufs_[slot];
    const auto n = static_cast<size_t>(size);
    if (b.size() < n) b.resize(n);
    return {b.data(), n};
  }

 private:
  std::vector<std::vector<float>> bufs_;
};

}  // namespace schwarm

#pragma once
// The CUDA backend's device copies of weights, made on first use and kept while the backend
// lives (weights never change or move while a backend lives: backend.h). Keyed by the host bytes'
// address, size and type plus a fingerprint of sampled bytes, so that a weight freed and another
// allocated at the same address (tests do this) is uploaded afresh instead of served stale.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "backend/cuda/device_memory.h"
#include "io/tensor_view.h"

namespace schwarm::cuda {

class WeightCache {
 public:
  // Uploads a whole checkpoint tensor for the backend's lifetime (Backend::upload_weights). Views
  // inside it (a GGUF file's experts are slices of one stacked tensor) are then served from it by
  // bytes(), at their offset, with no second copy.
  void pin(const TensorView& w);
  // The device copy of w's bytes, laid out as stored: inside a pinned tensor, or uploaded now.
  const void* bytes(const TensorView& w);
  // A derived f32 form of w (a norm gain dequantized, MLA's per-head W_uk / W_uv, ...), made on
  // the host by `make` on first use and uploaded; `tag` tells several forms of one weight apart.
  const float* derived(const TensorView& w, const std::string& tag, const std::function<std::vector<float>()>& make);
  size_t device_bytes() const { return device_bytes_; }

 private:
  using Key = std::tuple<const uint8_t*, size_t, uint32_t, std::string>;
  struct Entry {
    uint64_t fingerprint = 0;
    DeviceBuffer buf;
  };
  Entry* find(const Key& key, uint64_t fingerprint);
  std::map<Key, Entry> entries_;
  struct Pinned {
    size_t size = 0;
    DeviceBuffer buf;
  };
  std::map<const uint8_t*, Pinned> pinned_;  // by host start address
  size_t device_bytes_ = 0;
};

// 64 bit FNV-1a over the size, type and up to 64 evenly spaced 8-byte samples (plus the first
// and last 64 bytes): cheap for a multi-GiB weight, different for any two random test weights.
uint64_t weight_fingerprint(const TensorView& w);

}  // namespace schwarm::cuda

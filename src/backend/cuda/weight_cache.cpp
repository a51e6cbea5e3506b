#include "backend/cuda/weight_cache.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "backend/cuda/cuda_check.h"

namespace schwarm::cuda {

namespace {
void fnv(uint64_t& h, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
}
}  // namespace

uint64_t weight_fingerprint(const TensorView& w) {
  uint64_t h = 0xcbf29ce484222325ull;
  const size_t n = w.data.size();
  const uint64_t meta[2] = {n, static_cast<uint64_t>(w.type)};
  fnv(h, reinterpret_cast<const uint8_t*>(meta), sizeof meta);
  const uint8_t* p = w.data.data();
  fnv(h, p, std::min<size_t>(n, 64));
  if (n > 64) fnv(h, p + n - 64, 64);
  if (n > 8)
    for (size_t i = 0; i < 64; ++i) fnv(h, p + (n - 8) / 63 * i, 8);
  return h;
}

WeightCache::Entry* WeightCache::find(const Key& key, uint64_t fingerprint) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  if (it->second.fingerprint == fingerprint) return &it->second;
  device_bytes_ -= it->second.buf.size();  // stale: another weight now lives at this address
  entries_.erase(it);
  return nullptr;
}

void WeightCache::pin(const TensorView& w) {
  if (w.data.empty() || pinned_.count(w.data.data())) return;
  Pinned p{w.data.size(), DeviceBuffer(w.data.size(), "the weight " + (w.name.empty() ? std::string("(unnamed)") : w.name))};
  SCHWARM_CUDA_CHECK(cudaMemcpy(p.buf.data(), w.data.data(), w.data.size(), cudaMemcpyHostToDevice));
  device_bytes_ += p.size;
  pinned_.emplace(w.data.data(), std::move(p));
}

const void* WeightCache::bytes(const TensorView& w) {
  const uint8_t* host = w.data.data();
  auto it = pinned_.upper_bound(host);  // the first pinned tensor starting after w
  if (it != pinned_.begin()) {
    --it;
    // Addresses compared as integers: the two pointers need not point into one allocation.
    const auto start = reinterpret_cast<uintptr_t>(it->first), at = reinterpret_cast<uintptr_t>(host);
    const size_t offset = at - start;
    if (at >= start && offset + w.data.size() <= it->second.size)
      return static_cast<const uint8_t*>(it->second.buf.data()) + offset;
  }
  const Key key{w.data.data(), w.data.size(), static_cast<uint32_t>(w.type), std::string()};
  const uint64_t fp = weight_fingerprint(w);
  if (Entry* e = find(key, fp)) return e->buf.data();
  Entry e{fp, DeviceBuffer(w.data.size(), "the weight " + (w.name.empty() ? std::string("(unnamed)") : w.name))};
  SCHWARM_CUDA_CHECK(cudaMemcpy(e.buf.data(), w.data.data(), w.data.size(), cudaMemcpyHostToDevice));
  device_bytes_ += e.buf.size();
  return entries_.emplace(key, std::move(e)).first->second.buf.data();
}

const float* WeightCache::derived(const TensorView& w, const std::string& tag,
                                  const std::function<std::vector<float>()>& make) {
  const Key key{w.data.data(), w.data.size(), static_cast<uint32_t>(w.type), tag};
  const uint64_t fp = weight_fingerprint(w);
  if (Entry* e = find(key, fp)) return static_cast<const float*>(e->buf.data());
  const std::vector<float> host = make();
  Entry e{fp, DeviceBuffer(host.size() * sizeof(float), tag + " of " + (w.name.empty() ? "(unnamed)" : w.name))};
  SCHWARM_CUDA_CHECK(cudaMemcpy(e.buf.data(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
  device_bytes_ += e.buf.size();
  return static_cast<const float*>(entries_.emplace(key, std::move(e)).first->second.buf.data());
}

}  // namespace schwarm::cuda

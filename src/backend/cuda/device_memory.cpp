#include "backend/cuda/device_memory.h"

#include <cuda_runtime_api.h>

#include <cstdio>
#include <utility>

#include "backend/cuda/cuda_check.h"

namespace schwarm::cuda {

namespace {
std::string mib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}
}  // namespace

std::string device_memory_report() {
  int dev = 0;
  size_t free_b = 0, total_b = 0;
  cudaDeviceProp prop{};
  if (cudaGetDevice(&dev) != cudaSuccess || cudaMemGetInfo(&free_b, &total_b) != cudaSuccess ||
      cudaGetDeviceProperties(&prop, dev) != cudaSuccess) {
    cudaGetLastError();
    return "device memory unknown";
  }
  return mib(free_b) + " of " + mib(total_b) + " free on device " + std::to_string(dev) + " (" + prop.name + ")";
}

DeviceBuffer::DeviceBuffer(size_t bytes, const std::string& what) : bytes_(bytes) {
  if (bytes == 0) return;
  const cudaError_t e = cudaMalloc(&p_, bytes);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    p_ = nullptr;
    throw Error("CUDA: out of memory: " + mib(bytes) + " asked for " + what + "; " + device_memory_report());
  }
  SCHWARM_CUDA_CHECK(e);
}

DeviceBuffer::~DeviceBuffer() {
  if (p_) cudaFree(p_);  // errors here cannot be reported (destructor); a sticky error shows at the next call
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& o) noexcept
    : p_(std::exchange(o.p_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (p_) cudaFree(p_);
    p_ = std::exchange(o.p_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
  }
  return *this;
}

void* Arena::alloc_bytes(size_t bytes, const char* what) {
  constexpr size_t kAlign = 256;
  bytes = (bytes + kAlign - 1) / kAlign * kAlign;
  if (bytes == 0) bytes = kAlign;  // distinct, valid pointers even for empty tensors
  if (!chunks_.empty()) {
    Chunk& c = chunks_.back();
    if (c.buf.size() - c.used >= bytes) {
      void* p = static_cast<char*>(c.buf.data()) + c.used;
      c.used += bytes;
      return p;
    }
  }
  const size_t grow = chunks_.empty() ? size_t{64} << 20 : chunks_.back().buf.size();
  chunks_.push_back({DeviceBuffer(std::max(bytes, grow), std::string("scratch (") + what + ")"), bytes});
  return chunks_.back().buf.data();
}

void Arena::reset() {
  if (chunks_.size() > 1) {
    const size_t total = capacity();
    chunks_.clear();  // frees: the caller guarantees the stream no longer uses them
    chunks_.push_back({DeviceBuffer(total, "scratch"), 0});
  }
  for (Chunk& c : chunks_) c.used = 0;
}

size_t Arena::capacity() const {
  size_t total = 0;
  for (const Chunk& c : chunks_) total += c.buf.size();
  return total;
}

}  // namespace schwarm::cuda

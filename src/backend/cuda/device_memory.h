#pragma once
// Device memory for the CUDA backend: plain cudaMalloc (no managed memory), owned by RAII
// buffers. An allocation that does not fit throws schwarm::Error saying what was asked for, for
// what, and what the device has free, e.g.
//   "CUDA: out of memory on device 0 (NVIDIA H100): 2048.0 MiB asked for the weight
//    blk.3.ffn_up_exps; 1021.4 MiB of 81559.0 MiB free".
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace schwarm::cuda {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // bytes may be 0 (no allocation). `what` names the buffer in an out-of-memory error.
  DeviceBuffer(size_t bytes, const std::string& what);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& o) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* data() const { return p_; }
  size_t size() const { return bytes_; }

 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

// Scratch memory for the activations of one op: bump allocation from chunks. Pointers stay valid
// until reset(); reset() (between ops, after the stream has drained) merges the chunks into one
// of their total size, so the steady state is one chunk and no cudaMalloc per op.
class Arena {
 public:
  template <class T>
  T* alloc(int64_t count, const char* what) {
    return static_cast<T*>(alloc_bytes(static_cast<size_t>(count) * sizeof(T), what));
  }
  void* alloc_bytes(size_t bytes, const char* what);
  // Call only when nothing queued still uses the arena's memory.
  void reset();
  size_t capacity() const;

 private:
  struct Chunk {
    DeviceBuffer buf;
    size_t used = 0;
  };
  std::vector<Chunk> chunks_;
};

// "N MiB free of M MiB on device D (NAME)" for error messages.
std::string device_memory_report();

}  // namespace schwarm::cuda

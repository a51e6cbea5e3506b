#pragma once
// The cpu backend's own copies of weights it multiplies faster in another layout: Q4_K matrices
// repacked in groups of 16 rows (q4k_x16.h) for the integer kernels of the quantized-activations
// mode. Made once at load (Backend::prepare_weights); looked up by the stored bytes' address, so
// any view of a whole matrix (a 2-D tensor, or one expert of a stacked 3-D tensor) finds its copy.
// Buffers are 64-byte aligned. (Advising them for transparent huge pages made no difference to
// decode on a Zen 4 EPYC: Qwen3-30B-A3B 8L q4_k_m tg128 48.4 vs 49.6 t/s, alternated.)
#include <cstdint>
#include <map>
#include <memory>

#include "io/tensor_view.h"

namespace schwarm::cpu {

class ThreadPool;

class RepackedWeights {
 public:
  // Whether `t` is a tensor this registry repacks (Q4_K, 2-D or stacked 3-D, rows of whole
  // 256-blocks, at least one whole group of 16 rows per matrix).
  static bool eligible(const TensorView& t);
  // Repacks `t` (eligible) on the pool's threads; false when it is not eligible or already held.
  bool add(const TensorView& t, ThreadPool& pool);
  // The repacked bytes of the matrix `view` covers (view.data at a matrix start of a held tensor,
  // with that matrix's shape), or nullptr.
  const uint8_t* find(const TensorView& view) const;
  bool empty() const { return held_.empty(); }

 private:
  struct FreeDeleter {
    void operator()(uint8_t* p) const;
  };
  struct Held {
    size_t bytes;         // the tensor's
    size_t matrix_bytes;  // one matrix's (rows x row bytes)
    int64_t rows, cols;   // one matrix's
    std::unique_ptr<uint8_t, FreeDeleter> data;
  };
  std::map<const uint8_t*, Held> held_;  // by the stored bytes' start
};

}  // namespace schwarm::cpu

#include "backend/cpu/repacked_weights.h"

#include <cstdlib>
#include <new>

#include "backend/cpu/q4k_x16.h"
#include "backend/cpu/thread_pool.h"

namespace schwarm::cpu {

void RepackedWeights::FreeDeleter::operator()(uint8_t* p) const { std::free(p); }

bool RepackedWeights::eligible(const TensorView& t) {
  if (t.type != TensorType::Q4_K || (t.shape.size() != 2 && t.shape.size() != 3)) return false;
  const int64_t rows = t.shape[t.shape.size() - 2], cols = t.shape.back();
  return cols > 0 && cols % 256 == 0 && rows >= kQ4kX16Rows &&
         t.data.size() == static_cast<size_t>(t.numel() / 256 * 144);
}

bool RepackedWeights::add(const TensorView& t, ThreadPool& pool) {
  if (!eligible(t) || held_.count(t.data.data())) return false;
  const int64_t rows = t.shape[t.shape.size() - 2], cols = t.shape.back();
  const int64_t matrices = t.shape.size() == 3 ? t.shape[0] : 1;
  const size_t rb = static_cast<size_t>(cols / 256) * 144, matrix_bytes = static_cast<size_t>(rows) * rb;
  const size_t alloc = (t.data.size() + 63) / 64 * 64;
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(64, alloc));
  if (!p) throw std::bad_alloc();
  Held h{t.data.size(), matrix_bytes, rows, cols, std::unique_ptr<uint8_t, FreeDeleter>(p)};
  // Work items: up to 64 groups of one matrix (whole groups; a matrix's tail rows with its last item).
  const int64_t groups = rows / kQ4kX16Rows, per_item = 64, items_per_matrix = (groups + per_item - 1) / per_item;
  pool.parallel_for(matrices * items_per_matrix, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t m = i / items_per_matrix, g0 = i % items_per_matrix * per_item;
      const int64_t r0 = g0 * kQ4kX16Rows;
      const int64_t r1 = g0 + per_item >= groups ? rows : (g0 + per_item) * kQ4kX16Rows;
      const size_t off = static_cast<size_t>(m) * matrix_bytes + static_cast<size_t>(r0) * rb;
      repack_q4k_x16(t.data.data() + off, r1 - r0, cols, p + off);
    }
  });
  held_.emplace(t.data.data(), std::move(h));
  return true;
}

const uint8_t* RepackedWeights::find(const TensorView& view) const {
  if (held_.empty() || view.type != TensorType::Q4_K || view.shape.size() != 2) return nullptr;
  const uint8_t* p = view.data.data();
  auto it = held_.upper_bound(p);
  if (it == held_.begin()) return nullptr;
  --it;
  const Held& h = it->second;
  const auto off = static_cast<size_t>(p - it->first);
  if (off >= h.bytes || off % h.matrix_bytes != 0 || view.shape[0] != h.rows || view.shape[1] != h.cols) return nullptr;
  return h.data.get() + off;
}

}  // namespace schwarm::cpu

// The Q4_K x16 layout's repacking (q4k_x16.h): a permutation of 4-byte words (d and dmin are
// 2-byte pairs) within each group of 16 rows and 256-column block.
#include "backend/cpu/q4k_x16.h"

#include <cstring>

namespace schwarm::cpu {
namespace {

// Calls move(stored offset, repacked offset, bytes) for every piece of one group-block.
template <class Move>
void for_each_piece(Move&& move) {
  for (size_t i = 0; i < 16; ++i) {
    const size_t row = i * 144;
    move(row, 2 * i, 2);            // d
    move(row + 2, 32 + 2 * i, 2);   // dmin
    for (size_t w = 0; w < 3; ++w) move(row + 4 + 4 * w, kQ4kX16Scales + 64 * w + 4 * i, 4);
    for (size_t k = 0; k < 32; ++k) move(row + 16 + 4 * k, kQ4kX16Qs + 64 * k + 4 * i, 4);
  }
}

template <bool kToX16>
void convert(const uint8_t* src, int64_t rows, int64_t cols, uint8_t* dst) {
  const auto nb = static_cast<size_t>(cols / 256);
  const size_t rb = nb * 144;
  const int64_t groups = rows / kQ4kX16Rows;
  uint8_t stored[kQ4kX16BlockBytes];
  for (int64_t g = 0; g < groups; ++g) {
    const size_t base = static_cast<size_t>(g) * kQ4kX16Rows * rb;
    for (size_t b = 0; b < nb; ++b) {
      uint8_t* out = dst + base + b * kQ4kX16BlockBytes;
      const uint8_t* in = src + base + b * kQ4kX16BlockBytes;
      if constexpr (kToX16) {
        // The 16 rows' block b, gathered (rows are rb apart in the stored layout).
        for (size_t i = 0; i < 16; ++i) std::memcpy(stored + i * 144, src + base + i * rb + b * 144, 144);
        for_each_piece([&](size_t s, size_t x, size_t n) { std::memcpy(out + x, stored + s, n); });
      } else {
        for_each_piece([&](size_t s, size_t x, size_t n) { std::memcpy(stored + s, in + x, n); });
        for (size_t i = 0; i < 16; ++i) std::memcpy(dst + base + i * rb + b * 144, stored + i * 144, 144);
      }
    }
  }
  const size_t tail = static_cast<size_t>(groups) * kQ4kX16Rows * rb;
  std::memcpy(dst + tail, src + tail, static_cast<size_t>(rows) * rb - tail);
}

}  // namespace

void repack_q4k_x16(const uint8_t* src, int64_t rows, int64_t cols, uint8_t* dst) {
  convert<true>(src, rows, cols, dst);
}
void unpack_q4k_x16(const uint8_t* src, int64_t rows, int64_t cols, uint8_t* dst) {
  convert<false>(src, rows, cols, dst);
}

}  // namespace schwarm::cpu

#pragma once
// Q4_K weights repacked for the cpu backend's integer kernels: the same bytes as stored, permuted
// within groups of 16 rows so that the 16 rows sit in the 16 32-bit lanes of an AVX-512 register.
// A gemv then multiplies 16 rows with 4 activation bytes in one vpdpbusd and applies sub-block
// scales lane-wise, with no per-row scale shuffles or horizontal sums (the stored layout's gemv
// spends most of its instructions there); the prefill GEMM's panel is the nibbles split, with no
// transpose. The size is unchanged (16 x 144 bytes per group and 256-column block), so a row block
// of a matrix sits at the same offset in both layouts.
//
// Group g of a matrix (rows 16 g .. 16 g + 15) starts at 16 g · row_bytes; its block b (columns
// 256 b ..) at + b · kQ4kX16BlockBytes, laid out as
//   [0, 32)     d of the 16 rows (fp16, row i at 2 i)
//   [32, 64)    dmin of the 16 rows
//   [64, 256)   the 12 scale bytes as three 64-byte registers: word w of row i at 64 + 64 w + 4 i
//   [256, 2304) qs as 32 registers: register k, lane i = row i's qs bytes 4 k .. 4 k + 3 (low
//               nibbles: sub-block 2 (k / 8), elements 4 (k % 8) ..; high nibbles: sub-block
//               2 (k / 8) + 1, the same elements)
// Rows past the last whole group keep the stored layout, at their stored offset.
#include <cstddef>
#include <cstdint>

namespace schwarm::cpu {

constexpr int64_t kQ4kX16Rows = 16;
constexpr size_t kQ4kX16BlockBytes = 16 * 144;
constexpr size_t kQ4kX16Scales = 64, kQ4kX16Qs = 256;

// dst = the rows x cols (cols a multiple of 256) Q4_K matrix at src, repacked; both rows * cols /
// 256 * 144 bytes. unpack_q4k_x16 is the inverse.
void repack_q4k_x16(const uint8_t* src, int64_t rows, int64_t cols, uint8_t* dst);
void unpack_q4k_x16(const uint8_t* src, int64_t rows, int64_t cols, uint8_t* dst);

}  // namespace schwarm::cpu

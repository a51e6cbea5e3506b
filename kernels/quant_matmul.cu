// Weight decoding and matrix products on the GPU (declared in quant_matmul.h). Simple kernels that
// are easy to check; speed comes later. The decoding arithmetic is quant_decode.cuh's, which a host
// test holds to the registry bit for bit. Every index that can pass 2^31 is int64_t; the grids are
// 1-D (or a 2-D tile grid) with grid-stride loops, so no size overflows a grid dimension.
#include "quant_matmul.h"

#include <algorithm>
#include <string>
#include <type_traits>

#include "backend/cuda/cuda_check.h"
#include "quant_decode.cuh"
#include "schwarm/error.h"

namespace schwarm::cuda::k {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int64_t kMaxBlocks = int64_t{1} << 20;  // grid-stride loops cover what lies beyond
constexpr unsigned kFullMask = 0xFFFFFFFFu;

int blocks_for(int64_t items, int64_t per_block) {
  const int64_t blocks = (items + per_block - 1) / per_block;
  return static_cast<int>(std::clamp<int64_t>(blocks, 1, kMaxBlocks));
}

std::string type_label(TensorType t) { return "type id " + std::to_string(static_cast<uint32_t>(t)); }

// Calls f(std::integral_constant<TensorType, T>{}) for the run-time type t, so a launcher picks a
// kernel compiled for T; throws for a type the decoders do not know.
template <typename F>
void with_type(TensorType t, const char* op, F&& f) {
  switch (t) {
    case TensorType::F32: f(std::integral_constant<TensorType, TensorType::F32>{}); return;
    case TensorType::F16: f(std::integral_constant<TensorType, TensorType::F16>{}); return;
    case TensorType::BF16: f(std::integral_constant<TensorType, TensorType::BF16>{}); return;
    case TensorType::F8_E4M3: f(std::integral_constant<TensorType, TensorType::F8_E4M3>{}); return;
    case TensorType::Q8_0: f(std::integral_constant<TensorType, TensorType::Q8_0>{}); return;
    case TensorType::Q4_0: f(std::integral_constant<TensorType, TensorType::Q4_0>{}); return;
    case TensorType::Q5_0: f(std::integral_constant<TensorType, TensorType::Q5_0>{}); return;
    case TensorType::Q4_K: f(std::integral_constant<TensorType, TensorType::Q4_K>{}); return;
    case TensorType::Q5_K: f(std::integral_constant<TensorType, TensorType::Q5_K>{}); return;
    case TensorType::Q6_K: f(std::integral_constant<TensorType, TensorType::Q6_K>{}); return;
    default: throw Error(std::string(op) + ": weight " + type_label(t) + " is not supported by the CUDA backend");
  }
}

// Throws unless rows of `cols` elements of type t are decodable (cols whole blocks).
void check_cols(const char* op, TensorType t, int64_t cols) {
  if (!decode_supported(t)) throw Error(std::string(op) + ": weight " + type_label(t) + " is not supported by the CUDA backend");
  if (cols < 0 || cols % block_shape(t).elements != 0)
    throw Error(std::string(op) + ": " + std::to_string(cols) + " columns are not whole blocks of " +
                std::to_string(block_shape(t).elements) + " (" + type_label(t) + ")");
}

void check_nonnegative(const char* op, const char* what, int64_t v) {
  if (v < 0) throw Error(std::string(op) + ": negative " + what + " (" + std::to_string(v) + ")");
}

__device__ inline float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}

// ---- dequantize / gather --------------------------------------------------------------------
// Output row i is weight row ids[i] (ids == nullptr: row i). Block types: one thread per 32-element
// chunk (the scales decoded once per chunk); plain types: one thread per element (coalesced).

template <TensorType T>
__global__ void __launch_bounds__(kThreads)
    decode_rows_kernel(const uint8_t* __restrict__ w, int64_t row_bytes, int64_t cols,
                       const int32_t* __restrict__ ids, int64_t n_rows, float* __restrict__ out) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if constexpr (is_block_type(T)) {
    const int64_t chunks = cols / 32;
    const int64_t total = n_rows * chunks;
    for (int64_t i = first; i < total; i += stride) {
      const int64_t r = i / chunks, c = i % chunks;
      const int64_t src = ids ? static_cast<int64_t>(ids[r]) : r;
      float v[32];
      decode_chunk32_of<T>(w + src * row_bytes, c, v);
      float* o = out + r * cols + 32 * c;
      SCHWARM_UNROLL
      for (int e = 0; e < 32; ++e) o[e] = v[e];
    }
  } else {
    const int64_t total = n_rows * cols;
    for (int64_t i = first; i < total; i += stride) {
      const int64_t r = i / cols, c = i % cols;
      const int64_t src = ids ? static_cast<int64_t>(ids[r]) : r;
      out[i] = decode_element_of<T>(w + src * row_bytes, c);
    }
  }
}

void launch_decode_rows(const char* op, TensorType t, const void* w, int64_t cols, const int32_t* ids,
                        int64_t n_rows, float* out, cudaStream_t s) {
  with_type(t, op, [&](auto tag) {
    constexpr TensorType T = decltype(tag)::value;
    const int64_t items = is_block_type(T) ? n_rows * (cols / 32) : n_rows * cols;
    decode_rows_kernel<T><<<blocks_for(items, kThreads), kThreads, 0, s>>>(
        static_cast<const uint8_t*>(w), row_bytes_of(T, cols), cols, ids, n_rows, out);
    SCHWARM_CUDA_CHECK_LAUNCH(op);
  });
}

// ---- gemv -------------------------------------------------------------------------------------
// One warp per weight row (kWarps rows per block, grid-stride over rows). Block types: each lane
// decodes whole 32-element chunks (lane, lane + 32, ...) and dots them with every token's x; plain
// types: lanes take consecutive elements (coalesced, any cols). Per-lane float sums per token, then
// a warp-shuffle sum; lane 0 writes.

template <TensorType T>
__global__ void __launch_bounds__(kThreads)
    gemv_kernel(const uint8_t* __restrict__ w, int64_t row_bytes, int64_t rows, int64_t cols,
                const float* __restrict__ x, int n, float* __restrict__ y, int64_t ldy) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const int64_t warp_stride = static_cast<int64_t>(gridDim.x) * kWarps;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32; r < rows; r += warp_stride) {
    const uint8_t* row = w + r * row_bytes;
    float acc[kGemvMaxTokens];
    SCHWARM_UNROLL
    for (int j = 0; j < kGemvMaxTokens; ++j) acc[j] = 0.0f;
    if constexpr (is_block_type(T)) {
      const int64_t chunks = cols / 32;
      for (int64_t c = lane; c < chunks; c += 32) {
        float wv[32];
        decode_chunk32_of<T>(row, c, wv);
        SCHWARM_UNROLL
        for (int j = 0; j < kGemvMaxTokens; ++j) {
          if (j < n) {
            const float* xp = x + j * cols + 32 * c;
            float sum = 0.0f;
            SCHWARM_UNROLL
            for (int e = 0; e < 32; ++e) sum += wv[e] * xp[e];
            acc[j] += sum;
          }
        }
      }
    } else {
      for (int64_t c = lane; c < cols; c += 32) {
        const float wv = decode_element_of<T>(row, c);
        SCHWARM_UNROLL
        for (int j = 0; j < kGemvMaxTokens; ++j)
          if (j < n) acc[j] += wv * x[j * cols + c];
      }
    }
    // r is the same for the whole warp, so every lane reaches the shuffles.
    SCHWARM_UNROLL
    for (int j = 0; j < kGemvMaxTokens; ++j) {
      if (j < n) {
        const float total = warp_sum(acc[j]);
        if (lane == 0) y[j * ldy + r] = total;
      }
    }
  }
}

// ---- gemm_f32 ---------------------------------------------------------------------------------
// Y^T = W X^T with both operands K-contiguous. A block computes a 64-row x 64-token tile; each of
// its 256 threads 4 x 4 outputs (rows tr + 16 i, tokens tc + 16 jj: conflict-free shared reads,
// coalesced stores along r). K advances in 16-wide slices staged in shared memory; everything
// outside the matrices (row, token or k tails) is staged as 0 and never written out.

constexpr int kTile = 64;
constexpr int kTileK = 16;
static_assert(kTile * kTileK == 4 * kThreads, "each thread stages 4 elements of each operand");

__global__ void __launch_bounds__(kThreads)
    gemm_f32_kernel(const float* __restrict__ w, int64_t rows, int64_t cols, const float* __restrict__ x,
                    int64_t n, float* __restrict__ y, int64_t ldy) {
  __shared__ float ws[kTileK][kTile + 1];
  __shared__ float xs[kTileK][kTile + 1];
  const int t = static_cast<int>(threadIdx.x);
  const int tr = t % 16, tc = t / 16;
  const int64_t r0 = static_cast<int64_t>(blockIdx.x) * kTile;
  const int64_t token_tiles = (n + kTile - 1) / kTile;
  for (int64_t jt = blockIdx.y; jt < token_tiles; jt += gridDim.y) {
    const int64_t j0 = jt * kTile;
    float acc[4][4];
    SCHWARM_UNROLL
    for (int i = 0; i < 4; ++i)
      SCHWARM_UNROLL
      for (int jj = 0; jj < 4; ++jj) acc[i][jj] = 0.0f;

    for (int64_t k0 = 0; k0 < cols; k0 += kTileK) {
      SCHWARM_UNROLL
      for (int p = 0; p < 4; ++p) {
        const int e = t + kThreads * p;
        const int lr = e / kTileK, lk = e % kTileK;  // 16 consecutive threads read 16 consecutive k
        const int64_t k = k0 + lk, r = r0 + lr, j = j0 + lr;
        ws[lk][lr] = (r < rows && k < cols) ? w[r * cols + k] : 0.0f;
        xs[lk][lr] = (j < n && k < cols) ? x[j * cols + k] : 0.0f;
      }
      __syncthreads();
      SCHWARM_UNROLL
      for (int kk = 0; kk < kTileK; ++kk) {
        float a[4], b[4];
        SCHWARM_UNROLL
        for (int i = 0; i < 4; ++i) a[i] = ws[kk][tr + 16 * i];
        SCHWARM_UNROLL
        for (int jj = 0; jj < 4; ++jj) b[jj] = xs[kk][tc + 16 * jj];
        SCHWARM_UNROLL
        for (int i = 0; i < 4; ++i)
          SCHWARM_UNROLL
          for (int jj = 0; jj < 4; ++jj) acc[i][jj] += a[i] * b[jj];
      }
      __syncthreads();  // the tile is read by all before the next slice overwrites it
    }

    SCHWARM_UNROLL
    for (int i = 0; i < 4; ++i)
      SCHWARM_UNROLL
      for (int jj = 0; jj < 4; ++jj) {
        const int64_t r = r0 + tr + 16 * i, j = j0 + tc + 16 * jj;
        if (r < rows && j < n) y[j * ldy + r] = acc[i][jj];
      }
  }
}

// ---- quantized-activations rounding -----------------------------------------------------------
// One thread block per 256-activation block (grid-stride; a row's last block may be shorter, its
// spare threads count as |x| = 0, finite): amax by warp shuffles and shared memory (max is exact
// in any order), "all finite" by __syncthreads_and, then each thread maps its own element with
// quant_decode.cuh's act_q8k_round_trip_element. Each thread reads only the element it writes,
// and reads it first, so xhat may alias x (hence no __restrict__).

static_assert(kThreads == kActQ8kBlock, "one thread per activation of a block");

__global__ void __launch_bounds__(kThreads) act_q8k_kernel(const float* x, int64_t n_rows, int64_t cols, float* xhat) {
  __shared__ float warp_amax[kWarps];
  const int lane = static_cast<int>(threadIdx.x % 32), warp = static_cast<int>(threadIdx.x / 32);
  const int64_t per_row = (cols + kActQ8kBlock - 1) / kActQ8kBlock;
  for (int64_t b = blockIdx.x; b < n_rows * per_row; b += gridDim.x) {
    const int64_t row = b / per_row, c = (b % per_row) * kActQ8kBlock + threadIdx.x;
    const bool mine = c < cols;
    const int64_t i = row * cols + c;
    const float v = mine ? x[i] : 0.0f;
    float a = abs_bits(v);
    for (int offset = 16; offset > 0; offset >>= 1) a = fmaxf(a, __shfl_xor_sync(kFullMask, a, offset));
    if (lane == 0) warp_amax[warp] = a;
    // Also the barrier that makes warp_amax visible. NaN never reaches an amax that is used: a NaN
    // makes the block non-finite, and then amax is ignored.
    const bool finite = __syncthreads_and(is_finite_bits(v)) != 0;
    float amax = warp_amax[0];
    SCHWARM_UNROLL
    for (int k = 1; k < kWarps; ++k) amax = fmaxf(amax, warp_amax[k]);
    __syncthreads();  // all have read warp_amax before the next block's writes
    if (mine) xhat[i] = act_q8k_round_trip_element(v, amax, finite);
  }
}

}  // namespace

bool weight_type_supported(TensorType t) { return decode_supported(t); }

void dequantize_rows(TensorType t, const void* w, int64_t rows, int64_t cols, float* out, cudaStream_t s) {
  check_cols("dequantize_rows", t, cols);
  check_nonnegative("dequantize_rows", "rows", rows);
  if (rows == 0 || cols == 0) return;
  launch_decode_rows("dequantize_rows", t, w, cols, nullptr, rows, out, s);
}

void gather_rows(TensorType t, const void* w, int64_t cols, const int32_t* ids, int64_t n, float* out,
                 cudaStream_t s) {
  check_cols("gather_rows", t, cols);
  check_nonnegative("gather_rows", "row count", n);
  if (n == 0 || cols == 0) return;
  if (!ids) throw Error("gather_rows: no row ids");
  launch_decode_rows("gather_rows", t, w, cols, ids, n, out, s);
}

void gemv(TensorType t, const void* w, int64_t rows, int64_t cols, const float* x, int64_t n, float* y,
          int64_t ldy, cudaStream_t s) {
  check_cols("gemv", t, cols);
  check_nonnegative("gemv", "rows", rows);
  if (n < 0 || n > kGemvMaxTokens)
    throw Error("gemv: " + std::to_string(n) + " tokens (1 to " + std::to_string(kGemvMaxTokens) + ")");
  if (rows == 0 || n == 0) return;
  if (ldy < rows) throw Error("gemv: ldy " + std::to_string(ldy) + " < rows " + std::to_string(rows));
  with_type(t, "gemv", [&](auto tag) {
    constexpr TensorType T = decltype(tag)::value;
    gemv_kernel<T><<<blocks_for(rows, kWarps), kThreads, 0, s>>>(
        static_cast<const uint8_t*>(w), row_bytes_of(T, cols), rows, cols, x, static_cast<int>(n), y, ldy);
    SCHWARM_CUDA_CHECK_LAUNCH("gemv");
  });
}

void gemm_f32(const float* w, int64_t rows, int64_t cols, const float* x, int64_t n, float* y, int64_t ldy,
              cudaStream_t s) {
  check_nonnegative("gemm_f32", "rows", rows);
  check_nonnegative("gemm_f32", "cols", cols);
  check_nonnegative("gemm_f32", "tokens", n);
  if (rows == 0 || n == 0) return;
  if (ldy < rows) throw Error("gemm_f32: ldy " + std::to_string(ldy) + " < rows " + std::to_string(rows));
  const int64_t row_tiles = (rows + kTile - 1) / kTile, token_tiles = (n + kTile - 1) / kTile;
  if (row_tiles > 0x7FFFFFFF) throw Error("gemm_f32: " + std::to_string(rows) + " rows are too many");
  const dim3 grid(static_cast<unsigned>(row_tiles), static_cast<unsigned>(std::min<int64_t>(token_tiles, 65535)));
  gemm_f32_kernel<<<grid, kThreads, 0, s>>>(w, rows, cols, x, n, y, ldy);
  SCHWARM_CUDA_CHECK_LAUNCH("gemm_f32");
}

void round_trip_act_q8k(const float* x, int64_t n_rows, int64_t cols, float* xhat, cudaStream_t s) {
  check_nonnegative("round_trip_act_q8k", "rows", n_rows);
  if (cols < 0 || cols % 32 != 0)
    throw Error("round_trip_act_q8k: " + std::to_string(cols) + " columns are not whole blocks of 32");
  const int64_t n_blocks = n_rows * ((cols + kActQ8kBlock - 1) / kActQ8kBlock);
  if (n_blocks == 0) return;
  act_q8k_kernel<<<blocks_for(n_blocks, 1), kThreads, 0, s>>>(x, n_rows, cols, xhat);
  SCHWARM_CUDA_CHECK_LAUNCH("round_trip_act_q8k");
}

}  // namespace schwarm::cuda::k

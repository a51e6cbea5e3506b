// The CUDA backend's __host__ __device__ weight decoders (kernels/quant_decode.cuh) and float
// conversions (kernels/device_float.cuh), compiled here by the host compiler, against the registry
// (type_traits(t).dequantize) and quant::round_trip_act_q8k, bit for bit (memcmp, NaN payloads
// included). Host-only: needs no CUDA and no GPU. The device compiles the same functions with
// explicit round-to-nearest intrinsics, so this pins the arithmetic the kernels do.
//
// The seed comes from std::random_device and is printed by every failure; set
// SCHWARM_PARITY_SEED=N to replay a run.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "backend/ref/owned_weight.h"
#include "core/tensor_type.h"
#include "quant/act_q8k.h"
#include "quant/float_bits.h"
// kernels/ is on no host include path (the CUDA target adds it): reach it from here.
#include "quant_decode.cuh"

namespace schwarm {
namespace {

constexpr TensorType kTypes[] = {TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::F8_E4M3,
                                 TensorType::Q8_0, TensorType::Q4_0, TensorType::Q5_0, TensorType::Q4_K,
                                 TensorType::Q5_K, TensorType::Q6_K};

uint32_t seed_for_run() {
  if (const char* s = std::getenv("SCHWARM_PARITY_SEED")) return static_cast<uint32_t>(std::strtoul(s, nullptr, 10));
  return std::random_device{}();
}

std::string seed_note(uint32_t seed) {
  return "seed " + std::to_string(seed) + " (SCHWARM_PARITY_SEED to replay)";
}

std::string bits_hex(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", b);
  return buf;
}

// Index of the first element whose bits differ, or -1.
int64_t first_mismatch(const float* got, const float* want, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (std::memcmp(&got[i], &want[i], 4) != 0) return i;
  return -1;
}

// Row lengths to try: whole 256-blocks always; shorter legal rows for the smaller block sizes.
std::vector<int64_t> cols_for(TensorType t) {
  const int64_t bs = type_traits(t).block_size;
  if (bs == 1) return {256, 512, 45, 1, 33};
  if (bs == 32) return {256, 512, 96, 32};
  return {256, 512};
}

// Checks every row of a rows x cols weight: each element by decode_element, each 32-chunk by
// decode_chunk32 (where cols % 32 == 0), against the registry's dequantize of that row.
void expect_rows_bit_exact(TensorType t, const std::vector<uint8_t>& bytes, int64_t rows, int64_t cols,
                           const std::string& what) {
  const int64_t row_bytes = cuda::row_bytes_of(t, cols);
  ASSERT_EQ(static_cast<int64_t>(bytes.size()), rows * row_bytes) << what;
  std::vector<float> want(static_cast<size_t>(cols)), got(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* row = bytes.data() + r * row_bytes;
    type_traits(t).dequantize(row, want.data(), cols);

    std::fill(got.begin(), got.end(), std::numeric_limits<float>::quiet_NaN());
    for (int64_t i = 0; i < cols; ++i) got[static_cast<size_t>(i)] = cuda::decode_element(t, row, i);
    int64_t bad = first_mismatch(got.data(), want.data(), cols);
    ASSERT_EQ(bad, -1) << what << ": decode_element row " << r << " element " << bad << ": "
                       << bits_hex(got[static_cast<size_t>(bad)]) << " vs " << bits_hex(want[static_cast<size_t>(bad)]);

    if (cols % 32 != 0) continue;
    std::fill(got.begin(), got.end(), std::numeric_limits<float>::quiet_NaN());
    for (int64_t c = 0; c < cols / 32; ++c) cuda::decode_chunk32(t, row, c, got.data() + 32 * c);
    bad = first_mismatch(got.data(), want.data(), cols);
    ASSERT_EQ(bad, -1) << what << ": decode_chunk32 row " << r << " element " << bad << ": "
                       << bits_hex(got[static_cast<size_t>(bad)]) << " vs " << bits_hex(want[static_cast<size_t>(bad)]);
  }
}

TEST(CudaQuantDecode, BlockShapesMatchRegistry) {
  for (TensorType t : kTypes) {
    SCOPED_TRACE(std::string(tensor_type_name(t)));
    EXPECT_TRUE(cuda::decode_supported(t));
    const TypeTraits& tt = type_traits(t);
    EXPECT_EQ(cuda::block_shape(t).elements, tt.block_size);
    EXPECT_EQ(cuda::block_shape(t).bytes, static_cast<int64_t>(tt.block_bytes));
    EXPECT_EQ(cuda::is_block_type(t), tt.block_size > 1);
    for (int64_t cols : cols_for(t)) {
      const int64_t shape[] = {cols};
      EXPECT_EQ(static_cast<uint64_t>(cuda::row_bytes_of(t, cols)), tensor_nbytes(t, shape).value()) << cols;
    }
  }
  for (TensorType t : {TensorType::Q4_1, TensorType::Q2_K, TensorType::Q8_K, TensorType::F8_E5M2, TensorType::I32}) {
    EXPECT_FALSE(cuda::decode_supported(t)) << tensor_type_name(t);
    EXPECT_EQ(cuda::row_bytes_of(t, 256), 0) << tensor_type_name(t);
  }
}

// Weights quantized from random values at three scales (normal, tiny: f16 scales go subnormal,
// large), and raw random bytes (every bit pattern of scales and codes, NaN/inf scales included).
TEST(CudaQuantDecode, RowsBitExactAgainstRegistry) {
  const uint32_t seed = seed_for_run();
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> byte(0, 255);
  constexpr int64_t kRows = 3;
  for (TensorType t : kTypes)
    for (int64_t cols : cols_for(t)) {
      const std::string name = std::string(tensor_type_name(t)) + " cols " + std::to_string(cols) + ", " + seed_note(seed);
      // From values (F8_E4M3 has no quantize routine: bytes drawn the test suites' way).
      OwnedWeight w;
      if (t == TensorType::F8_E4M3) {
        w = OwnedWeight::random_f8_e4m3("w", {kRows, cols}, rng);
      } else {
        std::vector<float> v(static_cast<size_t>(kRows * cols));
        const float scale[kRows] = {3.0f, 1e-6f, 1e4f};
        for (int64_t r = 0; r < kRows; ++r)
          for (int64_t c = 0; c < cols; ++c) v[static_cast<size_t>(r * cols + c)] = normal(rng) * scale[r];
        w = OwnedWeight::quantized("w", t, {kRows, cols}, v);
      }
      expect_rows_bit_exact(t, w.bytes, kRows, cols, name + ", quantized");
      if (HasFatalFailure()) return;

      std::vector<uint8_t> raw(static_cast<size_t>(kRows * cuda::row_bytes_of(t, cols)));
      for (uint8_t& b : raw) b = static_cast<uint8_t>(byte(rng));
      expect_rows_bit_exact(t, raw, kRows, cols, name + ", random bytes");
      if (HasFatalFailure()) return;
    }
}

// Every 16-bit pattern of a plain 2-byte type (one row of 65536), through both entry points.
void expect_all_u16_patterns(TensorType t) {
  std::vector<uint8_t> bytes(65536 * 2);
  for (uint32_t i = 0; i < 65536; ++i) {
    const uint16_t h = static_cast<uint16_t>(i);
    std::memcpy(bytes.data() + 2 * i, &h, 2);
  }
  expect_rows_bit_exact(t, bytes, 1, 65536, std::string(tensor_type_name(t)) + " all patterns");
}

TEST(CudaQuantDecode, F16AllBitPatterns) {
  expect_all_u16_patterns(TensorType::F16);
  for (uint32_t i = 0; i < 65536; ++i) {
    const float a = cuda::fp16_to_f32(static_cast<uint16_t>(i)), b = quant::fp16_to_f32(static_cast<uint16_t>(i));
    ASSERT_EQ(std::memcmp(&a, &b, 4), 0) << "f16 0x" << std::hex << i;
  }
}

TEST(CudaQuantDecode, BF16AllBitPatternsWithNaNAndInf) {
  expect_all_u16_patterns(TensorType::BF16);
  // The NaN (quiet, signalling, both signs) and infinity patterns explicitly.
  for (uint16_t h : {0x7F80, 0xFF80, 0x7FC0, 0xFFC0, 0x7F81, 0x7FFF, 0xFFFF, 0x0001, 0x8001, 0x0000, 0x8000}) {
    const float a = cuda::bf16_to_f32(h), b = quant::bf16_to_f32(h);
    EXPECT_EQ(std::memcmp(&a, &b, 4), 0) << "bf16 0x" << std::hex << h;
  }
}

TEST(CudaQuantDecode, F8E4M3AllBytes) {
  std::vector<uint8_t> bytes(256);
  for (int i = 0; i < 256; ++i) bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
  expect_rows_bit_exact(TensorType::F8_E4M3, bytes, 1, 256, "F8_E4M3 all bytes");
  for (int i = 0; i < 256; ++i) {
    const float a = cuda::fp8_e4m3_to_f32(static_cast<uint8_t>(i)), b = quant::fp8_e4m3_to_f32(static_cast<uint8_t>(i));
    ASSERT_EQ(std::memcmp(&a, &b, 4), 0) << "e4m3 0x" << std::hex << i;
  }
}

// Decoders read unaligned rows correctly (the registry's memcpy loads do; ours are byte loads).
TEST(CudaQuantDecode, UnalignedRows) {
  const uint32_t seed = seed_for_run();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  for (TensorType t : kTypes) {
    const int64_t cols = 256, rb = cuda::row_bytes_of(t, cols);
    std::vector<uint8_t> buf(static_cast<size_t>(rb + 3));
    for (uint8_t& b : buf) b = static_cast<uint8_t>(byte(rng));
    std::vector<uint8_t> row(buf.begin() + 3, buf.end());  // the same bytes, aligned, for the registry
    std::vector<float> want(cols), got(cols);
    type_traits(t).dequantize(row.data(), want.data(), cols);
    for (int64_t c = 0; c < cols / 32; ++c) cuda::decode_chunk32(t, buf.data() + 3, c, got.data() + 32 * c);
    EXPECT_EQ(first_mismatch(got.data(), want.data(), cols), -1) << tensor_type_name(t) << ", " << seed_note(seed);
  }
}

// ---- quantized-activations rounding -----------------------------------------------------------

// The HD per-block function over a whole row, in place when `in_place`, against the host routine.
void expect_act_round_trip_bit_exact(const std::vector<float>& x, const std::string& what) {
  const int64_t cols = static_cast<int64_t>(x.size());
  std::vector<float> want(x.size()), got(x.size()), inplace = x;
  quant::round_trip_act_q8k(x.data(), cols, want.data());
  for (int64_t b = 0; b * cuda::kActQ8kBlock < cols; ++b) {  // the last block may be shorter
    const int64_t at = b * cuda::kActQ8kBlock, len = std::min(cuda::kActQ8kBlock, cols - at);
    cuda::act_q8k_round_trip_block(x.data() + at, got.data() + at, len);
    cuda::act_q8k_round_trip_block(inplace.data() + at, inplace.data() + at, len);
  }
  int64_t bad = first_mismatch(got.data(), want.data(), cols);
  ASSERT_EQ(bad, -1) << what << ": element " << bad << " (x = " << x[static_cast<size_t>(bad)] << "): "
                     << bits_hex(got[static_cast<size_t>(bad)]) << " vs " << bits_hex(want[static_cast<size_t>(bad)]);
  bad = first_mismatch(inplace.data(), want.data(), cols);
  ASSERT_EQ(bad, -1) << what << ": in place, element " << bad;
}

TEST(CudaQuantDecode, ActQ8kRoundTripBitExact) {
  const uint32_t seed = seed_for_run();
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> pos(0, 255);
  const std::string s = seed_note(seed);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();

  for (int64_t cols : {256, 512, 1024, 1408, 96})  // 1408, 96: a last block shorter than 256
    for (float scale : {1.0f, 1e-3f, 50.0f, 1e20f}) {
      std::vector<float> x(static_cast<size_t>(cols));
      for (float& v : x) v = normal(rng) * scale;
      expect_act_round_trip_bit_exact(x, "random cols " + std::to_string(cols) + " scale " + std::to_string(scale) + ", " + s);
      if (HasFatalFailure()) return;
      // A non-finite value poisons its block only: NaN in block 0, +inf / -inf in the last one.
      for (float bad : {nan, -nan, inf, -inf}) {
        std::vector<float> y = x;
        y[static_cast<size_t>(pos(rng) % cols)] = bad;
        y[static_cast<size_t>(cols - 1 - pos(rng) % std::min<int64_t>(cols, 128))] = bad;
        expect_act_round_trip_bit_exact(y, "non-finite cols " + std::to_string(cols) + ", " + s);
        if (HasFatalFailure()) return;
      }
    }

  // A block whose 127 / amax overflows: zeros map to 0 on both sides (no NaN cast), the rest saturate.
  {
    std::vector<float> x(256, 0.0f);
    x[3] = 1e-38f;
    x[200] = -3e-39f;
    expect_act_round_trip_bit_exact(x, "tiny amax");
  }
  // Zero blocks (+0 and -0), and a zero block beside a live one.
  expect_act_round_trip_bit_exact(std::vector<float>(512, 0.0f), "zeros");
  expect_act_round_trip_bit_exact(std::vector<float>(256, -0.0f), "negative zeros");
  {
    std::vector<float> x(512, 0.0f);
    for (int i = 256; i < 512; ++i) x[static_cast<size_t>(i)] = normal(rng);
    expect_act_round_trip_bit_exact(x, "zero block then live block, " + s);
  }

  // Values exactly on .5 rounding boundaries: amax 127 (x * inv = x) and 254 (x * inv = x / 2),
  // ties going both ways (half to even), both signs; and values one ulp either side of a tie.
  for (float amax : {127.0f, 254.0f}) {
    std::vector<float> x(256);
    const float step = amax / 127.0f;
    for (int i = 0; i < 256; ++i) {
      const float k = static_cast<float>(i % 127) - 63.0f;
      x[static_cast<size_t>(i)] = (k + 0.5f) * step;
    }
    x[0] = amax;
    x[1] = -amax;
    expect_act_round_trip_bit_exact(x, "ties amax " + std::to_string(amax));
    for (int i = 2; i < 256; ++i)
      x[static_cast<size_t>(i)] = std::nextafter(x[static_cast<size_t>(i)], i % 2 ? inf : -inf);
    expect_act_round_trip_bit_exact(x, "one ulp off ties amax " + std::to_string(amax));
  }
  // Random ties at a random (non-power-of-two) amax: the product x * inv lands near k + 0.5.
  {
    std::vector<float> x(256);
    const float amax = 3.0f + static_cast<float>(pos(rng)) / 7.0f;
    const float inv = 127.0f / amax;
    for (int i = 0; i < 256; ++i)
      x[static_cast<size_t>(i)] = (static_cast<float>(pos(rng) % 254 - 127) + 0.5f) / inv;
    x[17] = amax;
    expect_act_round_trip_bit_exact(x, "near-ties amax " + std::to_string(amax) + ", " + s);
  }
}

}  // namespace
}  // namespace schwarm

// Element-wise types: f32/f16/bf16/f64, FP8 (E4M3, E5M2) and integers, to f32 and back.
#include <cstring>

#include "quant/float_bits.h"
#include "quant/kernels.h"

namespace schwarm::quant {

namespace {
// Reads one little-endian value without alignment assumptions.
template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <typename T, typename F>
void convert_each(const void* src, float* dst, int64_t n, F&& f) {
  const auto* p = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = f(load<T>(p + i * static_cast<int64_t>(sizeof(T))));
}
}  // namespace

void dequantize_f32(const void* src, float* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}
void dequantize_f16(const void* src, float* dst, int64_t n) {
  convert_each<uint16_t>(src, dst, n, fp16_to_f32);
}
void dequantize_bf16(const void* src, float* dst, int64_t n) {
  convert_each<uint16_t>(src, dst, n, bf16_to_f32);
}
void dequantize_f64(const void* src, float* dst, int64_t n) {
  convert_each<double>(src, dst, n, [](double v) { return static_cast<float>(v); });
}
void dequantize_f8_e4m3(const void* src, float* dst, int64_t n) {
  convert_each<uint8_t>(src, dst, n, fp8_e4m3_to_f32);
}
void dequantize_f8_e5m2(const void* src, float* dst, int64_t n) {
  convert_each<uint8_t>(src, dst, n, fp8_e5m2_to_f32);
}
void dequantize_i8(const void* src, float* dst, int64_t n) {
  convert_each<int8_t>(src, dst, n, [](int8_t v) { return static_cast<float>(v); });
}
void dequantize_i16(const void* src, float* dst, int64_t n) {
  convert_each<int16_t>(src, dst, n, [](int16_t v) { return static_cast<float>(v); });
}
void dequantize_i32(const void* src, float* dst, int64_t n) {
  convert_each<int32_t>(src, dst, n, [](int32_t v) { return static_cast<float>(v); });
}
void dequantize_i64(const void* src, float* dst, int64_t n) {
  convert_each<int64_t>(src, dst, n, [](int64_t v) { return static_cast<float>(v); });
}
void dequantize_u8(const void* src, float* dst, int64_t n) {
  convert_each<uint8_t>(src, dst, n, [](uint8_t v) { return static_cast<float>(v); });
}
void dequantize_bool(const void* src, float* dst, int64_t n) {
  convert_each<uint8_t>(src, dst, n, [](uint8_t v) { return v ? 1.0f : 0.0f; });
}

void quantize_f32(const float* src, void* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}
void quantize_f16(const float* src, void* dst, int64_t n) {
  auto* p = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = f32_to_fp16(src[i]);
    std::memcpy(p + 2 * i, &h, 2);
  }
}
void quantize_bf16(const float* src, void* dst, int64_t n) {
  auto* p = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = f32_to_bf16(src[i]);
    std::memcpy(p + 2 * i, &h, 2);
  }
}

}  // namespace schwarm::quant

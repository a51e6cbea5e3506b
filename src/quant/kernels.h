#pragma once
// Internal declarations of the scalar dequantize/quantize routines in src/quant/. Callers outside
// src/quant/ reach them through type_traits(t).dequantize / .quantize (see quant_table.cpp).
// Block layouts are exactly ggml's (ggml-common.h); n is an element count, a multiple of the
// type's block size.
#include <cstdint>

namespace schwarm::quant {

// plain_types.cpp: element-wise types.
void dequantize_f32(const void* src, float* dst, int64_t n);
void dequantize_f16(const void* src, float* dst, int64_t n);
void dequantize_bf16(const void* src, float* dst, int64_t n);
void dequantize_f64(const void* src, float* dst, int64_t n);
void dequantize_f8_e4m3(const void* src, float* dst, int64_t n);
void dequantize_f8_e5m2(const void* src, float* dst, int64_t n);
void dequantize_i8(const void* src, float* dst, int64_t n);
void dequantize_i16(const void* src, float* dst, int64_t n);
void dequantize_i32(const void* src, float* dst, int64_t n);
void dequantize_i64(const void* src, float* dst, int64_t n);
void dequantize_u8(const void* src, float* dst, int64_t n);
void dequantize_bool(const void* src, float* dst, int64_t n);
void quantize_f32(const float* src, void* dst, int64_t n);
void quantize_f16(const float* src, void* dst, int64_t n);
void quantize_bf16(const float* src, void* dst, int64_t n);

// legacy_quants.cpp: 32-element blocks.
void dequantize_q4_0(const void* src, float* dst, int64_t n);
void dequantize_q4_1(const void* src, float* dst, int64_t n);
void dequantize_q5_0(const void* src, float* dst, int64_t n);
void dequantize_q5_1(const void* src, float* dst, int64_t n);
void dequantize_q8_0(const void* src, float* dst, int64_t n);

// quantize_legacy.cpp: ggml's reference quantizers (bit-exact with gguf-py's).
void quantize_q4_0(const float* src, void* dst, int64_t n);
void quantize_q4_1(const float* src, void* dst, int64_t n);
void quantize_q5_0(const float* src, void* dst, int64_t n);
void quantize_q5_1(const float* src, void* dst, int64_t n);
void quantize_q8_0(const float* src, void* dst, int64_t n);

// k_quants.cpp: 256-element super-blocks.
void dequantize_q2_k(const void* src, float* dst, int64_t n);
void dequantize_q3_k(const void* src, float* dst, int64_t n);
void dequantize_q4_k(const void* src, float* dst, int64_t n);
void dequantize_q5_k(const void* src, float* dst, int64_t n);
void dequantize_q6_k(const void* src, float* dst, int64_t n);
void dequantize_q8_k(const void* src, float* dst, int64_t n);

// quantize_k.cpp: min/max K-quantizers with a guaranteed per-element error bound.
void quantize_q4_k(const float* src, void* dst, int64_t n);
void quantize_q5_k(const float* src, void* dst, int64_t n);
void quantize_q6_k(const float* src, void* dst, int64_t n);
void quantize_q8_k(const float* src, void* dst, int64_t n);

}  // namespace schwarm::quant

#pragma once
// Every tensor element type schwarm knows, in one registry: GGML's types (same numeric ids as
// GGUF files use) and the safetensors-only types (ids >= 1000, never valid inside a GGUF file).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace schwarm {

enum class TensorType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
  IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
  // Not GGML types: only safetensors files carry these.
  F8_E4M3 = 1000, F8_E5M2 = 1001, U8 = 1002, BOOL = 1003, U16 = 1004, U32 = 1005, U64 = 1006,
};

// Dequantize n elements (n a multiple of block_size) from src into dst.
using DequantizeFn = void (*)(const void* src, float* dst, int64_t n);
// Quantize n elements (n a multiple of block_size) from src into dst (n/block_size blocks).
using QuantizeFn = void (*)(const float* src, void* dst, int64_t n);

struct TypeTraits {
  TensorType type;
  std::string_view name;    // "Q4_K", "F8_E4M3", ...
  int64_t block_size;       // elements per block (1 for plain types)
  size_t block_bytes;       // bytes per block
  bool is_quantized;        // block-quantized (scales inside the block)
  bool in_gguf;             // may appear in a GGUF file
  DequantizeFn dequantize;  // nullptr where not supported (yet)
  QuantizeFn quantize;      // nullptr where not supported
};

// nullptr for an id that is no known type.
const TypeTraits* find_type_traits(TensorType type);
// Throws schwarm::Error for an unknown type.
const TypeTraits& type_traits(TensorType type);
// GGUF's numeric id -> type; nullopt for ids that are no known GGML type.
std::optional<TensorType> tensor_type_from_ggml_id(uint32_t id);
// "Q4_K" / "F8_E4M3" / safetensors dtype strings ("F32", "BF16", "F8_E4M3", "I64", "BOOL", ...).
std::optional<TensorType> tensor_type_from_name(std::string_view name);
std::string_view tensor_type_name(TensorType type);  // "?" for unknown

// Bytes of a tensor of this type and shape; nullopt if an element count overflows 2^63, a dim is
// negative, or the innermost dim is not a multiple of the block size.
std::optional<uint64_t> tensor_nbytes(TensorType type, std::span<const int64_t> shape);

}  // namespace schwarm

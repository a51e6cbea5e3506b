#include "core/tensor_type.h"

#include <array>
#include <string>

#include "schwarm/error.h"

namespace schwarm {

namespace kernels_table {
// The dequantize/quantize functions, defined in src/quant/. nullptr where not supported.
DequantizeFn dequantize_fn(TensorType t);
QuantizeFn quantize_fn(TensorType t);
}  // namespace kernels_table

namespace {

using T = TensorType;

// Sizes as ggml defines them (ggml.c type_traits); gguf-py's GGML_QUANT_SIZES agrees except for
// Q8_1, where ggml's block is 2 halves + 32 int8 = 36 bytes.
struct Row {
  T type;
  const char* name;
  int64_t block_size;
  size_t block_bytes;
  bool quantized;
  bool in_gguf;
};
constexpr Row kRows[] = {
    {T::F32, "F32", 1, 4, false, true},          {T::F16, "F16", 1, 2, false, true},
    {T::Q4_0, "Q4_0", 32, 18, true, true},       {T::Q4_1, "Q4_1", 32, 20, true, true},
    {T::Q5_0, "Q5_0", 32, 22, true, true},       {T::Q5_1, "Q5_1", 32, 24, true, true},
    {T::Q8_0, "Q8_0", 32, 34, true, true},       {T::Q8_1, "Q8_1", 32, 36, true, true},
    {T::Q2_K, "Q2_K", 256, 84, true, true},      {T::Q3_K, "Q3_K", 256, 110, true, true},
    {T::Q4_K, "Q4_K", 256, 144, true, true},     {T::Q5_K, "Q5_K", 256, 176, true, true},
    {T::Q6_K, "Q6_K", 256, 210, true, true},     {T::Q8_K, "Q8_K", 256, 292, true, true},
    {T::IQ2_XXS, "IQ2_XXS", 256, 66, true, true}, {T::IQ2_XS, "IQ2_XS", 256, 74, true, true},
    {T::IQ3_XXS, "IQ3_XXS", 256, 98, true, true}, {T::IQ1_S, "IQ1_S", 256, 50, true, true},
    {T::IQ4_NL, "IQ4_NL", 32, 18, true, true},   {T::IQ3_S, "IQ3_S", 256, 110, true, true},
    {T::IQ2_S, "IQ2_S", 256, 82, true, true},    {T::IQ4_XS, "IQ4_XS", 256, 136, true, true},
    {T::I8, "I8", 1, 1, false, true},            {T::I16, "I16", 1, 2, false, true},
    {T::I32, "I32", 1, 4, false, true},          {T::I64, "I64", 1, 8, false, true},
    {T::F64, "F64", 1, 8, false, true},          {T::IQ1_M, "IQ1_M", 256, 56, true, true},
    {T::BF16, "BF16", 1, 2, false, true},        {T::TQ1_0, "TQ1_0", 256, 54, true, true},
    {T::TQ2_0, "TQ2_0", 256, 66, true, true},    {T::MXFP4, "MXFP4", 32, 17, true, true},
    {T::F8_E4M3, "F8_E4M3", 1, 1, false, false}, {T::F8_E5M2, "F8_E5M2", 1, 1, false, false},
    {T::U8, "U8", 1, 1, false, false},           {T::BOOL, "BOOL", 1, 1, false, false},
    {T::U16, "U16", 1, 2, false, false},         {T::U32, "U32", 1, 4, false, false},
    {T::U64, "U64", 1, 8, false, false},
};
constexpr size_t kCount = sizeof(kRows) / sizeof(kRows[0]);

const std::array<TypeTraits, kCount>& table() {
  static const std::array<TypeTraits, kCount> t = [] {
    std::array<TypeTraits, kCount> out{};
    for (size_t i = 0; i < kCount; ++i) {
      const Row& r = kRows[i];
      out[i] = TypeTraits{r.type,      r.name,     r.block_size,
                          r.block_bytes, r.quantized, r.in_gguf,
                          kernels_table::dequantize_fn(r.type), kernels_table::quantize_fn(r.type)};
    }
    return out;
  }();
  return t;
}

}  // namespace

const TypeTraits* find_type_traits(TensorType type) {
  for (const TypeTraits& t : table())
    if (t.type == type) return &t;
  return nullptr;
}

const TypeTraits& type_traits(TensorType type) {
  const TypeTraits* t = find_type_traits(type);
  if (!t) throw Error("unknown tensor type id " + std::to_string(static_cast<uint32_t>(type)));
  return *t;
}

std::optional<TensorType> tensor_type_from_ggml_id(uint32_t id) {
  const TypeTraits* t = find_type_traits(static_cast<TensorType>(id));
  if (!t || !t->in_gguf) return std::nullopt;
  return t->type;
}

std::optional<TensorType> tensor_type_from_name(std::string_view name) {
  for (const TypeTraits& t : table())
    if (t.name == name) return t.type;
  return std::nullopt;
}

std::string_view tensor_type_name(TensorType type) {
  const TypeTraits* t = find_type_traits(type);
  return t ? t->name : std::string_view("?");
}

std::optional<uint64_t> tensor_nbytes(TensorType type, std::span<const int64_t> shape) {
  const TypeTraits* t = find_type_traits(type);
  if (!t) return std::nullopt;
  constexpr uint64_t kLimit = uint64_t{1} << 63;
  uint64_t elems = 1;
  for (int64_t d : shape) {
    if (d < 0) return std::nullopt;
    if (d != 0 && elems > kLimit / static_cast<uint64_t>(d)) return std::nullopt;
    elems *= static_cast<uint64_t>(d);
  }
  const int64_t inner = shape.empty() ? 1 : shape.back();
  if (inner % t->block_size != 0) return std::nullopt;
  const uint64_t blocks = elems / static_cast<uint64_t>(t->block_size);
  if (blocks != 0 && blocks > kLimit / t->block_bytes) return std::nullopt;
  return blocks * t->block_bytes;
}

}  // namespace schwarm

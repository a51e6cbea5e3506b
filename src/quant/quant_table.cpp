// Which dequantize/quantize routine serves which type. The routines live beside this file
// (declared in kernels.h); types without one get nullptr.
#include "core/tensor_type.h"
#include "quant/kernels.h"

namespace schwarm::kernels_table {

DequantizeFn dequantize_fn(TensorType t) {
  using T = TensorType;
  namespace q = quant;
  switch (t) {
    case T::F32:
      return q::dequantize_f32;
    case T::F16:
      return q::dequantize_f16;
    case T::BF16:
      return q::dequantize_bf16;
    case T::F64:
      return q::dequantize_f64;
    case T::F8_E4M3:
      return q::dequantize_f8_e4m3;
    case T::F8_E5M2:
      return q::dequantize_f8_e5m2;
    case T::I8:
      return q::dequantize_i8;
    case T::I16:
      return q::dequantize_i16;
    case T::I32:
      return q::dequantize_i32;
    case T::I64:
      return q::dequantize_i64;
    case T::U8:
      return q::dequantize_u8;
    case T::BOOL:
      return q::dequantize_bool;
    case T::Q4_0:
      return q::dequantize_q4_0;
    case T::Q4_1:
      return q::dequantize_q4_1;
    case T::Q5_0:
      return q::dequantize_q5_0;
    case T::Q5_1:
      return q::dequantize_q5_1;
    case T::Q8_0:
      return q::dequantize_q8_0;
    case T::Q2_K:
      return q::dequantize_q2_k;
    case T::Q3_K:
      return q::dequantize_q3_k;
    case T::Q4_K:
      return q::dequantize_q4_k;
    case T::Q5_K:
      return q::dequantize_q5_k;
    case T::Q6_K:
      return q::dequantize_q6_k;
    case T::Q8_K:
      return q::dequantize_q8_k;
    default:
      return nullptr;
  }
}

QuantizeFn quantize_fn(TensorType t) {
  using T = TensorType;
  namespace q = quant;
  switch (t) {
    case T::F32:
      return q::quantize_f32;
    case T::F16:
      return q::quantize_f16;
    case T::BF16:
      return q::quantize_bf16;
    case T::Q4_0:
      return q::quantize_q4_0;
    case T::Q4_1:
      return q::quantize_q4_1;
    case T::Q5_0:
      return q::quantize_q5_0;
    case T::Q5_1:
      return q::quantize_q5_1;
    case T::Q8_0:
      return q::quantize_q8_0;
    case T::Q4_K:
      return q::quantize_q4_k;
    case T::Q5_K:
      return q::quantize_q5_k;
    case T::Q6_K:
      return q::quantize_q6_k;
    case T::Q8_K:
      return q::quantize_q8_k;
    default:
      return nullptr;
  }
}

}  // namespace schwarm::kernels_table

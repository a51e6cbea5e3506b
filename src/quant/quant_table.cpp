// Which dequantize/quantize routine serves which type. The routines live beside this file.
#include "core/tensor_type.h"

namespace schwarm::kernels_table {

DequantizeFn dequantize_fn(TensorType) { return nullptr; }
QuantizeFn quantize_fn(TensorType) { return nullptr; }

}  // namespace schwarm::kernels_table

#pragma once
// Unaligned little-endian loads and stores for reading and writing ggml blocks.
#include <cstdint>
#include <cstring>

#include "quant/float_bits.h"

namespace schwarm::quant {

inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline float load_fp16(const uint8_t* p) { return fp16_to_f32(load_u16(p)); }
inline float load_f32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, 4);
  return v;
}
inline void store_u16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
inline void store_fp16(uint8_t* p, float f) { store_u16(p, f32_to_fp16(f)); }

}  // namespace schwarm::quant

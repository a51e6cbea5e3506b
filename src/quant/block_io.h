#pragma once
// Unaligned little-endian loads and stores for reading and writing ggml blocks.
#include <algorithm>
#include <cmath>
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

namespace schwarm::quant {

// Float -> integer code without undefined behaviour for NaN or out-of-range values (those only
// come from non-finite input, whose result is unspecified but must not crash): NaN gives the code
// nearest 0, everything else is clamped to [lo, hi] before the conversion.
// round_clamped rounds to nearest (ties to even, as ggml's nearest_int); trunc_clamped truncates.
inline int round_clamped(float v, int lo, int hi) {
  if (v != v) return lo > 0 ? lo : (hi < 0 ? hi : 0);
  if (v <= static_cast<float>(lo)) return lo;
  if (v >= static_cast<float>(hi)) return hi;
  return static_cast<int>(std::nearbyint(v));
}
inline int trunc_clamped(float v, int lo, int hi) {
  if (v != v) return lo > 0 ? lo : (hi < 0 ? hi : 0);
  if (v <= static_cast<float>(lo)) return lo;
  if (v >= static_cast<float>(hi)) return hi;
  return static_cast<int>(v);
}
// Round half away from zero (C's roundf, numpy's np_roundf in gguf-py), clamped likewise.
inline int round_away_clamped(float v, int lo, int hi) {
  if (v != v) return lo > 0 ? lo : (hi < 0 ? hi : 0);
  return static_cast<int>(
      std::round(std::clamp(v, static_cast<float>(lo), static_cast<float>(hi))));
}

}  // namespace schwarm::quant

#pragma once
// Q4_K / Q5_K's 12 bytes of 6-bit sub-block scales and mins (quant::unpack_k4_scales), unpacked
// four at a time in 32-bit words (byte j of a word = sub-block j or j + 4): the 8 scales and the
// 8 mins, each as the 8 bytes of a 64-bit word in sub-block order. Shared by the integer kernels.
#include <cstdint>
#include <cstring>

namespace schwarm::cpu {

inline void unpack_k4_scales_u64(const uint8_t* s, uint64_t& sc8, uint64_t& mn8) {
  uint32_t a, b, c;
  std::memcpy(&a, s, 4);
  std::memcpy(&b, s + 4, 4);
  std::memcpy(&c, s + 8, 4);
  const uint32_t sc_lo = a & 0x3F3F3F3F, mn_lo = b & 0x3F3F3F3F;
  const uint32_t sc_hi = (c & 0x0F0F0F0F) | (((a >> 6) & 0x03030303) << 4);
  const uint32_t mn_hi = ((c >> 4) & 0x0F0F0F0F) | (((b >> 6) & 0x03030303) << 4);
  sc8 = sc_lo | (static_cast<uint64_t>(sc_hi) << 32);
  mn8 = mn_lo | (static_cast<uint64_t>(mn_hi) << 32);
}

}  // namespace schwarm::cpu

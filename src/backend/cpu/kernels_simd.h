#pragma once
// The SIMD matmul kernels, written once over a small vector-traits class V and instantiated by
// each ISA translation unit (kernels_avx2.cpp, kernels_avx512.cpp) under that ISA's flags. Include
// only from those files. V provides, for W float lanes: F/I vector types, load/store/fma/mul,
// u8/i8 (W bytes widened to int32 lanes), shifts, cvt, f16/bf16 (W halves to floats), hsum.
//
// Decoders mirror src/quant/ operation for operation (see kernels.h): Q8_0 d*q, Q4_0 d*(q-8) and
// the K-quant scale products dl = d*sc, ml = dmin*mn are exact in float, so dl*q - ml computed
// as one fused multiply-subtract rounds once, like the registry's product-then-subtract whose
// product is exact. Q6_K's (d*sc)*q may round and is computed as a plain multiply, as there.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "backend/cpu/kernels.h"
#include "quant/block_io.h"
#include "quant/k_scales.h"

namespace schwarm::cpu::simd {

// Elements decoded per step of the gemv: one K-quant super-block, or 8 legacy blocks.
constexpr int64_t kChunk = 256;

template <class V>
struct Decode {
  using F = typename V::F;
  static constexpr int W = V::W;

  // Q8_0 {f16 d; i8 qs[32]}: x = d * q.
  static void q8_0(const uint8_t* b, int64_t n, float* dst) {
    for (int64_t i = 0; i < n; i += 32, b += 34, dst += 32) {
      const F d = V::set1(quant::load_fp16(b));
      for (int l = 0; l < 32; l += W) V::store(dst + l, V::mul(d, V::cvt(V::i8(b + 2 + l))));
    }
  }
  // Q4_0 {f16 d; u8 qs[16]}: x = d * (q - 8); element j < 16 low nibble of qs[j], j + 16 high.
  static void q4_0(const uint8_t* b, int64_t n, float* dst) {
    for (int64_t i = 0; i < n; i += 32, b += 18, dst += 32) {
      const F d = V::set1(quant::load_fp16(b));
      for (int l = 0; l < 16; l += W) {
        const auto q = V::u8(b + 2 + l);
        V::store(dst + l, V::mul(d, V::cvt(V::sub_i(V::and_i(q, 0x0F), 8))));
        V::store(dst + 16 + l, V::mul(d, V::cvt(V::sub_i(V::srl(q, 4), 8))));
      }
    }
  }
  // Q4_K / Q5_K: x = (d * sc) * q - dmin * m over 8 sub-blocks of 32; Q5_K's 5th bit of element
  // 32 j + l is bit j of qh[l].
  template <bool kQh>
  static void k_affine(const uint8_t* b, int64_t n, float* dst) {
    constexpr int64_t kBytes = kQh ? 176 : 144;
    for (int64_t i = 0; i < n; i += 256, b += kBytes, dst += 256) {
      const float d = quant::load_fp16(b), dmin = quant::load_fp16(b + 2);
      uint8_t sc[8], mn[8];
      quant::unpack_k4_scales(b + 4, sc, mn);
      const uint8_t* qh = b + 16;
      const uint8_t* qs = kQh ? b + 48 : b + 16;
      for (int p = 0; p < 4; ++p) {  // sub-blocks 2p (low nibbles) and 2p + 1 (high nibbles)
        const F dl0 = V::set1(d * static_cast<float>(sc[2 * p])), ml0 = V::set1(dmin * static_cast<float>(mn[2 * p]));
        const F dl1 = V::set1(d * static_cast<float>(sc[2 * p + 1])),
                ml1 = V::set1(dmin * static_cast<float>(mn[2 * p + 1]));
        float* o = dst + 64 * p;
        for (int l = 0; l < 32; l += W) {
          const auto q = V::u8(qs + 32 * p + l);
          auto lo = V::and_i(q, 0x0F), hi = V::srl(q, 4);
          if constexpr (kQh) {
            const auto h = V::u8(qh + l);
            lo = V::or_i(lo, V::sll(V::and_i(V::srl(h, 2 * p), 1), 4));
            hi = V::or_i(hi, V::sll(V::and_i(V::srl(h, 2 * p + 1), 1), 4));
          }
          V::store(o + l, V::fmsub(dl0, V::cvt(lo), ml0));
          V::store(o + 32 + l, V::fmsub(dl1, V::cvt(hi), ml1));
        }
      }
    }
  }
  // Q6_K {u8 ql[128]; u8 qh[64]; i8 sc[16]; f16 d}: x = (d * sc) * (q6 - 32), 16 sub-blocks of 16.
  static void q6_k(const uint8_t* b, int64_t n, float* dst) {
    for (int64_t i = 0; i < n; i += 256, b += 210, dst += 256) {
      const uint8_t* ql = b;
      const uint8_t* qh = b + 128;
      const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
      const float d = quant::load_fp16(b + 208);
      for (int s = 0; s < 16; ++s) {
        const F dl = V::set1(d * static_cast<float>(sc[s]));
        const int i0 = 16 * s, half = i0 / 128, t0 = i0 % 128;
        const uint8_t* l_src = ql + half * 64 + t0 % 64;
        const uint8_t* h_src = qh + half * 32 + t0 % 32;
        const int l_shift = 4 * (t0 / 64), h_shift = 2 * (t0 / 32);
        for (int l = 0; l < 16; l += W) {
          const auto lo = V::and_i(V::srl(V::u8(l_src + l), l_shift), 0x0F);
          const auto hi = V::sll(V::and_i(V::srl(V::u8(h_src + l), h_shift), 3), 4);
          V::store(dst + i0 + l, V::mul(dl, V::cvt(V::sub_i(V::or_i(lo, hi), 32))));
        }
      }
    }
  }
  static void f16(const uint8_t* b, int64_t n, float* dst) {
    int64_t i = 0;
    for (; i + W <= n; i += W) V::store(dst + i, V::f16(b + 2 * i));
    for (; i < n; ++i) dst[i] = quant::fp16_to_f32(quant::load_u16(b + 2 * i));
  }
  static void bf16(const uint8_t* b, int64_t n, float* dst) {
    int64_t i = 0;
    for (; i + W <= n; i += W) V::store(dst + i, V::bf16(b + 2 * i));
    for (; i < n; ++i) {
      const uint32_t bits = static_cast<uint32_t>(quant::load_u16(b + 2 * i)) << 16;
      std::memcpy(dst + i, &bits, 4);
    }
  }

  // Returns the decoder for `type`, nullptr when none.
  using Fn = void (*)(const uint8_t*, int64_t, float*);
  static Fn for_type(TensorType type) {
    switch (type) {
      case TensorType::Q8_0: return q8_0;
      case TensorType::Q4_0: return q4_0;
      case TensorType::Q4_K: return k_affine<false>;
      case TensorType::Q5_K: return k_affine<true>;
      case TensorType::Q6_K: return q6_k;
      case TensorType::F16: return f16;
      case TensorType::BF16: return bf16;
      default: return nullptr;
    }
  }
};

template <class V>
struct Kernels {
  using F = typename V::F;
  static constexpr int W = V::W;

  static bool decode(TensorType type, const uint8_t* src, int64_t n, float* dst) {
    const auto fn = Decode<V>::for_type(type);
    if (!fn) return false;
    fn(src, n, dst);
    return true;
  }

  // acc[t][*] += w[0, c) · x_t[0, c); 4 independent chains per token hide the FMA latency.
  template <int NT>
  static void dot_chunk(const float* w, const float* x, int64_t ldx, int64_t c, F (&acc)[NT][4], float (&tail)[NT]) {
    int64_t k = 0;
    for (; k + 4 * W <= c; k += 4 * W) {
      const F w0 = V::load(w + k), w1 = V::load(w + k + W), w2 = V::load(w + k + 2 * W), w3 = V::load(w + k + 3 * W);
      for (int t = 0; t < NT; ++t) {
        const float* xt = x + t * ldx + k;
        acc[t][0] = V::fma(w0, V::load(xt), acc[t][0]);
        acc[t][1] = V::fma(w1, V::load(xt + W), acc[t][1]);
        acc[t][2] = V::fma(w2, V::load(xt + 2 * W), acc[t][2]);
        acc[t][3] = V::fma(w3, V::load(xt + 3 * W), acc[t][3]);
      }
    }
    for (; k + W <= c; k += W) {
      const F w0 = V::load(w + k);
      for (int t = 0; t < NT; ++t) acc[t][0] = V::fma(w0, V::load(x + t * ldx + k), acc[t][0]);
    }
    for (; k < c; ++k)
      for (int t = 0; t < NT; ++t) tail[t] += w[k] * x[t * ldx + k];
  }

  template <int NT>
  static void gemv_nt(typename Decode<V>::Fn dec, const uint8_t* w, size_t row_bytes, int64_t nr, int64_t cols,
                      int64_t block, size_t block_bytes, const float* x, float* y, int64_t ldy) {
    alignas(64) float buf[kChunk];
    // Chunks of whole blocks: 256 elements, or what is left of the row.
    const int64_t chunk = std::max<int64_t>(block, kChunk / block * block);
    for (int64_t r = 0; r < nr; ++r) {
      const uint8_t* row = w + static_cast<size_t>(r) * row_bytes;
      if (r + 1 < nr) {  // the next row's first lines, ahead of the hardware prefetcher's ramp-up
        const uint8_t* next = row + row_bytes;
        for (size_t o = 0; o < std::min<size_t>(row_bytes, 512); o += 64) __builtin_prefetch(next + o);
      }
      F acc[NT][4];
      float tail[NT];
      for (int t = 0; t < NT; ++t) {
        acc[t][0] = acc[t][1] = acc[t][2] = acc[t][3] = V::zero();
        tail[t] = 0.0f;
      }
      for (int64_t k = 0; k < cols; k += chunk) {
        const int64_t c = std::min(chunk, cols - k);
        const uint8_t* src = row + static_cast<size_t>(k / block) * block_bytes;
        const float* wc;
        if (dec) {
          dec(src, c, buf);
          wc = buf;
        } else {
          wc = reinterpret_cast<const float*>(src);  // F32, read in place
        }
        dot_chunk<NT>(wc, x + k, cols, c, acc, tail);
      }
      for (int t = 0; t < NT; ++t)
        y[t * ldy + r] = V::hsum(V::add(V::add(acc[t][0], acc[t][1]), V::add(acc[t][2], acc[t][3]))) + tail[t];
    }
  }

  static bool gemv(TensorType type, const uint8_t* w, size_t row_bytes, int64_t nr, int64_t cols, const float* x,
                   int64_t nt, float* y, int64_t ldy) {
    const auto dec = Decode<V>::for_type(type);
    if (!dec && type != TensorType::F32) return false;
    const TypeTraits& tt = type_traits(type);
    const int64_t block = tt.block_size;
    const size_t block_bytes = tt.block_bytes;
    switch (nt) {
      case 1: gemv_nt<1>(dec, w, row_bytes, nr, cols, block, block_bytes, x, y, ldy); break;
      case 2: gemv_nt<2>(dec, w, row_bytes, nr, cols, block, block_bytes, x, y, ldy); break;
      case 3: gemv_nt<3>(dec, w, row_bytes, nr, cols, block, block_bytes, x, y, ldy); break;
      default: gemv_nt<4>(dec, w, row_bytes, nr, cols, block, block_bytes, x, y, ldy); break;
    }
    return true;
  }

  // A tile of R rows x T tokens: R*T accumulators, R + T loads per R*T fused multiply-adds.
  template <int R, int T>
  static void tile(const float* w, int64_t cols, const float* x, float* y, int64_t ldy) {
    F acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = V::zero();
    int64_t k = 0;
    for (; k + W <= cols; k += W) {
      F xv[T];
      for (int t = 0; t < T; ++t) xv[t] = V::load(x + t * cols + k);
      for (int r = 0; r < R; ++r) {
        const F wv = V::load(w + r * cols + k);
        for (int t = 0; t < T; ++t) acc[r][t] = V::fma(wv, xv[t], acc[r][t]);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) {
        float s = V::hsum(acc[r][t]);
        for (int64_t j = k; j < cols; ++j) s += w[r * cols + j] * x[t * cols + j];
        y[t * ldy + r] = s;
      }
  }

  template <int R>
  static void tile_rows(const float* w, int64_t cols, const float* x, int64_t nt, float* y, int64_t ldy) {
    int64_t t = 0;
    for (; t + 4 <= nt; t += 4) tile<R, 4>(w, cols, x + t * cols, y + t * ldy, ldy);
    switch (nt - t) {
      case 3: tile<R, 3>(w, cols, x + t * cols, y + t * ldy, ldy); break;
      case 2: tile<R, 2>(w, cols, x + t * cols, y + t * ldy, ldy); break;
      case 1: tile<R, 1>(w, cols, x + t * cols, y + t * ldy, ldy); break;
      default: break;
    }
  }

  // Tokens per pass over a weight panel: 32 activation rows (256 KiB at 2048 columns) stay in L2
  // while every 4-row group of the panel meets them.
  static constexpr int64_t kTokenBlock = 32;

  static void gemm_f32(const float* w, int64_t nr, int64_t cols, const float* x, int64_t nt, float* y, int64_t ldy) {
    for (int64_t t0 = 0; t0 < nt; t0 += kTokenBlock) {
      const int64_t tn = std::min(kTokenBlock, nt - t0);
      const float* xt = x + t0 * cols;
      float* yt = y + t0 * ldy;
      int64_t r = 0;
      for (; r + 4 <= nr; r += 4) tile_rows<4>(w + r * cols, cols, xt, tn, yt + r, ldy);
      switch (nr - r) {
        case 3: tile_rows<3>(w + r * cols, cols, xt, tn, yt + r, ldy); break;
        case 2: tile_rows<2>(w + r * cols, cols, xt, tn, yt + r, ldy); break;
        case 1: tile_rows<1>(w + r * cols, cols, xt, tn, yt + r, ldy); break;
        default: break;
      }
    }
  }

  static bool has_gemv(TensorType type) { return type == TensorType::F32 || Decode<V>::for_type(type); }

  static const KernelTable* table(Isa isa) {
    static const KernelTable t{isa, has_gemv, gemv, decode, gemm_f32};
    return &t;
  }
};

}  // namespace schwarm::cpu::simd

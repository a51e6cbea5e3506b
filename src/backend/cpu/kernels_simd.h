#pragma once
// The SIMD matmul kernels, written once over a small vector-traits class V and instantiated by
// each ISA translation unit (kernels_avx2.cpp, kernels_avx512.cpp) under that ISA's flags. Include
// only from those files. V provides, for W float lanes: F/I vector types, load/store/fma/mul,
// u8/i8 (W bytes widened to int32 lanes), shifts (srlv: per lane), lanes_from(e) (e, e + 1, ...),
// cvt, bit casts, lane blends by comparison,
// f16/bf16 (W halves to floats), hsum.
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

// Each decoder hands its values to a sink, in element order within a vector: s.vec(i, w, slot)
// for the W values of elements [i, i + W) (slot 0..3 names an independent accumulator chain),
// s.one(i, w) for a single element. The store sink writes them out (prefill panels); the dot
// sink multiplies them into accumulators at once (gemv), so the weight never leaves registers.
template <class V>
struct Decode {
  using F = typename V::F;
  static constexpr int W = V::W;

  // Q8_0 {f16 d; i8 qs[32]}: x = d * q.
  template <class S>
  static void q8_0(const uint8_t* b, int64_t n, S& s) {
    for (int64_t i = 0; i < n; i += 32, b += 34) {
      const F d = V::set1(quant::load_fp16(b));
      for (int l = 0; l < 32; l += W) s.vec(i + l, V::mul(d, V::cvt(V::i8(b + 2 + l))), (l / W) & 3);
    }
  }
  // Q4_0 {f16 d; u8 qs[16]}: x = d * (q - 8); element j < 16 low nibble of qs[j], j + 16 high.
  template <class S>
  static void q4_0(const uint8_t* b, int64_t n, S& s) {
    for (int64_t i = 0; i < n; i += 32, b += 18) {
      const F d = V::set1(quant::load_fp16(b));
      for (int l = 0; l < 16; l += W) {
        const auto q = V::u8(b + 2 + l);
        s.vec(i + l, V::mul(d, V::cvt(V::sub_i(V::and_i(q, 0x0F), 8))), 0);
        s.vec(i + 16 + l, V::mul(d, V::cvt(V::sub_i(V::srl(q, 4), 8))), 1);
      }
    }
  }
  // Q5_0 {f16 d; u8 qh[4]; u8 qs[16]}: x = d * (q - 16), q = nibble | (bit j of qh) << 4;
  // element j < 16 low nibble of qs[j], j + 16 high nibble. Each lane shifts the broadcast qh by
  // its element index.
  template <class S>
  static void q5_0(const uint8_t* b, int64_t n, S& s) {
    for (int64_t i = 0; i < n; i += 32, b += 22) {
      const F d = V::set1(quant::load_fp16(b));
      uint32_t qh32;
      std::memcpy(&qh32, b + 2, 4);
      const auto qh = V::set_i(static_cast<int>(qh32));
      for (int l = 0; l < 16; l += W) {
        const auto q = V::u8(b + 6 + l);
        const auto h0 = V::sll(V::and_i(V::srlv(qh, V::lanes_from(l)), 1), 4);
        const auto h1 = V::sll(V::and_i(V::srlv(qh, V::lanes_from(16 + l)), 1), 4);
        s.vec(i + l, V::mul(d, V::cvt(V::sub_i(V::or_i(V::and_i(q, 0x0F), h0), 16))), 0);
        s.vec(i + 16 + l, V::mul(d, V::cvt(V::sub_i(V::or_i(V::srl(q, 4), h1), 16))), 1);
      }
    }
  }
  // Q4_K / Q5_K: x = (d * sc) * q - dmin * m over 8 sub-blocks of 32; Q5_K's 5th bit of element
  // 32 j + l is bit j of qh[l].
  template <bool kQh, class S>
  static void k_affine(const uint8_t* b, int64_t n, S& s) {
    constexpr int64_t kBytes = kQh ? 176 : 144;
    for (int64_t i = 0; i < n; i += 256, b += kBytes) {
      const float d = quant::load_fp16(b), dmin = quant::load_fp16(b + 2);
      uint8_t sc[8], mn[8];
      quant::unpack_k4_scales(b + 4, sc, mn);
      const uint8_t* qh = b + 16;
      const uint8_t* qs = kQh ? b + 48 : b + 16;
      for (int p = 0; p < 4; ++p) {  // sub-blocks 2p (low nibbles) and 2p + 1 (high nibbles)
        const F dl0 = V::set1(d * static_cast<float>(sc[2 * p])), ml0 = V::set1(dmin * static_cast<float>(mn[2 * p]));
        const F dl1 = V::set1(d * static_cast<float>(sc[2 * p + 1])),
                ml1 = V::set1(dmin * static_cast<float>(mn[2 * p + 1]));
        for (int l = 0; l < 32; l += W) {
          const auto q = V::u8(qs + 32 * p + l);
          auto lo = V::and_i(q, 0x0F), hi = V::srl(q, 4);
          if constexpr (kQh) {
            const auto h = V::u8(qh + l);
            lo = V::or_i(lo, V::sll(V::and_i(V::srl(h, 2 * p), 1), 4));
            hi = V::or_i(hi, V::sll(V::and_i(V::srl(h, 2 * p + 1), 1), 4));
          }
          s.vec(i + 64 * p + l, V::fmsub(dl0, V::cvt(lo), ml0), 0);
          s.vec(i + 64 * p + 32 + l, V::fmsub(dl1, V::cvt(hi), ml1), 1);
        }
      }
    }
  }
  // Q6_K {u8 ql[128]; u8 qh[64]; i8 sc[16]; f16 d}: x = (d * sc) * (q6 - 32), 16 sub-blocks of 16.
  // Per half of 128 elements, ql[l] holds the low 4 bits of elements l (low nibble) and l + 64
  // (high), ql[l + 32] those of l + 32 and l + 96, and qh[l] the top 2 bits of l, l + 32, l + 64,
  // l + 96 (bits 0-1, 2-3, 4-5, 6-7): each byte is loaded once for its 2 or 4 elements.
  template <class S>
  static void q6_k(const uint8_t* b, int64_t n, S& s) {
    for (int64_t i = 0; i < n; i += 256, b += 210) {
      const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
      const float d = quant::load_fp16(b + 208);
      for (int half = 0; half < 2; ++half) {
        const uint8_t* ql = b + 64 * half;
        const uint8_t* qh = b + 128 + 32 * half;
        const int8_t* sh = sc + 8 * half;
        const int64_t o = i + 128 * half;
        for (int l = 0; l < 32; l += W) {
          const auto a = V::u8(ql + l), c = V::u8(ql + 32 + l), h = V::u8(qh + l);
          const int si = l / 16;  // sub-block of element l within each 32-group
          const auto q0 = V::or_i(V::and_i(a, 0x0F), V::sll(V::and_i(h, 3), 4));
          const auto q1 = V::or_i(V::and_i(c, 0x0F), V::sll(V::and_i(V::srl(h, 2), 3), 4));
          const auto q2 = V::or_i(V::srl(a, 4), V::sll(V::and_i(V::srl(h, 4), 3), 4));
          const auto q3 = V::or_i(V::srl(c, 4), V::sll(V::srl(h, 6), 4));
          s.vec(o + l, V::mul(V::set1(d * static_cast<float>(sh[si])), V::cvt(V::sub_i(q0, 32))), 0);
          s.vec(o + 32 + l, V::mul(V::set1(d * static_cast<float>(sh[2 + si])), V::cvt(V::sub_i(q1, 32))), 1);
          s.vec(o + 64 + l, V::mul(V::set1(d * static_cast<float>(sh[4 + si])), V::cvt(V::sub_i(q2, 32))), 2);
          s.vec(o + 96 + l, V::mul(V::set1(d * static_cast<float>(sh[6 + si])), V::cvt(V::sub_i(q3, 32))), 3);
        }
      }
    }
  }
  template <class S>
  static void f16(const uint8_t* b, int64_t n, S& s) {
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
      s.vec(i, V::f16(b + 2 * i), 0);
      s.vec(i + W, V::f16(b + 2 * (i + W)), 1);
    }
    for (; i + W <= n; i += W) s.vec(i, V::f16(b + 2 * i), 0);
    for (; i < n; ++i) s.one(i, quant::fp16_to_f32(quant::load_u16(b + 2 * i)));
  }
  template <class S>
  static void bf16(const uint8_t* b, int64_t n, S& s) {
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
      s.vec(i, V::bf16(b + 2 * i), 0);
      s.vec(i + W, V::bf16(b + 2 * (i + W)), 1);
    }
    for (; i + W <= n; i += W) s.vec(i, V::bf16(b + 2 * i), 0);
    for (; i < n; ++i) {
      const uint32_t bits = static_cast<uint32_t>(quant::load_u16(b + 2 * i)) << 16;
      float f;
      std::memcpy(&f, &bits, 4);
      s.one(i, f);
    }
  }
  // OCP FP8 E4M3 (bias 7, no infinities, S.1111.111 NaN) as quant::fp8_e4m3_to_f32: normals by
  // moving exponent and mantissa into place (exponent + 120), subnormals m * 2^-9 (exact).
  static F e4m3(const uint8_t* p) {
    const auto v = V::u8(p);
    const auto mag = V::and_i(v, 0x7F), sign = V::sll(V::and_i(v, 0x80), 24);
    const auto normal = V::sub_i(V::sll(mag, 20), -(120 << 23));
    const auto subnormal = V::as_i(V::mul(V::cvt(mag), V::set1(1.0f / 512.0f)));
    auto bits = V::blend_lt(mag, 8, subnormal, normal);
    bits = V::blend_eq(mag, 0x7F, V::set_i(0x7FC00000), bits);
    return V::as_f(V::or_i(bits, sign));
  }
  template <class S>
  static void f8_e4m3(const uint8_t* b, int64_t n, S& s) {
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
      s.vec(i, e4m3(b + i), 0);
      s.vec(i + W, e4m3(b + i + W), 1);
    }
    for (; i + W <= n; i += W) s.vec(i, e4m3(b + i), 0);
    for (; i < n; ++i) s.one(i, quant::fp8_e4m3_to_f32(b[i]));
  }
  template <class S>
  static void f32(const uint8_t* b, int64_t n, S& s) {
    const auto* w = reinterpret_cast<const float*>(b);
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
      s.vec(i, V::load(w + i), 0);
      s.vec(i + W, V::load(w + i + W), 1);
    }
    for (; i + W <= n; i += W) s.vec(i, V::load(w + i), 0);
    for (; i < n; ++i) s.one(i, w[i]);
  }

  // Calls fn(decoder) with the decoder of `type` as a generic lambda argument; false if none.
  template <class Fn>
  static bool with(TensorType type, Fn&& fn) {
    switch (type) {
      case TensorType::Q8_0: fn([](const uint8_t* b, int64_t n, auto& s) { q8_0(b, n, s); }); return true;
      case TensorType::Q4_0: fn([](const uint8_t* b, int64_t n, auto& s) { q4_0(b, n, s); }); return true;
      case TensorType::Q5_0: fn([](const uint8_t* b, int64_t n, auto& s) { q5_0(b, n, s); }); return true;
      case TensorType::Q4_K: fn([](const uint8_t* b, int64_t n, auto& s) { k_affine<false>(b, n, s); }); return true;
      case TensorType::Q5_K: fn([](const uint8_t* b, int64_t n, auto& s) { k_affine<true>(b, n, s); }); return true;
      case TensorType::Q6_K: fn([](const uint8_t* b, int64_t n, auto& s) { q6_k(b, n, s); }); return true;
      case TensorType::F16: fn([](const uint8_t* b, int64_t n, auto& s) { f16(b, n, s); }); return true;
      case TensorType::BF16: fn([](const uint8_t* b, int64_t n, auto& s) { bf16(b, n, s); }); return true;
      case TensorType::F32: fn([](const uint8_t* b, int64_t n, auto& s) { f32(b, n, s); }); return true;
      case TensorType::F8_E4M3: fn([](const uint8_t* b, int64_t n, auto& s) { f8_e4m3(b, n, s); }); return true;
      default: return false;
    }
  }
};

template <class V>
struct Kernels {
  using F = typename V::F;
  static constexpr int W = V::W;

  struct StoreSink {
    float* dst;
    void vec(int64_t i, F w, int) { V::store(dst + i, w); }
    void one(int64_t i, float w) { dst[i] = w; }
  };

  static bool decode(TensorType type, const uint8_t* src, int64_t n, float* dst) {
    if (type == TensorType::F32) return false;  // used in place
    return Decode<V>::with(type, [&](auto dec) {
      StoreSink s{dst};
      dec(src, n, s);
    });
  }

  // acc[t][slot] += w · x_t[i, i + W): NT tokens, 4 independent chains each.
  template <int NT>
  struct DotSink {
    const float* x;
    int64_t ldx;
    F acc[NT][4];
    float tail[NT];
    void vec(int64_t i, F w, int slot) {
      for (int t = 0; t < NT; ++t) acc[t][slot] = V::fma(w, V::load(x + t * ldx + i), acc[t][slot]);
    }
    void one(int64_t i, float w) {
      for (int t = 0; t < NT; ++t) tail[t] += w * x[t * ldx + i];
    }
  };

  template <int NT, class Dec>
  static void gemv_nt(Dec dec, const uint8_t* w, size_t row_bytes, int64_t nr, int64_t cols, const float* x, float* y,
                      int64_t ldy) {
    for (int64_t r = 0; r < nr; ++r) {
      const uint8_t* row = w + static_cast<size_t>(r) * row_bytes;
      if (r + 1 < nr) {  // the whole next row (up to 4 KiB): measured 1.7x on a streamed Q8_0 gemv over 512 bytes
        const uint8_t* next = row + row_bytes;
        for (size_t o = 0; o < std::min<size_t>(row_bytes, 4096); o += 64) __builtin_prefetch(next + o);
      }
      DotSink<NT> s{x, cols, {}, {}};
      for (int t = 0; t < NT; ++t) {
        s.acc[t][0] = s.acc[t][1] = s.acc[t][2] = s.acc[t][3] = V::zero();
        s.tail[t] = 0.0f;
      }
      dec(row, cols, s);
      for (int t = 0; t < NT; ++t)
        y[t * ldy + r] =
            V::hsum(V::add(V::add(s.acc[t][0], s.acc[t][1]), V::add(s.acc[t][2], s.acc[t][3]))) + s.tail[t];
    }
  }

  static bool gemv(TensorType type, const uint8_t* w, size_t row_bytes, int64_t nr, int64_t cols, const float* x,
                   int64_t nt, float* y, int64_t ldy) {
    return Decode<V>::with(type, [&](auto dec) {
      switch (nt) {
        case 1: gemv_nt<1>(dec, w, row_bytes, nr, cols, x, y, ldy); break;
        case 2: gemv_nt<2>(dec, w, row_bytes, nr, cols, x, y, ldy); break;
        case 3: gemv_nt<3>(dec, w, row_bytes, nr, cols, x, y, ldy); break;
        default: gemv_nt<4>(dec, w, row_bytes, nr, cols, x, y, ldy); break;
      }
    });
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

  // gemm_nn: C = A · B with B's rows contiguous along C's columns (kernels.h). A tile of MR rows
  // x NV vectors of columns: per step of k, NV loads of B and MR broadcasts of A feed MR * NV
  // fused multiply-adds, no horizontal sums (the attention products, whose k is a head dim).
  template <int MR, int NV>
  static void tile_nn(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t k, float* c, int64_t ldc) {
    F acc[MR][NV];
    for (int i = 0; i < MR; ++i)
      for (int v = 0; v < NV; ++v) acc[i][v] = V::zero();
    for (int64_t p = 0; p < k; ++p) {
      F bv[NV];
      for (int v = 0; v < NV; ++v) bv[v] = V::load(b + p * ldb + v * W);
      for (int i = 0; i < MR; ++i) {
        const F av = V::set1(a[i * lda + p]);
        for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(av, bv[v], acc[i][v]);
      }
    }
    for (int i = 0; i < MR; ++i)
      for (int v = 0; v < NV; ++v) V::store(c + i * ldc + v * W, acc[i][v]);
  }

  template <int NV>
  static void rows_nn(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t m, int64_t k, float* c,
                      int64_t ldc) {
    constexpr int kMr = 6;
    int64_t i = 0;
    for (; i + kMr <= m; i += kMr) tile_nn<kMr, NV>(a + i * lda, lda, b, ldb, k, c + i * ldc, ldc);
    switch (m - i) {
      case 5: tile_nn<5, NV>(a + i * lda, lda, b, ldb, k, c + i * ldc, ldc); break;
      case 4: tile_nn<4, NV>(a + i * lda, lda, b, ldb, k, c + i * ldc, ldc); break;
      case 3: tile_nn<3, NV>(a + i * lda, lda, b, ldb, k, c + i * ldc, ldc); break;
      case 2: tile_nn<2, NV>(a + i * lda, lda, b, ldb, k, c + i * ldc, ldc); break;
      case 1: tile_nn<1, NV>(a + i * lda, lda, b, ldb, k, c + i * ldc, ldc); break;
      default: break;
    }
  }

  static void gemm_nn(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t m, int64_t n, int64_t k,
                      float* c, int64_t ldc) {
    int64_t j = 0;
    for (; j + 2 * W <= n; j += 2 * W) rows_nn<2>(a, lda, b + j, ldb, m, k, c + j, ldc);
    for (; j + W <= n; j += W) rows_nn<1>(a, lda, b + j, ldb, m, k, c + j, ldc);
    if (j == n) return;
    // The last columns (fewer than a vector; attention's key count is any number): B's columns
    // copied zero-padded to one vector's width, multiplied by the same tiles, the valid columns kept.
    const int64_t nt = n - j;
    thread_local std::vector<float> bt, ct;
    bt.assign(static_cast<size_t>(k * W), 0.0f);
    ct.resize(static_cast<size_t>(m * W));
    for (int64_t p = 0; p < k; ++p) std::copy_n(b + p * ldb + j, nt, bt.data() + p * W);
    rows_nn<1>(a, lda, bt.data(), W, m, k, ct.data(), W);
    for (int64_t i = 0; i < m; ++i) std::copy_n(ct.data() + i * W, nt, c + i * ldc + j);
  }

  static bool has_gemv(TensorType type) {
    return Decode<V>::with(type, [](auto) {});
  }

  static const KernelTable* table(Isa isa) {
    static const KernelTable t{isa, has_gemv, gemv, decode, gemm_f32, gemm_nn};
    return &t;
  }
};

}  // namespace schwarm::cpu::simd

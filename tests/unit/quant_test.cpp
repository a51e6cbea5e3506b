// src/quant/: dequantizers bit-exact against gguf-py / ml_dtypes fixtures (tools/fixtures/
// make_quant_fixtures.py), quantizers bit-exact against ggml's reference where it exists and
// within format-derived error bounds on fresh random data otherwise, FP8 block-scaled weights,
// the 8-bit activation quantizer of the quantized-activations mode, and the registry's size
// arithmetic.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/tensor_type.h"
#include "io/tensor_view.h"
#include "quant/act_q8k.h"
#include "quant/fp8_block.h"
#include "schwarm/error.h"

using namespace schwarm;

namespace {

const std::string kDir = std::string(SCHWARM_TEST_DATA_DIR) + "/quant/";
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::vector<uint8_t> read_bytes(const std::string& name) {
  std::ifstream f(kDir + name, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open fixture " + kDir + name);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::vector<float> read_floats(const std::string& name) {
  const std::vector<uint8_t> b = read_bytes(name);
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

const nlohmann::json& manifest() {
  static const nlohmann::json m = [] {
    std::ifstream f(kDir + "manifest.json");
    return nlohmann::json::parse(f);
  }();
  return m;
}

TensorType type_named(const std::string& name) {
  const auto t = tensor_type_from_name(name);
  if (!t) throw std::runtime_error("unknown type in manifest: " + name);
  return *t;
}

// Bit-for-bit equality of two float arrays, NaN payloads included - except where any_nan is set:
// then a NaN reference accepts any NaN (ml_dtypes turns every FP8 E5M2 NaN into one canonical NaN,
// while schwarm keeps the payload, as the f16 conversion does). Reports the first mismatches.
void expect_same_floats(const std::vector<float>& want, const std::vector<float>& got,
                        const std::string& what, bool any_nan = false) {
  ASSERT_EQ(want.size(), got.size()) << what;
  int bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const uint32_t a = std::bit_cast<uint32_t>(want[i]), b = std::bit_cast<uint32_t>(got[i]);
    const bool ok = a == b || (any_nan && std::isnan(want[i]) && std::isnan(got[i]));
    if (!ok && ++bad <= 5)
      ADD_FAILURE() << what << " element " << i << ": want " << want[i] << " (0x" << std::hex << a
                    << ") got " << got[i] << " (0x" << b << std::dec << ")";
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << want.size() << " elements differ";
}

}  // namespace

// ---- (a) dequantize vs the Python references --------------------------------------------------

TEST(QuantDequantize, MatchesReferenceFixturesBitForBit) {
  const auto& cases = manifest().at("dequantize");
  ASSERT_GE(cases.size(), 20u);
  for (const auto& [name, c] : cases.items()) {
    SCOPED_TRACE(name);
    const TensorType t = type_named(name);
    const TypeTraits& tr = type_traits(t);
    ASSERT_NE(tr.dequantize, nullptr);
    const int64_t n = c.at("n").get<int64_t>();
    ASSERT_EQ(tr.block_size, c.at("block_size").get<int64_t>());
    const std::vector<uint8_t> in = read_bytes(c.at("input").get<std::string>());
    const std::vector<int64_t> shape{n};
    ASSERT_EQ(tensor_nbytes(t, shape), std::optional<uint64_t>(in.size()));
    const std::vector<float> want = read_floats(c.at("expected").get<std::string>());
    std::vector<float> got(static_cast<size_t>(n), kNaN);  // (c) poisoned
    tr.dequantize(in.data(), got.data(), n);
    expect_same_floats(want, got, name, /*any_nan=*/name == "F8_E5M2");
  }
}

TEST(QuantDequantize, BlockByBlockEqualsWholeTensor) {
  // Dequantizing one block at a time from unaligned offsets gives the same floats.
  for (const char* name : {"Q4_0", "Q5_1", "Q2_K", "Q3_K", "Q5_K", "Q6_K"}) {
    SCOPED_TRACE(name);
    const auto& c = manifest().at("dequantize").at(name);
    const TypeTraits& tr = type_traits(type_named(name));
    const std::vector<uint8_t> in = read_bytes(c.at("input").get<std::string>());
    const std::vector<float> want = read_floats(c.at("expected").get<std::string>());
    const int64_t nblocks = c.at("n").get<int64_t>() / tr.block_size;
    std::vector<uint8_t> shifted(tr.block_bytes + 1);
    std::vector<float> got(static_cast<size_t>(tr.block_size));
    for (int64_t b = 0; b < nblocks; ++b) {
      std::memcpy(shifted.data() + 1, in.data() + b * static_cast<int64_t>(tr.block_bytes),
                  tr.block_bytes);
      std::fill(got.begin(), got.end(), kNaN);
      tr.dequantize(shifted.data() + 1, got.data(), tr.block_size);
      expect_same_floats(std::vector<float>(want.begin() + b * tr.block_size,
                                            want.begin() + (b + 1) * tr.block_size),
                         got, std::string(name) + " block " + std::to_string(b));
    }
  }
}

// ---- (b) quantize ----------------------------------------------------------------------------

TEST(QuantQuantize, LegacyMatchesGgmlReferenceQuantizerBitForBit) {
  const auto& cases = manifest().at("quantize");
  ASSERT_EQ(cases.size(), 5u);
  for (const auto& [name, c] : cases.items()) {
    SCOPED_TRACE(name);
    const TypeTraits& tr = type_traits(type_named(name));
    ASSERT_NE(tr.quantize, nullptr);
    const std::vector<float> x = read_floats(c.at("input").get<std::string>());
    const std::vector<uint8_t> want = read_bytes(c.at("expected").get<std::string>());
    const int64_t n = static_cast<int64_t>(x.size());
    std::vector<uint8_t> got(want.size(), 0xFF);  // poisoned
    tr.quantize(x.data(), got.data(), n);
    int64_t first_bad = -1;
    for (size_t i = 0; i < want.size() && first_bad < 0; ++i)
      if (want[i] != got[i]) first_bad = static_cast<int64_t>(i);
    EXPECT_EQ(first_bad, -1) << name << ": first differing byte " << first_bad << " (block "
                             << first_bad / static_cast<int64_t>(tr.block_bytes) << ")";
    // And so quantize -> dequantize agrees with gguf-py's quantize -> dequantize.
    std::vector<float> a(x.size(), kNaN), b(x.size(), kNaN);
    tr.dequantize(want.data(), a.data(), n);
    tr.dequantize(got.data(), b.data(), n);
    expect_same_floats(a, b, name + std::string(" round trip"));
  }
}

namespace {

// Per-element error bound for one quantization block of x (A = absmax, R = max - min of the
// block), derived from the format and the quantizer: half a quantization step, plus the f16
// rounding of the stored scale/min times the largest code, plus - for the K-quants - the 6/8-bit
// rounding of sub-block scales, which the quantizer rounds up (see quantize_k.cpp).
double error_bound(TensorType t, const float* x, int64_t n) {
  double a = 0, mn = x[0], mx = x[0];
  for (int64_t i = 0; i < n; ++i) {
    a = std::max(a, std::fabs(static_cast<double>(x[i])));
    mn = std::min(mn, static_cast<double>(x[i]));
    mx = std::max(mx, static_cast<double>(x[i]));
  }
  const double r = mx - mn;
  // Error of rounding v to f16 to nearest: half an ulp, relative 2^-11 for normal halves and
  // absolute 2^-25 for subnormal ones (small blocks get subnormal scales).
  auto f16_err = [](double v) {
    return std::max(std::fabs(v) * std::ldexp(1.0, -11), std::ldexp(1.0, -25));
  };
  // An f16 super-scale rounded UP to cover v: at most one ulp above v.
  auto f16_up = [](double v) { return v * (1 + std::ldexp(1.0, -10)) + std::ldexp(1.0, -24); };
  const double slop = a * std::ldexp(1.0, -20);  // f32 rounding in the dequantizer's products
  switch (t) {
    case TensorType::Q8_0:
      return a / 254 + 127 * f16_err(a / 127) + slop;  // d/2 + 127 * err(d)
    // Codes -8..7 (-16..15) of d = -max/8 (/16): the far side clamps by up to |d|.
    case TensorType::Q4_0:
      return a / 8 + 8 * f16_err(a / 8) + slop;
    case TensorType::Q5_0:
      return a / 16 + 16 * f16_err(a / 16) + slop;
    // d/2 + 15 * err(d) + err(min), d = R/15 (R/31).
    case TensorType::Q4_1:
      return r / 30 + 15 * f16_err(r / 15) + f16_err(mn) + slop;
    case TensorType::Q5_1:
      return r / 62 + 31 * f16_err(r / 31) + f16_err(mn) + slop;
    case TensorType::Q4_K:
    case TensorType::Q5_K: {
      // ((range_j + dmin)/nmax + d)/2 with range_j <= 2A, dmin <= up(A/63), d <= up(need/63).
      const double nmax = t == TensorType::Q4_K ? 15 : 31;
      const double dmin = f16_up(a / 63), need = (2 * a + dmin) / nmax, d = f16_up(need / 63);
      return (need + d) / 2 + slop;
    }
    case TensorType::Q6_K:
      return (a / 31 + f16_up(a / 31 / 127)) / 2 + slop;  // (A/31 + d)/2
    case TensorType::Q8_K:
      return a / 254 + slop;  // |d|/2, d = A/127 kept in f32
    default:
      return 0;
  }
}

const TensorType kQuantizable[] = {TensorType::Q8_0, TensorType::Q4_0, TensorType::Q4_1,
                                   TensorType::Q5_0, TensorType::Q5_1, TensorType::Q4_K,
                                   TensorType::Q5_K, TensorType::Q6_K, TensorType::Q8_K};

}  // namespace

TEST(QuantQuantize, RoundTripWithinFormatBoundsOnFreshRandomData) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("random seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (TensorType t : kQuantizable) {
    const TypeTraits& tr = type_traits(t);
    SCOPED_TRACE(std::string(tr.name));
    ASSERT_NE(tr.quantize, nullptr);
    const int64_t bs = tr.block_size, nblocks = 48, n = bs * nblocks;
    std::vector<float> x(static_cast<size_t>(n));
    for (int64_t b = 0; b < nblocks; ++b) {
      // Each block gets its own magnitude (0.1 .. 100, keeping the f16 scales normal) and shape:
      // symmetric, all positive, all negative, mostly small with outliers, or Gaussian.
      const double scale = std::pow(10.0, std::uniform_real_distribution<double>(-1, 2)(rng));
      std::uniform_real_distribution<double> uni(-scale, scale);
      std::normal_distribution<double> gauss(0, scale / 3);
      const int kind = static_cast<int>(b % 5);
      for (int64_t i = 0; i < bs; ++i) {
        double v = kind == 4 ? gauss(rng) : uni(rng);
        if (kind == 1) v = std::fabs(v);
        if (kind == 2) v = -std::fabs(v);
        if (kind == 3 && i % 37 != 0) v *= 0.01;
        x[static_cast<size_t>(b * bs + i)] = static_cast<float>(v);
      }
    }
    std::vector<uint8_t> q(static_cast<size_t>(nblocks) * tr.block_bytes, 0xFF);  // poisoned
    std::vector<float> y(static_cast<size_t>(n), kNaN);                           // poisoned
    tr.quantize(x.data(), q.data(), n);
    tr.dequantize(q.data(), y.data(), n);
    int bad = 0;
    double worst = 0;  // largest error / bound seen
    for (int64_t b = 0; b < nblocks; ++b) {
      const float* xb = x.data() + b * bs;
      const double bound = error_bound(t, xb, bs);
      ASSERT_GT(bound, 0.0);
      for (int64_t i = 0; i < bs; ++i) {
        const float yi = y[static_cast<size_t>(b * bs + i)];
        const double err = std::fabs(static_cast<double>(yi) - xb[i]);
        worst = std::max(worst, err / bound);
        if (!(err <= bound) && ++bad <= 5)
          ADD_FAILURE() << "block " << b << " element " << i << ": x=" << xb[i] << " y=" << yi
                        << " err=" << err << " > bound " << bound;
      }
    }
    EXPECT_EQ(bad, 0);
    std::printf("  %-5s worst error / bound = %.3f\n", std::string(tr.name).c_str(), worst);
    // The bound must not be vacuous: some element comes within a factor 4 of it.
    EXPECT_GT(worst, 0.25) << "bound is far looser than the observed error";
  }
}

TEST(QuantQuantize, KQuantsAreNoWorseThanLegacyOfTheSameWidth) {
  // A quality guard beyond the max-error bounds: on Gaussian weights the K-quantizers' RMS error
  // must not exceed that of ggml's legacy quantizer with as many bits per code.
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("random seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss(0, 1);
  std::vector<float> x(256 * 256);
  for (float& v : x) v = gauss(rng);
  auto rmse = [&](TensorType t) {
    const TypeTraits& tr = type_traits(t);
    const int64_t n = static_cast<int64_t>(x.size());
    std::vector<uint8_t> q(static_cast<size_t>(n / tr.block_size) * tr.block_bytes);
    std::vector<float> y(x.size(), kNaN);
    tr.quantize(x.data(), q.data(), n);
    tr.dequantize(q.data(), y.data(), n);
    double se = 0;
    for (size_t i = 0; i < x.size(); ++i) se += (double{y[i]} - x[i]) * (double{y[i]} - x[i]);
    return std::sqrt(se / static_cast<double>(n));
  };
  EXPECT_LT(rmse(TensorType::Q4_K), rmse(TensorType::Q4_1));
  EXPECT_LT(rmse(TensorType::Q5_K), rmse(TensorType::Q5_1));
  EXPECT_LT(rmse(TensorType::Q6_K), 4 * rmse(TensorType::Q8_0));  // two bits fewer: 4x the step
}

TEST(QuantQuantize, ZeroAndConstantBlocks) {
  for (TensorType t : kQuantizable) {
    const TypeTraits& tr = type_traits(t);
    SCOPED_TRACE(std::string(tr.name));
    for (float v : {0.0f, 0.5f, -3.0f}) {
      std::vector<float> x(static_cast<size_t>(tr.block_size), v), y(x.size(), kNaN);
      std::vector<uint8_t> q(tr.block_bytes, 0xFF);
      tr.quantize(x.data(), q.data(), tr.block_size);
      tr.dequantize(q.data(), y.data(), tr.block_size);
      const double bound = error_bound(t, x.data(), tr.block_size);
      for (size_t i = 0; i < y.size(); ++i) {
        ASSERT_LE(std::fabs(static_cast<double>(y[i]) - v), bound) << "v=" << v;
        if (v == 0.0f) {
          ASSERT_EQ(y[i], 0.0f);
        }
      }
    }
  }
}

TEST(QuantQuantize, NonFiniteInputIsSafe) {
  // The codes are unspecified, but quantizing NaN / inf must stay inside the block and not hit
  // undefined float -> int conversions (run under the sanitizer build).
  const float inf = std::numeric_limits<float>::infinity();
  for (TensorType t : kQuantizable) {
    const TypeTraits& tr = type_traits(t);
    SCOPED_TRACE(std::string(tr.name));
    std::vector<float> x(static_cast<size_t>(tr.block_size) * 3, 1.0f), y(x.size(), kNaN);
    x[1] = kNaN;                                                               // block 0: one NaN
    std::fill(x.begin() + tr.block_size, x.begin() + 2 * tr.block_size, inf);  // block 1: all inf
    x[static_cast<size_t>(2 * tr.block_size + 3)] = -inf;                      // block 2: one -inf
    std::vector<uint8_t> q(3 * tr.block_bytes + 1, 0xAB);
    tr.quantize(x.data(), q.data(), static_cast<int64_t>(x.size()));
    EXPECT_EQ(q.back(), 0xAB) << "wrote past the last block";
    tr.dequantize(q.data(), y.data(), static_cast<int64_t>(y.size()));
  }
}

TEST(QuantQuantize, HalfAndBFloat16RoundTrip) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("random seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uni(-70000.0f, 70000.0f);
  std::vector<float> x(4096);
  for (float& v : x) v = uni(rng) * std::pow(10.0f, -static_cast<float>(rng() % 8));
  for (TensorType t : {TensorType::F16, TensorType::BF16}) {
    const TypeTraits& tr = type_traits(t);
    SCOPED_TRACE(std::string(tr.name));
    const bool half = t == TensorType::F16;
    const double rel = half ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8);  // half an ulp
    std::vector<uint8_t> q(x.size() * 2, 0xFF);
    std::vector<float> y(x.size(), kNaN);
    tr.quantize(x.data(), q.data(), static_cast<int64_t>(x.size()));
    tr.dequantize(q.data(), y.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      const double err = std::fabs(static_cast<double>(y[i]) - x[i]);
      if (half && std::fabs(x[i]) >= 65520.0f)
        ASSERT_TRUE(std::isinf(y[i])) << x[i];
      else if (half && std::fabs(x[i]) < std::ldexp(1.0f, -14))
        ASSERT_LE(err, std::ldexp(1.0, -25)) << x[i];  // subnormal half: absolute half-ulp
      else
        ASSERT_LE(err, rel * std::fabs(x[i])) << x[i];
    }
    // Every non-NaN half / bfloat16 survives dequantize -> quantize unchanged.
    std::vector<uint8_t> all(65536 * 2), back(65536 * 2, 0xFF);
    for (uint32_t h = 0; h < 65536; ++h) std::memcpy(&all[h * 2], &h, 2);
    std::vector<float> f(65536, kNaN);
    tr.dequantize(all.data(), f.data(), 65536);
    tr.quantize(f.data(), back.data(), 65536);
    for (uint32_t h = 0; h < 65536; ++h) {
      if (std::isnan(f[h])) continue;
      ASSERT_EQ(std::memcmp(&all[h * 2], &back[h * 2], 2), 0) << "0x" << std::hex << h;
    }
  }
}

// ---- (d) FP8 block-scaled --------------------------------------------------------------------

namespace {
TensorView view(std::string name, TensorType t, std::vector<int64_t> shape,
                const std::vector<uint8_t>& bytes) {
  TensorView v;
  v.name = std::move(name);
  v.type = t;
  v.shape = std::move(shape);
  v.data = std::span<const uint8_t>(bytes.data(), bytes.size());
  return v;
}
}  // namespace

TEST(QuantFp8BlockScaled, MatchesReferenceFixtures) {
  const auto& cases = manifest().at("fp8_block_scaled");
  ASSERT_EQ(cases.size(), 2u);
  for (const auto& c : cases) {
    const int64_t rows = c.at("rows"), cols = c.at("cols"), b = c.at("block");
    SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(cols) + " block " + std::to_string(b));
    const std::vector<uint8_t> w = read_bytes(c.at("weight").get<std::string>());
    const std::vector<uint8_t> s = read_bytes(c.at("scale").get<std::string>());
    const TensorType st = type_named(c.at("scale_type").get<std::string>());
    const TensorView wv = view("w", TensorType::F8_E4M3, {rows, cols}, w);
    const TensorView sv = view("w_scale_inv", st, {(rows + b - 1) / b, (cols + b - 1) / b}, s);
    std::vector<float> got(static_cast<size_t>(rows * cols), kNaN);
    dequantize_fp8_block_scaled(wv, sv, got.data(), b);
    expect_same_floats(read_floats(c.at("expected").get<std::string>()), got, "fp8 block-scaled");
  }
}

TEST(QuantFp8BlockScaled, PartialBlocksUseTheirTileScale) {
  // [200, 300] with 128-blocks: tiles 2 x 3, the last row and column of tiles partial. Each tile's
  // scale is a distinct power of two, so every element must equal fp8(w) * its own tile's scale,
  // with fp8(w) from the element-wise dequantizer (itself checked against ml_dtypes above).
  const int64_t rows = 200, cols = 300;
  std::vector<uint8_t> w(static_cast<size_t>(rows * cols));
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<uint8_t>((i * 7919u) >> 3);
  std::vector<float> scales(6);
  for (int i = 0; i < 6; ++i) scales[static_cast<size_t>(i)] = std::ldexp(1.0f, i - 3);
  std::vector<uint8_t> sbytes(scales.size() * 4);
  std::memcpy(sbytes.data(), scales.data(), sbytes.size());
  std::vector<float> plain(w.size(), kNaN), got(w.size(), kNaN);
  type_traits(TensorType::F8_E4M3).dequantize(w.data(), plain.data(), rows * cols);
  dequantize_fp8_block_scaled(view("w", TensorType::F8_E4M3, {rows, cols}, w),
                              view("s", TensorType::F32, {2, 3}, sbytes), got.data());
  std::vector<float> want(w.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const size_t i = static_cast<size_t>(r * cols + c);
      want[i] = plain[i] * scales[static_cast<size_t>((r / 128) * 3 + c / 128)];
    }
  expect_same_floats(want, got, "200x300");
}

TEST(QuantFp8BlockScaled, RejectsMismatchedScaleShapeNamingBothTensors) {
  std::vector<uint8_t> w(200 * 300, 0x38), s(2 * 2 * 4, 0);
  std::vector<float> out(w.size());
  const TensorView wv = view("layers.0.mlp.down_proj.weight", TensorType::F8_E4M3, {200, 300}, w);
  try {
    dequantize_fp8_block_scaled(
        wv, view("layers.0.mlp.down_proj.weight_scale_inv", TensorType::F32, {2, 2}, s),
        out.data());
    FAIL() << "no error for a [2, 2] scale of a [200, 300] weight";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("'layers.0.mlp.down_proj.weight'"), std::string::npos) << m;
    EXPECT_NE(m.find("'layers.0.mlp.down_proj.weight_scale_inv'"), std::string::npos) << m;
    EXPECT_NE(m.find("[2, 3]"), std::string::npos) << m;
  }
  // Wrong scale dtype, wrong weight dtype, wrong byte counts, wrong rank, bad block size.
  std::vector<uint8_t> s6(6 * 4, 0), s6h(6 * 2, 0);
  auto run = [&](const TensorView& wt, const TensorView& sc, int64_t block = 128) {
    dequantize_fp8_block_scaled(wt, sc, out.data(), block);
  };
  EXPECT_THROW(run(wv, view("s", TensorType::F16, {2, 3}, s6h)), Error);
  EXPECT_THROW(
      run(view("w", TensorType::U8, {200, 300}, w), view("s", TensorType::F32, {2, 3}, s6)), Error);
  EXPECT_THROW(run(wv, view("s", TensorType::F32, {2, 3}, s6h)), Error);
  EXPECT_THROW(run(wv, view("s", TensorType::F32, {6}, s6)), Error);
  EXPECT_THROW(run(wv, view("s", TensorType::F32, {2, 3}, s6), 0), Error);
  EXPECT_NO_THROW(run(wv, view("s", TensorType::BF16, {2, 3}, s6h)));
}

// ---- (e) registry -----------------------------------------------------------------------------

// The activation quantizer (quant/act_q8k.h) on fresh random rows with a wide spread of block
// magnitudes: codes in [-127, 127], the block's largest |x| at ±127, every element within d/2 of
// x, the 16-element sums equal to the codes' sums, and the round trip equal to d * q; so a dot
// product with any w moves by at most Σ_blocks d/2 · Σ|w|, checked in double.
TEST(QuantActQ8K, WithinHalfAStepAndConsistent) {
  const uint32_t seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int rep = 0; rep < 50; ++rep) {
    // Whole blocks, or a last block shorter than 256 (rows of the 32-block types, e.g. 1408).
    const int64_t cols = rep % 2 == 0 ? 4 * 256 : 3 * 256 + 32 * static_cast<int64_t>(1 + rng() % 7);
    const int64_t nb = quant::act_q8k_blocks(cols);
    std::vector<float> x(cols), w(cols), xhat(cols);
    std::vector<int8_t> q(cols);
    std::vector<float> d(nb);
    std::vector<int16_t> bs(cols / 16);
    for (int64_t b = 0; b < nb; ++b) {
      const float scale = std::ldexp(1.0f, static_cast<int>(rng() % 40) - 20);
      for (int64_t i = b * 256; i < std::min(cols, (b + 1) * 256); ++i) x[i] = nd(rng) * scale;
    }
    for (float& v : w) v = nd(rng);
    quant::quantize_act_q8k(x.data(), cols, q.data(), d.data(), bs.data());
    quant::round_trip_act_q8k(x.data(), cols, xhat.data());
    // |x - x̂| <= d / 2 up to float rounding: 127 / amax, x · (127 / amax), amax / 127 and d · q are
    // each rounded (2^-24 relative) on values up to 127 steps, so a step of slack 4 · 127 · 2^-24
    // (seen: 5.19559 against a bound 0.5 · d · (1 + 1e-5) = 5.19558).
    const double slack = 4 * 127 * std::ldexp(1.0, -24);
    double moved = 0, bound = 0;
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t end = std::min(cols, (b + 1) * 256);
      float amax = 0;
      int qmax = 0;
      double wabs = 0;
      for (int64_t i = b * 256; i < end; ++i) {
        amax = std::max(amax, std::fabs(x[i]));
        qmax = std::max(qmax, std::abs(int{q[i]}));
        ASSERT_LE(std::abs(int{q[i]}), 127);
        ASSERT_EQ(xhat[i], d[b] * static_cast<float>(q[i])) << "element " << i << ", seed " << seed;
        ASSERT_LE(std::fabs(double(x[i]) - xhat[i]), (0.5 + slack) * d[b]) << "element " << i << ", seed " << seed;
        moved += double(w[i]) * (double(xhat[i]) - x[i]);
        wabs += std::fabs(w[i]);
      }
      EXPECT_EQ(qmax, 127) << "block " << b << ", seed " << seed;
      EXPECT_FLOAT_EQ(d[b], amax / 127.0f);
      bound += (0.5 + slack) * d[b] * wabs;
      for (int64_t j = 0; j < (end - b * 256) / 16; ++j) {
        int sum = 0;
        for (int64_t i = 0; i < 16; ++i) sum += q[b * 256 + 16 * j + i];
        EXPECT_EQ(bs[b * 16 + j], sum);
      }
    }
    EXPECT_LE(std::fabs(moved), bound) << "seed " << seed;
  }
}

TEST(QuantActQ8K, ZeroAndNonFiniteBlocks) {
  std::vector<float> x(512, 0.0f), xhat(512, 1.0f);
  x[256 + 7] = kNaN;
  std::vector<int8_t> q(512, 5);
  std::vector<float> d(2);
  std::vector<int16_t> bs(32, 9);
  quant::quantize_act_q8k(x.data(), 512, q.data(), d.data(), bs.data());
  EXPECT_EQ(d[0], 0.0f);
  EXPECT_TRUE(std::isnan(d[1])) << "a NaN must poison its block, not vanish";
  for (int8_t v : q) EXPECT_EQ(v, 0);
  for (int16_t v : bs) EXPECT_EQ(v, 0);
  quant::round_trip_act_q8k(x.data(), 512, xhat.data());
  EXPECT_EQ(xhat[0], 0.0f);
  EXPECT_TRUE(std::isnan(xhat[300]));
  EXPECT_TRUE(quant::act_q8k_applies(TensorType::Q4_K, 256) && quant::act_q8k_applies(TensorType::Q6_K, 512));
  EXPECT_TRUE(quant::act_q8k_applies(TensorType::Q8_0, 2048) && quant::act_q8k_applies(TensorType::Q8_0, 1408) &&
              quant::act_q8k_applies(TensorType::Q5_0, 1408) && quant::act_q8k_applies(TensorType::Q4_0, 96));
  EXPECT_FALSE(quant::act_q8k_applies(TensorType::F32, 256) || quant::act_q8k_applies(TensorType::Q5_1, 256) ||
               quant::act_q8k_applies(TensorType::BF16, 256) || quant::act_q8k_applies(TensorType::Q8_0, 48));
}

// A block whose amax is so small that 127 / amax overflows to inf: zeros stay 0 (not a NaN cast to
// int8, undefined behaviour), the rest saturate at +-127, nothing is NaN. UBSan checks the cast.
TEST(QuantActQ8K, TinyAmaxBlockHasNoNaN) {
  std::vector<float> x(256, 0.0f), xhat(256, kNaN);
  x[3] = 1e-38f;
  x[9] = -5e-39f;
  std::vector<int8_t> q(256, 5);
  float d = 0;
  std::vector<int16_t> bs(16);
  quant::quantize_act_q8k(x.data(), 256, q.data(), &d, bs.data());
  EXPECT_EQ(q[0], 0);
  EXPECT_EQ(q[3], 127);
  EXPECT_EQ(q[9], -127);
  quant::round_trip_act_q8k(x.data(), 256, xhat.data());
  for (float v : xhat) EXPECT_FALSE(std::isnan(v));
  EXPECT_EQ(xhat[0], 0.0f);
}

TEST(QuantRegistry, EveryPromisedTypeHasDequantize) {
  using T = TensorType;
  for (T t : {T::F32,  T::F16,  T::BF16, T::Q8_0, T::Q4_0, T::Q4_1, T::Q5_0,    T::Q5_1,
              T::Q2_K, T::Q3_K, T::Q4_K, T::Q5_K, T::Q6_K, T::Q8_K, T::F8_E4M3, T::F8_E5M2,
              T::I8,   T::I16,  T::I32,  T::I64,  T::U8,   T::F64,  T::BOOL})
    EXPECT_NE(type_traits(t).dequantize, nullptr) << tensor_type_name(t);
  for (T t : {T::F32, T::F16, T::BF16, T::Q8_0, T::Q4_0, T::Q4_1, T::Q5_0, T::Q5_1, T::Q4_K,
              T::Q5_K, T::Q6_K, T::Q8_K})
    EXPECT_NE(type_traits(t).quantize, nullptr) << tensor_type_name(t);
  // Types without a routine say so with nullptr rather than a wrong one.
  EXPECT_EQ(type_traits(T::IQ2_XXS).dequantize, nullptr);
  EXPECT_EQ(type_traits(T::Q2_K).quantize, nullptr);
}

TEST(QuantRegistry, TensorNbytesEdgeCases) {
  using T = TensorType;
  using S = std::vector<int64_t>;
  using R = std::optional<uint64_t>;
  auto nb = [](T t, S s) { return tensor_nbytes(t, s); };
  EXPECT_EQ(nb(T::Q4_K, {3, 256}), R(3u * 144));
  EXPECT_EQ(nb(T::Q8_0, {2, 64}), R(4u * 34));
  EXPECT_EQ(nb(T::F8_E4M3, {200, 300}), R(60000u));
  EXPECT_EQ(nb(T::F32, {}), R(4u));                // a scalar
  EXPECT_EQ(nb(T::Q4_0, {0, 32}), R(0u));          // empty
  EXPECT_EQ(nb(T::Q4_0, {}), std::nullopt);        // a scalar is not a whole block
  EXPECT_EQ(nb(T::Q4_K, {3, 100}), std::nullopt);  // innermost not a multiple of 256
  EXPECT_EQ(nb(T::Q4_0, {32, 48}), std::nullopt);
  EXPECT_EQ(nb(T::F32, {-1, 4}), std::nullopt);
  EXPECT_EQ(nb(T::F32, {int64_t{1} << 40, int64_t{1} << 40}), std::nullopt);  // elements overflow
  EXPECT_EQ(nb(T::F32, {int64_t{1} << 62}), std::nullopt);                    // bytes overflow
  // (2^58 - 1) blocks fit in 2^63 elements, but not their 34 bytes each.
  EXPECT_EQ(nb(T::Q8_0, {(int64_t{1} << 58) - 1, 32}), std::nullopt);
  EXPECT_EQ(nb(T::Q8_0, {int64_t{1} << 61}), R((uint64_t{1} << 56) * 34));
  EXPECT_EQ(nb(static_cast<T>(999), {4}), std::nullopt);
}

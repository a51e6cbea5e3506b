// Self-checks of the ref backend that do not compare it with itself: each expected value is
// computed here by a different route (a direct formula, a naive decomposition, a hand-made
// example). The parity suite (backend_parity_test.cpp) then holds every other backend to ref.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <random>
#include <vector>

#include "backend/backend.h"
#include "backend/ref/op_common.h"
#include "backend/ref/owned_weight.h"
#include "schwarm/error.h"

namespace schwarm {
namespace {

std::vector<float> randn(std::mt19937& rng, size_t n, float sd = 1.0f) {
  std::normal_distribution<float> d(0.0f, sd);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

OwnedWeight f32(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& v) {
  return OwnedWeight::quantized(name, TensorType::F32, std::move(shape), v);
}

double rel_err(const std::vector<float>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

// A batch over contiguous pages: sequence s owns pages [first_page[s], ...).
struct TestBatch {
  std::vector<int32_t> seq, pos;
  std::vector<std::vector<int32_t>> pages;
  BatchLayout layout(int64_t page_tokens) const {
    BatchLayout b;
    b.n_tokens = static_cast<int64_t>(seq.size());
    b.seq = seq;
    b.pos = pos;
    for (const auto& p : pages) b.page_table.emplace_back(p);
    b.page_tokens = page_tokens;
    return b;
  }
};

TEST(RefBackend, RopeMatchesDirectFormula) {
  std::mt19937 rng(1);
  auto be = make_ref_backend();
  for (RopeStyle style : {RopeStyle::Halves, RopeStyle::Interleaved}) {
    const int64_t heads = 3, hd = 10;
    RopeSpec r;
    r.style = style;
    r.rot_dim = 6;  // partial rotation: dims 6..9 untouched
    r.attention_factor = 1.25f;
    for (int i = 0; i < 3; ++i) r.inv_freq.push_back(std::pow(1000.0f, -2.0f * i / 6));
    const std::vector<int32_t> pos = {0, 7, 4000};
    std::vector<float> x = randn(rng, pos.size() * heads * hd), orig = x;
    be->rope(x, heads, hd, pos, r);
    for (size_t t = 0; t < pos.size(); ++t)
      for (int64_t h = 0; h < heads; ++h) {
        const float* o = orig.data() + (t * heads + h) * hd;
        const float* y = x.data() + (t * heads + h) * hd;
        for (int i = 0; i < 3; ++i) {
          // Complex rotation of the pair by pos * freq, scaled.
          const int a = style == RopeStyle::Halves ? i : 2 * i, b = style == RopeStyle::Halves ? i + 3 : 2 * i + 1;
          const std::complex<double> z(o[a], o[b]);
          const std::complex<double> rz = z * std::polar(1.25, pos[t] * static_cast<double>(r.inv_freq[i]));
          EXPECT_NEAR(y[a], rz.real(), 1e-5);
          EXPECT_NEAR(y[b], rz.imag(), 1e-5);
        }
        for (int i = 6; i < hd; ++i) EXPECT_EQ(y[i], o[i]);
      }
  }
}

TEST(RefBackend, MatmulEmbedRmsNormAgainstHandLoops) {
  std::mt19937 rng(2);
  auto be = make_ref_backend();
  const int64_t out = 5, in = 64, n = 3;
  const std::vector<float> wv = randn(rng, out * in), x = randn(rng, n * in);
  OwnedWeight w = OwnedWeight::quantized("w", TensorType::Q8_0, {out, in}, wv);
  std::vector<float> wd(out * in);
  type_traits(TensorType::Q8_0).dequantize(w.bytes.data(), wd.data(), out * in);
  std::vector<float> y(n * out);
  be->matmul(w.view, x, n, y);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t o = 0; o < out; ++o) {
      double acc = 0;
      for (int64_t i = 0; i < in; ++i) acc += double(wd[o * in + i]) * x[t * in + i];
      EXPECT_NEAR(y[t * out + o], acc, 1e-5 * (1 + std::abs(acc)));
    }
  std::vector<float> e(2 * in);
  be->embed(w.view, std::vector<int32_t>{4, 1}, e);
  for (int64_t i = 0; i < in; ++i) {
    EXPECT_EQ(e[i], wd[4 * in + i]);
    EXPECT_EQ(e[in + i], wd[1 * in + i]);
  }
  OwnedWeight g = f32("g", {in}, randn(rng, in));
  std::vector<float> z(x.size());
  be->rms_norm(x, g.view, 1e-6f, z);
  for (int64_t t = 0; t < n; ++t) {
    double ss = 0;
    for (int64_t i = 0; i < in; ++i) ss += double(x[t * in + i]) * x[t * in + i];
    for (int64_t i = 0; i < in; ++i)
      EXPECT_NEAR(z[t * in + i], x[t * in + i] / std::sqrt(ss / in + 1e-6) * reinterpret_cast<const float*>(g.bytes.data())[i], 1e-5);
  }
  EXPECT_THROW(be->matmul(w.view, x, n + 1, y), Error);
}

// Attention over a batch of two sequences (prefill after a cached prefix) equals the same tokens
// fed one at a time, and both equal a naive softmax over contiguous K/V held by the test.
TEST(RefBackend, AttentionBatchEqualsTokenByTokenAndNaive) {
  std::mt19937 rng(3);
  const int64_t H = 4, KV = 2, D = 8, page = 4, n_pages = 16;
  const float scale = 0.3f;
  // seq 0: 7 tokens, seq 1: 5 tokens; pages interleaved to exercise the page table.
  TestBatch tb;
  tb.pages = {{5, 0, 9}, {2, 7}};
  for (int s = 0; s < 2; ++s)
    for (int p = 0; p < (s ? 5 : 7); ++p) tb.seq.push_back(s), tb.pos.push_back(p);
  const int64_t n = static_cast<int64_t>(tb.seq.size());
  const auto q = randn(rng, n * H * D), k = randn(rng, n * KV * D), v = randn(rng, n * KV * D);
  std::vector<float> kc(n_pages * page * KV * D, NAN), vc = kc;
  KvLayerCache cache{kc, vc, KV * D, KV * D};
  std::vector<float> out(n * H * D, NAN);
  auto be = make_ref_backend();
  be->attention(q, k, v, H, KV, D, scale, tb.layout(page), cache, out);

  std::vector<float> kc2(kc.size(), NAN), vc2 = kc2;
  KvLayerCache cache2{kc2, vc2, KV * D, KV * D};
  for (int64_t t = 0; t < n; ++t) {
    TestBatch one{{tb.seq[t]}, {tb.pos[t]}, tb.pages};
    std::vector<float> o1(H * D, NAN);
    be->attention(std::span(q).subspan(t * H * D, H * D), std::span(k).subspan(t * KV * D, KV * D),
                  std::span(v).subspan(t * KV * D, KV * D), H, KV, D, scale, one.layout(page), cache2, o1);
    for (int64_t i = 0; i < H * D; ++i) EXPECT_EQ(o1[i], out[t * H * D + i]) << "token " << t;
  }
  // Naive: for token t, keys of the same sequence with position <= its own, in batch order.
  for (int64_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t kvh = h / (H / KV);
      std::vector<double> sc;
      std::vector<int64_t> js;
      for (int64_t j = 0; j < n; ++j)
        if (tb.seq[j] == tb.seq[t] && tb.pos[j] <= tb.pos[t]) {
          double d = 0;
          for (int64_t i = 0; i < D; ++i) d += double(q[(t * H + h) * D + i]) * k[(j * KV + kvh) * D + i];
          sc.push_back(d * scale);
          js.push_back(j);
        }
      double mx = *std::max_element(sc.begin(), sc.end()), sum = 0;
      for (double& s : sc) sum += s = std::exp(s - mx);
      for (int64_t i = 0; i < D; ++i) {
        double acc = 0;
        for (size_t m = 0; m < js.size(); ++m) acc += sc[m] / sum * v[(js[m] * KV + kvh) * D + i];
        EXPECT_NEAR(out[(t * H + h) * D + i], acc, 1e-5);
      }
    }
}

// MLA in the absorbed form equals the naive form: decompress per-head K_nope and V from the cached
// latent with kv_b, append the shared rope key, run standard attention. Joint and split kv_b.
TEST(RefBackend, MlaAbsorbedEqualsNaive) {
  std::mt19937 rng(4);
  const int64_t H = 3, dn = 4, dr = 2, dv = 5, R = 32, page = 2, n_pages = 8;
  const float scale = 0.4f;
  TestBatch tb;
  tb.pages = {{3, 1}, {0, 6, 2}};
  for (int p = 0; p < 3; ++p) tb.seq.push_back(0), tb.pos.push_back(p);
  for (int p = 0; p < 5; ++p) tb.seq.push_back(1), tb.pos.push_back(p);
  const int64_t n = static_cast<int64_t>(tb.seq.size());
  const auto qn = randn(rng, n * H * dn), qp = randn(rng, n * H * dr), lat = randn(rng, n * R),
             kp = randn(rng, n * dr), kvb = randn(rng, H * (dn + dv) * R, 0.3f);
  OwnedWeight joint = f32("kv_b", {H * (dn + dv), R}, kvb);
  // Split form, laid out as convert_hf_to_gguf.py writes it: k_b[h][r][i] = W_uk[h][i][r].
  std::vector<float> kb(H * R * dn), vb(H * dv * R);
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t i = 0; i < dn; ++i)
      for (int64_t r = 0; r < R; ++r) kb[(h * R + r) * dn + i] = kvb[(h * (dn + dv) + i) * R + r];
    for (int64_t i = 0; i < dv; ++i)
      for (int64_t r = 0; r < R; ++r) vb[(h * dv + i) * R + r] = kvb[(h * (dn + dv) + dn + i) * R + r];
  }
  OwnedWeight kbw = OwnedWeight::quantized("k_b", TensorType::F32, {H, R, dn}, kb);
  OwnedWeight vbw = OwnedWeight::quantized("v_b", TensorType::F32, {H, dv, R}, vb);

  std::vector<double> naive(n * H * dv);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < H; ++h) {
      std::vector<double> sc;
      std::vector<int64_t> js;
      for (int64_t j = 0; j < n; ++j) {
        if (tb.seq[j] != tb.seq[t] || tb.pos[j] > tb.pos[t]) continue;
        double d = 0;
        for (int64_t i = 0; i < dn; ++i) {
          double k_nope = 0;  // (W_uk · latent_j)[i]
          for (int64_t r = 0; r < R; ++r) k_nope += double(kvb[(h * (dn + dv) + i) * R + r]) * lat[j * R + r];
          d += qn[(t * H + h) * dn + i] * k_nope;
        }
        for (int64_t i = 0; i < dr; ++i) d += double(qp[(t * H + h) * dr + i]) * kp[j * dr + i];
        sc.push_back(d * scale);
        js.push_back(j);
      }
      double mx = *std::max_element(sc.begin(), sc.end()), sum = 0;
      for (double& s : sc) sum += s = std::exp(s - mx);
      for (int64_t i = 0; i < dv; ++i) {
        double acc = 0;
        for (size_t m = 0; m < js.size(); ++m) {
          double val = 0;  // (W_uv · latent_j)[i]
          for (int64_t r = 0; r < R; ++r) val += double(kvb[(h * (dn + dv) + dn + i) * R + r]) * lat[js[m] * R + r];
          acc += sc[m] / sum * val;
        }
        naive[(t * H + h) * dv + i] = acc;
      }
    }
  auto be = make_ref_backend();
  for (bool split : {false, true}) {
    std::vector<float> kc(n_pages * page * R, NAN), vc(n_pages * page * dr, NAN), out(n * H * dv, NAN);
    KvLayerCache cache{kc, vc, R, dr};
    const MlaKvB w = split ? MlaKvB::split(kbw.view, vbw.view) : MlaKvB(joint.view);
    be->mla_attention(qn, qp, lat, kp, w, H, dn, dr, dv, scale, tb.layout(page), cache, out);
    EXPECT_LT(rel_err(out, naive), 1e-6) << (split ? "split" : "joint");
  }
}

// top_k = n_experts, softmax + norm: the layer is the dense mixture sum_e softmax(l)_e * ffn_e(x)
// plus the shared expert, all computed here by hand.
TEST(RefBackend, MoeFullTopKEqualsDenseMixture) {
  std::mt19937 rng(5);
  const int64_t E = 4, hid = 8, inter = 6, n = 3;
  std::vector<OwnedWeight> ws;
  std::vector<std::vector<float>> raw;
  auto mk = [&](const std::string& nm, int64_t r, int64_t c) {
    raw.push_back(randn(rng, r * c, 0.5f));
    ws.push_back(f32(nm, {r, c}, raw.back()));
  };
  mk("router", E, hid);
  for (int64_t e = 0; e <= E; ++e) mk("g", inter, hid), mk("u", inter, hid), mk("d", hid, inter);
  MoeWeights mw;
  mw.router = ws[0].view;
  for (int64_t e = 0; e < E; ++e) mw.experts.push_back({ws[1 + 3 * e].view, ws[2 + 3 * e].view, ws[3 + 3 * e].view});
  mw.shared.push_back({ws[1 + 3 * E].view, ws[2 + 3 * E].view, ws[3 + 3 * E].view});
  MoeSpec spec;
  spec.n_experts = E;
  spec.top_k = E;
  spec.norm_topk_prob = true;
  spec.routed_scaling_factor = 1.0f;
  const auto x = randn(rng, n * hid);
  std::vector<float> y(n * hid, NAN);
  make_ref_backend()->moe(mw, spec, x, n, y);

  auto hand_ffn = [&](int64_t e, const float* xt, std::vector<double>& o) {
    const auto &g = raw[1 + 3 * e], &u = raw[2 + 3 * e], &d = raw[3 + 3 * e];
    std::vector<double> h(inter);
    for (int64_t j = 0; j < inter; ++j) {
      double a = 0, b = 0;
      for (int64_t i = 0; i < hid; ++i) a += double(g[j * hid + i]) * xt[i], b += double(u[j * hid + i]) * xt[i];
      h[j] = a / (1 + std::exp(-a)) * b;
    }
    for (int64_t i = 0; i < hid; ++i) {
      o[i] = 0;
      for (int64_t j = 0; j < inter; ++j) o[i] += d[i * inter + j] * h[j];
    }
  };
  std::vector<double> want(n * hid, 0.0), o(hid);
  for (int64_t t = 0; t < n; ++t) {
    std::vector<double> l(E);
    double mx = -1e300, sum = 0;
    for (int64_t e = 0; e < E; ++e) {
      for (int64_t i = 0; i < hid; ++i) l[e] += double(raw[0][e * hid + i]) * x[t * hid + i];
      mx = std::max(mx, l[e]);
    }
    for (double& v : l) sum += v = std::exp(v - mx);
    for (int64_t e = 0; e <= E; ++e) {
      hand_ffn(e, x.data() + t * hid, o);
      const double wgt = e < E ? l[e] / sum : 1.0;
      for (int64_t i = 0; i < hid; ++i) want[t * hid + i] += wgt * o[i];
    }
  }
  EXPECT_LT(rel_err(y, want), 1e-6);
}

float logit(double p) { return static_cast<float>(std::log(p / (1 - p))); }

// V3: the bias moves expert 2 into the selection, but its weight is its unbiased sigmoid score.
TEST(RefBackend, V3BiasChangesSelectionNotWeights) {
  MoeSpec spec;
  spec.n_experts = 4;
  spec.top_k = 2;
  spec.scoring = MoeScoringFn::Sigmoid;
  spec.norm_topk_prob = true;
  spec.routed_scaling_factor = 2.5f;
  const std::vector<float> l = {logit(0.9), logit(0.8), logit(0.7), logit(0.6)};
  const std::vector<float> bias = {0, 0, 0.3f, 0};
  int32_t ids[2];
  float w[2];
  backend_detail::route_token(spec, l.data(), nullptr, ids, w);
  EXPECT_EQ(ids[0], 0);
  EXPECT_EQ(ids[1], 1);
  backend_detail::route_token(spec, l.data(), bias.data(), ids, w);
  EXPECT_EQ(ids[0], 2);  // choice 1.0
  EXPECT_EQ(ids[1], 0);  // choice 0.9
  EXPECT_NEAR(w[0], 0.7 / 1.6 * 2.5, 1e-6);
  EXPECT_NEAR(w[1], 0.9 / 1.6 * 2.5, 1e-6);
  spec.norm_topk_prob = false;
  backend_detail::route_token(spec, l.data(), bias.data(), ids, w);
  EXPECT_NEAR(w[0], 0.7 * 2.5, 1e-6);
  EXPECT_NEAR(w[1], 0.9 * 2.5, 1e-6);
}

// Groups {0,1} = [0.9, 0.1] and {2,3} = [0.6, 0.6]: V2's group max keeps the first, V3's top-2 sum
// the second. V2 (softmax) weights are scaled even without normalisation.
TEST(RefBackend, GroupMaxVersusTop2Sum) {
  MoeSpec spec;
  spec.n_experts = 8;
  spec.top_k = 2;
  spec.n_group = 4;
  spec.topk_group = 1;
  spec.scoring = MoeScoringFn::Sigmoid;
  const std::vector<double> s = {0.9, 0.1, 0.6, 0.6, 0.2, 0.2, 0.3, 0.1};
  std::vector<float> l;
  for (double p : s) l.push_back(logit(p));
  int32_t ids[2];
  float w[2];
  spec.group_rule = MoeGroupRule::GroupMax;
  backend_detail::route_token(spec, l.data(), nullptr, ids, w);
  EXPECT_EQ(ids[0], 0);
  EXPECT_EQ(ids[1], 1);
  spec.group_rule = MoeGroupRule::GroupTop2Sum;
  backend_detail::route_token(spec, l.data(), nullptr, ids, w);
  EXPECT_EQ(ids[0], 2);
  EXPECT_EQ(ids[1], 3);
  EXPECT_NEAR(w[0], 0.6, 1e-6);
  // Plain top-2 ignores groups: experts 0 and 2 (tie 2/3 to the lower id).
  spec.group_rule = MoeGroupRule::None;
  backend_detail::route_token(spec, l.data(), nullptr, ids, w);
  EXPECT_EQ(ids[0], 0);
  EXPECT_EQ(ids[1], 2);
  // V2 softmax weights times the scale, no normalisation.
  spec.scoring = MoeScoringFn::Softmax;
  spec.group_rule = MoeGroupRule::GroupMax;
  spec.routed_scaling_factor = 16.0f;
  const std::vector<float> z = {2, 0, 1, 1, 0, 0, 0, 0};
  backend_detail::route_token(spec, z.data(), nullptr, ids, w);
  double sum = 0;
  for (float v : z) sum += std::exp(double(v));
  EXPECT_EQ(ids[0], 0);
  EXPECT_EQ(ids[1], 1);
  EXPECT_NEAR(w[0], std::exp(2.0) / sum * 16, 1e-5);
  EXPECT_NEAR(w[1], 1.0 / sum * 16, 1e-5);
}

TEST(RefBackend, ShapeErrorsNameTheOp) {
  auto be = make_ref_backend();
  std::vector<float> x(8), y(7);
  try {
    be->add(x, y);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("add"), std::string::npos);
  }
}

}  // namespace
}  // namespace schwarm

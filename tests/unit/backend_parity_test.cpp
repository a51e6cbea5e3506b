// Every op of every non-ref backend against ref (in the spirit of llama.cpp's test-backend-ops):
// weight types x shapes, fresh random inputs each run, outputs poisoned with NaN before each call,
// compared by relative error ||a - b|| / ||b||.
//
// Tolerance: 1e-5 for every weight type. Both backends decode a weight with the same registry
// routine, so the weight is bit-identical on both sides and a quantized type adds no error of its
// own; what differs is accumulation (ref: double; cpu: float with 16 partial sums, float softmax),
// which for the sizes here (dot products of <= 2048 terms, a few hundred keys) stays below ~1e-6.
// The quantized-activations mode (cpu_*_q8act) is held to ref in the same mode at the same
// tolerance: both multiply with the same x̂ (quant/act_q8k.h), the cpu's integer kernels exactly.
//
// The seed comes from std::random_device and is printed by every failure; set
// SCHWARM_PARITY_SEED=N to replay a run. New backends (cuda) join by adding a line to backends().
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <ostream>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/row_decode.h"
#include "backend/ref/owned_weight.h"
#include "core/tensor_type.h"
#include "schwarm/error.h"

namespace schwarm {
namespace {

struct NamedFactory {
  std::string name;
  std::function<std::unique_ptr<Backend>()> make;
  // Both this backend and ref run in the quantized-activations mode (quant/act_q8k.h).
  bool quantized_activations = false;
  // The test hands the weights to Backend::prepare_weights first (cpu: Q4_K repacked, q4k_x16.h).
  bool prepare = false;
};

// gtest prints a test's parameter in its name and failures: the backend's name.
void PrintTo(const NamedFactory& f, std::ostream* os) { *os << f.name; }

// The backends held to ref: the cpu backend once per kernel table this machine runs
// (cpu_scalar, cpu_avx2, cpu_avx512, and cpu_<isa>_peer for a kept previous gemv), so every
// dispatch path is checked; and the CUDA backend (cuda, cuda_q8act), which skips, saying why,
// where the build has no CUDA or the machine no GPU (make_cuda_backend returns nullptr).
std::vector<NamedFactory> backends() {
  std::vector<NamedFactory> b;
  for (cpu::Isa isa : {cpu::Isa::Scalar, cpu::Isa::Avx2, cpu::Isa::Avx512, cpu::Isa::Avx512Vnni})
    if (const cpu::KernelTable* k = cpu::kernel_table(isa))  // 4 threads even on fewer cores: exercises the pool
      b.push_back({std::string("cpu_") + cpu::isa_name(isa), [k] { return std::make_unique<CpuBackend>(4, k); }});
  // The quantized-activations mode, against ref in the same mode: the float path over x̂ (scalar:
  // what every table without integer kernels runs) and the integer kernels (avx512vnni).
  for (cpu::Isa isa : {cpu::Isa::Scalar, cpu::Isa::Avx512Vnni})
    if (const cpu::KernelTable* k = cpu::kernel_table(isa))
      b.push_back({std::string("cpu_") + cpu::isa_name(isa) + "_q8act",
                   [k] { return std::make_unique<CpuBackend>(4, k); }, true});
  // The same with Q4_K matrices repacked for the integer kernels (prepare_weights), as a model load does.
  if (const cpu::KernelTable* k = cpu::kernel_table(cpu::Isa::Avx512Vnni))
    b.push_back({"cpu_avx512vnni_q8act_repacked", [k] { return std::make_unique<CpuBackend>(4, k); }, true, true});
  // The prefill GEMM on AMX tiles: over the tiles' scalar emulation wherever AVX-512 VNNI runs,
  // and on the tiles themselves where the CPU has them (cpu_amx*; absent elsewhere, see
  // cpu_amx_test's skip).
  if (const cpu::KernelTable* k = cpu::amx_emulated_kernel_table())
    for (bool repacked : {false, true})
      b.push_back({std::string("cpu_amx_emulated_q8act") + (repacked ? "_repacked" : ""),
                   [k] { return std::make_unique<CpuBackend>(4, k); }, true, repacked});
  if (const cpu::KernelTable* k = cpu::kernel_table(cpu::Isa::Amx)) {
    b.push_back({"cpu_amx", [k] { return std::make_unique<CpuBackend>(4, k); }});
    for (bool repacked : {false, true})
      b.push_back({std::string("cpu_amx_q8act") + (repacked ? "_repacked" : ""),
                   [k] { return std::make_unique<CpuBackend>(4, k); }, true, repacked});
  }
  // The previous gemv kernels (the bench's peer) stay held to ref while they are kept; avx512vnni's
  // peer differs only in the quantized-activations mode (prefill by gemv_q8 instead of gemm_q8).
  for (cpu::Isa isa : {cpu::Isa::Avx2, cpu::Isa::Avx512, cpu::Isa::Avx512Vnni})
    if (const cpu::KernelTable* k = cpu::peer_gemv_table(isa); k && k != cpu::kernel_table(isa))
      b.push_back({std::string("cpu_") + cpu::isa_name(isa) + "_peer" + (isa == cpu::Isa::Avx512Vnni ? "_q8act" : ""),
                   [k] { return std::make_unique<CpuBackend>(4, k); }, isa == cpu::Isa::Avx512Vnni});
  b.push_back({"cuda", [] { return make_cuda_backend(); }});
  b.push_back({"cuda_q8act", [] { return make_cuda_backend(); }, true});
  return b;
}

constexpr double kTol = 1e-5;
// ffn and moe in the quantized-activations mode: the down projection's input h is computed (in a
// different float order by each backend) and then rounded to 8 bits, so an element of h within
// float rounding of a rounding boundary lands one step (amax / 127) apart in the two backends and
// moves every output of its token by ~1e-3 relative (seen: 8.5e-4, Q5_K n=7). The matmul test
// holds the quantized kernels themselves at kTol; a wrong scale, offset or layout is off by O(1).
constexpr double kQ8ChainTol = 5e-3;

uint32_t seed_for_run() {
  if (const char* s = std::getenv("SCHWARM_PARITY_SEED")) return static_cast<uint32_t>(std::strtoul(s, nullptr, 10));
  return std::random_device{}();
}

class Parity : public ::testing::TestWithParam<NamedFactory> {
 protected:
  void SetUp() override {
    seed_ = seed_for_run();
    rng_.seed(seed_);
    ref_ = make_ref_backend();
    be_ = GetParam().make();
    if (!be_)
      GTEST_SKIP() << GetParam().name << " backend not available here: "
                   << (cuda_backend_compiled() ? "no CUDA device on this machine" : "built without CUDA");
    ref_->set_quantized_activations(GetParam().quantized_activations);
    be_->set_quantized_activations(GetParam().quantized_activations);
  }
  std::string trace(const std::string& what) const {
    return GetParam().name + " vs ref, " + what + ", seed " + std::to_string(seed_) +
           " (SCHWARM_PARITY_SEED to replay)";
  }
  std::vector<float> randn(size_t n, float sd = 1.0f) {
    std::normal_distribution<float> d(0.0f, sd);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng_);
    return v;
  }
  // Values on a 1/64 grid in [-2, 2]: dot products of these are exact in float, so router logits
  // agree bit for bit and both backends pick the same experts (no near-tie flips).
  std::vector<float> grid(size_t n) {
    std::uniform_int_distribution<int> d(-128, 128);
    std::vector<float> v(n);
    for (float& x : v) x = static_cast<float>(d(rng_)) / 64.0f;
    return v;
  }
  OwnedWeight weight(TensorType type, std::vector<int64_t> shape, float sd = 0.5f) {
    if (type == TensorType::F8_E4M3) return OwnedWeight::random_f8_e4m3("w", std::move(shape), rng_);
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return OwnedWeight::quantized("w", type, std::move(shape), randn(static_cast<size_t>(n), sd));
  }
  static std::vector<float> poisoned(size_t n) { return std::vector<float>(n, std::nanf("")); }
  // For the instances that prepare weights: hands them to the backend (which may keep copies by
  // address: the weights must outlive the test) and checks that every Q4_K matrix with a whole
  // group of 16 rows of whole 256-blocks was copied, so the repacked kernels are what runs.
  void prepare(std::initializer_list<const OwnedWeight*> ws) {
    if (!GetParam().prepare) return;
    std::vector<TensorView> views;
    for (const OwnedWeight* w : ws) views.push_back(w->view);
    size_t copied = 0, expected = 0;
    be_->prepare_weights(views, [&](const TensorView&) { ++copied; });
    for (const TensorView& v : views)
      if (v.type == TensorType::Q4_K && v.shape[0] >= 16 && v.shape[1] % 256 == 0) ++expected;
    EXPECT_EQ(copied, expected) << trace("prepare_weights");
  }

  void expect_close(const std::vector<float>& got, const std::vector<float>& want, const std::string& what,
                    double tol = kTol) {
    ASSERT_EQ(got.size(), want.size()) << trace(what);
    double num = 0, den = 0;
    size_t bad = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      if (!std::isfinite(got[i])) ++bad;
      num += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
      den += double(want[i]) * want[i];
    }
    EXPECT_EQ(bad, 0u) << trace(what) << ": non-finite outputs";
    const double rel = std::sqrt(num / std::max(den, 1e-300));
    EXPECT_LE(rel, tol) << trace(what);
  }

  // A dot product of n terms summed in float (cpu) vs double (ref) differs by up to ~γ·Σ|w·x|,
  // which can exceed 1e-5·|Σ w·x| when the terms cancel (seen: one output of a [1, 256] matmul).
  // So matmul outputs may also differ by kDotTol times the norm of those absolute sums.
  static constexpr double kDotTol = 2e-6;
  static double abs_products_norm(const OwnedWeight& w, const std::vector<float>& x, int64_t n) {
    const int64_t out = w.view.shape[0], in = w.view.shape[1];
    std::vector<float> dense(static_cast<size_t>(out * in));
    type_traits(w.view.type).dequantize(w.view.data.data(), dense.data(), out * in);
    double sum = 0;
    for (int64_t r = 0; r < n; ++r)
      for (int64_t o = 0; o < out; ++o) {
        double m = 0;
        for (int64_t k = 0; k < in; ++k) m += std::fabs(double(dense[o * in + k]) * x[r * in + k]);
        sum += m * m;
      }
    return std::sqrt(sum);
  }
  void expect_close_dot(const std::vector<float>& got, const std::vector<float>& want, double abs_norm,
                        const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << trace(what);
    double num = 0, den = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(std::isfinite(got[i])) << trace(what) << ": non-finite output " << i;
      num += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
      den += double(want[i]) * want[i];
    }
    EXPECT_LE(std::sqrt(num), kTol * std::sqrt(den) + kDotTol * abs_norm) << trace(what);
  }

  static double chain_tol() { return GetParam().quantized_activations ? kQ8ChainTol : kTol; }

  uint32_t seed_ = 0;
  std::mt19937 rng_;
  std::deque<OwnedWeight> keep_;  // weights a backend may hold copies of (prepare), alive until the end
  std::unique_ptr<Backend> ref_, be_;
};

const TensorType kWeightTypes[] = {TensorType::F32,  TensorType::F16,  TensorType::BF16,
                                   TensorType::Q8_0, TensorType::Q4_0, TensorType::Q5_0,
                                   TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K,
                                   TensorType::F8_E4M3};

std::string tname(TensorType t) { return std::string(tensor_type_name(t)); }

TEST_P(Parity, Matmul) {
  struct Shape {
    int64_t out, in;
  };
  for (TensorType t : kWeightTypes)
    // n: decode (gemv, up to cpu::kGemvMaxTokens), just past it, and past a 32-token block.
    // Rows: repacked Q4_K (prepare) covers whole groups of 16 (48) and groups plus a stored tail;
    // 1536 columns make prefill items of 40 rows at n = 5 (no whole number of groups).
    for (Shape s : {Shape{1, 256}, Shape{37, 256}, Shape{130, 512}, Shape{300, 1024}, Shape{67, 768}, Shape{48, 512}, Shape{64, 1536}})
      for (int64_t n : {1, 2, 3, 4, 5, 17, 40}) {
        OwnedWeight& w = keep_.emplace_back(weight(t, {s.out, s.in}));
        prepare({&w});
        const auto x = randn(static_cast<size_t>(n * s.in));
        auto a = poisoned(static_cast<size_t>(n * s.out)), b = a;
        ref_->matmul(w.view, x, n, b);
        be_->matmul(w.view, x, n, a);
        expect_close_dot(a, b, abs_products_norm(w, x, n),
                         "matmul " + tname(t) + " [" + std::to_string(s.out) + ", " + std::to_string(s.in) +
                             "] n=" + std::to_string(n));
      }
  // Odd inner dims: the plain types, and the 32-blocks with a row that is no whole 256-chunk.
  struct Odd {
    TensorType t;
    int64_t in;
  };
  // (1408: DeepSeek-V2-Lite's expert down projections; 352 and 96: an odd number of 32s. In the
  // cpu's quantized-activations mode n = 1, 2 run the integer gemv and n = 9, 20 the integer GEMM
  // (from cpu::kGemmQ8MinTokens), both over a last activation block < 256.)
  for (Odd o : {Odd{TensorType::F32, 45}, Odd{TensorType::F16, 45}, Odd{TensorType::BF16, 45},
                Odd{TensorType::Q8_0, 96}, Odd{TensorType::Q4_0, 352}, Odd{TensorType::Q8_0, 352},
                Odd{TensorType::Q5_0, 352}, Odd{TensorType::Q5_0, 1408}})
    for (int64_t n : {1, 2, 9, 20}) {
      OwnedWeight w = weight(o.t, {7, o.in});
      const auto x = randn(static_cast<size_t>(n * o.in));
      auto a = poisoned(static_cast<size_t>(7 * n)), b = a;
      ref_->matmul(w.view, x, n, b);
      be_->matmul(w.view, x, n, a);
      expect_close_dot(a, b, abs_products_norm(w, x, n),
                       "matmul " + tname(o.t) + " [7, " + std::to_string(o.in) + "] n=" + std::to_string(n));
    }
}

TEST_P(Parity, EmbedRmsNormAdd) {
  for (TensorType t : kWeightTypes) {
    OwnedWeight table = weight(t, {50, 256});
    const std::vector<int32_t> ids = {3, 0, 49, 3, 17};
    auto a = poisoned(ids.size() * 256), b = a;
    ref_->embed(table.view, ids, b);
    be_->embed(table.view, ids, a);
    expect_close(a, b, "embed " + tname(t));
  }
  for (int64_t dim : {64, 128, 4096, 7})
    for (int64_t rows : {1, 5}) {
      OwnedWeight g = OwnedWeight::quantized("g", TensorType::F32, {dim}, randn(static_cast<size_t>(dim)));
      const auto x = randn(static_cast<size_t>(rows * dim), 3.0f);
      auto a = poisoned(x.size()), b = a;
      ref_->rms_norm(x, g.view, 1e-6f, b);
      be_->rms_norm(x, g.view, 1e-6f, a);
      expect_close(a, b, "rms_norm dim " + std::to_string(dim));
      auto inplace = x;  // y aliasing x
      be_->rms_norm(inplace, g.view, 1e-6f, inplace);
      expect_close(inplace, b, "rms_norm in place dim " + std::to_string(dim));
    }
  const auto x = randn(1001), y0 = randn(1001);
  auto a = y0, b = y0;
  ref_->add(x, b);
  be_->add(x, a);
  expect_close(a, b, "add");
}

TEST_P(Parity, Rope) {
  for (RopeStyle style : {RopeStyle::Halves, RopeStyle::Interleaved})
    for (int64_t rot : {64, 32}) {
      const int64_t heads = 5, hd = 64;
      RopeSpec r;
      r.style = style;
      r.rot_dim = rot;
      r.attention_factor = rot == 32 ? 1.1f : 1.0f;
      for (int64_t i = 0; i < rot / 2; ++i) r.inv_freq.push_back(std::pow(10000.0f, -2.0f * i / rot));
      const std::vector<int32_t> pos = {0, 1, 2, 100, 4095, 131071};
      const auto x = randn(pos.size() * heads * hd);
      auto a = x, b = x;
      ref_->rope(b, heads, hd, pos, r);
      be_->rope(a, heads, hd, pos, r);
      expect_close(a, b, std::string("rope ") + (style == RopeStyle::Halves ? "halves" : "interleaved") +
                             " rot " + std::to_string(rot));
    }
}

TEST_P(Parity, Ffn) {
  for (TensorType t : kWeightTypes)
    for (int64_t n : {1, 7, 20}) {  // 20: past cpu::kGemmQ8MinTokens (the integer GEMM)
      const int64_t hidden = 256, inter = 512;
      OwnedWeight &g = keep_.emplace_back(weight(t, {inter, hidden})), &u = keep_.emplace_back(weight(t, {inter, hidden})),
                  &d = keep_.emplace_back(weight(t, {hidden, inter}));
      prepare({&g, &u, &d});
      const FfnWeights w{g.view, u.view, d.view};
      const auto x = randn(static_cast<size_t>(n * hidden));
      auto a = poisoned(x.size()), b = a;
      ref_->ffn(w, x, n, b);
      be_->ffn(w, x, n, a);
      expect_close(a, b, "ffn " + tname(t) + " n=" + std::to_string(n), chain_tol());
    }
}

struct MoeCase {
  std::string name;
  MoeSpec spec;
  int n_shared;
  bool bias;
};

std::vector<MoeCase> moe_cases() {
  std::vector<MoeCase> c;
  MoeSpec s;
  s.n_experts = 8, s.top_k = 2, s.norm_topk_prob = true;  // Mixtral
  c.push_back({"mixtral", s, 0, false});
  s = {};
  s.n_experts = 16, s.top_k = 4, s.norm_topk_prob = false;  // Qwen3-MoE / OLMoE without norm
  c.push_back({"qwen3", s, 0, false});
  s = {};
  s.n_experts = 16, s.top_k = 6, s.group_rule = MoeGroupRule::GroupMax, s.n_group = 4, s.topk_group = 2;
  s.routed_scaling_factor = 16.0f;  // DeepSeek-V2
  c.push_back({"deepseek_v2", s, 2, false});
  s = {};
  s.n_experts = 16, s.top_k = 4, s.scoring = MoeScoringFn::Sigmoid, s.group_rule = MoeGroupRule::GroupTop2Sum;
  s.n_group = 4, s.topk_group = 2, s.norm_topk_prob = true, s.routed_scaling_factor = 2.5f;  // DeepSeek-V3
  c.push_back({"deepseek_v3", s, 1, true});
  s = {};
  s.n_experts = 128, s.top_k = 8, s.norm_topk_prob = true;  // Qwen3-30B-A3B's routing shape
  c.push_back({"qwen3_128x8", s, 0, false});
  s = {};
  s.n_experts = 4, s.top_k = 4, s.norm_topk_prob = true;  // every expert
  c.push_back({"all_experts", s, 0, false});
  return c;
}

TEST_P(Parity, Moe) {
  const int64_t hidden = 256;
  for (TensorType t : kWeightTypes)
    for (const MoeCase& mc : moe_cases()) {
      // Every routing case for F32 and Q4_K; the other types on Mixtral and DeepSeek-V3 routing.
      // 128 experts: F32 with small experts (the routing shape is the point).
      if (t != TensorType::F32 && t != TensorType::Q4_K && mc.name != "mixtral" && mc.name != "deepseek_v3")
        continue;
      if (mc.spec.n_experts > 64 && t != TensorType::F32) continue;
      const int64_t inter = mc.spec.n_experts > 64 ? 32 : 256;
      std::vector<OwnedWeight> own;
      own.push_back(OwnedWeight::quantized("router", TensorType::F32, {mc.spec.n_experts, hidden},
                                           grid(static_cast<size_t>(mc.spec.n_experts * hidden))));
      const int64_t n_ffn = mc.spec.n_experts + mc.n_shared;
      for (int64_t e = 0; e < n_ffn; ++e) {
        own.push_back(weight(t, {inter, hidden}));
        own.push_back(weight(t, {inter, hidden}));
        own.push_back(weight(t, {hidden, inter}));
      }
      OwnedWeight bias = OwnedWeight::quantized("bias", TensorType::F32, {mc.spec.n_experts},
                                                grid(static_cast<size_t>(mc.spec.n_experts)));
      for (const OwnedWeight& o : own) prepare({&o});
      MoeWeights w;
      w.router = own[0].view;
      if (mc.bias) w.selection_bias = &bias.view;
      for (int64_t e = 0; e < n_ffn; ++e) {
        const FfnWeights f{own[1 + 3 * e].view, own[2 + 3 * e].view, own[3 + 3 * e].view};
        (e < mc.spec.n_experts ? w.experts : w.shared).push_back(f);
      }
      for (int64_t n : {1, 9, 40}) {
        // 40: shared experts (and some routed) past cpu::kGemmQ8MinTokens, for the integer GEMM's types.
        if (n == 40 && t != TensorType::Q4_K && t != TensorType::Q8_0) continue;
        const auto x = grid(static_cast<size_t>(n * hidden));
        auto a = poisoned(x.size()), b = a;
        ref_->moe(w, mc.spec, x, n, b);
        be_->moe(w, mc.spec, x, n, a);
        expect_close(a, b, "moe " + mc.name + " " + tname(t) + " n=" + std::to_string(n), chain_tol());
      }
      for (OwnedWeight& o : own) keep_.push_back(std::move(o));  // the backend may hold copies by address
    }
}

// A batch over a paged cache: sequences with a cached prefix (random contents written into both
// caches alike) and new tokens; pages handed out in a scrambled order.
struct PagedBatch {
  std::vector<int32_t> seq, pos;
  std::vector<std::vector<int32_t>> pages;
  int64_t page_tokens = 16, n_pages = 0;
  std::vector<std::pair<int32_t, int32_t>> prefix;  // (seq, positions already cached)

  // lens[s] = {cached prefix, new tokens}.
  static PagedBatch make(const std::vector<std::pair<int32_t, int32_t>>& lens, int64_t page_tokens, std::mt19937& rng) {
    PagedBatch b;
    b.page_tokens = page_tokens;
    std::vector<int32_t> need;
    for (auto [cached, fresh] : lens) need.push_back(static_cast<int32_t>((cached + fresh + page_tokens - 1) / page_tokens));
    int32_t total = 1;  // page 0 left unused: a wrong slot lands on poison
    for (int32_t k : need) total += k;
    std::vector<int32_t> ids(static_cast<size_t>(total - 1));
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i + 1);
    std::shuffle(ids.begin(), ids.end(), rng);
    size_t next = 0;
    for (size_t s = 0; s < lens.size(); ++s) {
      b.pages.emplace_back(ids.begin() + static_cast<std::ptrdiff_t>(next),
                           ids.begin() + static_cast<std::ptrdiff_t>(next + static_cast<size_t>(need[s])));
      next += static_cast<size_t>(need[s]);
      b.prefix.emplace_back(static_cast<int32_t>(s), lens[s].first);
      for (int32_t p = lens[s].first; p < lens[s].first + lens[s].second; ++p) {
        b.seq.push_back(static_cast<int32_t>(s));
        b.pos.push_back(p);
      }
    }
    b.n_pages = total;
    return b;
  }
  int64_t n() const { return static_cast<int64_t>(seq.size()); }
  BatchLayout layout() const {
    BatchLayout l;
    l.n_tokens = n();
    l.seq = seq;
    l.pos = pos;
    for (const auto& p : pages) l.page_table.emplace_back(p);
    l.page_tokens = page_tokens;
    return l;
  }
  // Fills the slots of every cached prefix position with random values; the rest stays NaN.
  void fill_prefix(std::vector<float>& cache, int64_t width, std::mt19937& rng) const {
    std::normal_distribution<float> d;
    for (auto [s, cached] : prefix)
      for (int32_t p = 0; p < cached; ++p) {
        const int64_t slot = pages[static_cast<size_t>(s)][static_cast<size_t>(p / page_tokens)] * page_tokens + p % page_tokens;
        for (int64_t i = 0; i < width; ++i) cache[static_cast<size_t>(slot * width + i)] = d(rng);
      }
  }
};

// Layouts: decode over three sequences of different lengths, prefill of two fresh sequences with
// partially filled last pages, and a mix (prefill chunk after a cached prefix + a decode).
std::vector<std::pair<std::string, std::vector<std::pair<int32_t, int32_t>>>> batch_cases() {
  return {{"decode3", {{0, 1}, {20, 1}, {47, 1}}},
          {"prefill2", {{0, 5}, {0, 19}}},
          {"mixed", {{33, 7}, {12, 1}, {0, 16}}}};
}

TEST_P(Parity, Attention) {
  struct Heads {
    int64_t h, kv, d;
  };
  for (Heads hs : {Heads{4, 4, 64}, Heads{8, 2, 64}, Heads{16, 2, 128}, Heads{3, 3, 40}})
    for (const auto& [bname, lens] : batch_cases())
      for (int64_t page_tokens : {16, 5}) {
        const PagedBatch pb = PagedBatch::make(lens, page_tokens, rng_);
        const int64_t n = pb.n(), kvw = hs.kv * hs.d;
        const auto q = randn(static_cast<size_t>(n * hs.h * hs.d)), k = randn(static_cast<size_t>(n * kvw)),
                   v = randn(static_cast<size_t>(n * kvw));
        auto kc_ref = poisoned(static_cast<size_t>(pb.n_pages * page_tokens * kvw)), vc_ref = kc_ref;
        pb.fill_prefix(kc_ref, kvw, rng_);
        pb.fill_prefix(vc_ref, kvw, rng_);
        auto kc = kc_ref, vc = vc_ref;
        KvLayerCache cref{kc_ref, vc_ref, kvw, kvw}, cbe{kc, vc, kvw, kvw};
        auto a = poisoned(q.size()), b = a;
        const float scale = 1.0f / std::sqrt(static_cast<float>(hs.d));
        ref_->attention(q, k, v, hs.h, hs.kv, hs.d, scale, pb.layout(), cref, b);
        be_->attention(q, k, v, hs.h, hs.kv, hs.d, scale, pb.layout(), cbe, a);
        const std::string what = "attention H" + std::to_string(hs.h) + "/KV" + std::to_string(hs.kv) + " d" +
                                 std::to_string(hs.d) + " " + bname + " page " + std::to_string(page_tokens);
        expect_close(a, b, what);
        // The stored rows must be the same (bitwise: a copy); NaN (unused slots) compare equal.
        for (size_t i = 0; i < kc.size(); ++i) {
          const bool same = (std::isnan(kc[i]) && std::isnan(kc_ref[i])) || kc[i] == kc_ref[i];
          const bool same_v = (std::isnan(vc[i]) && std::isnan(vc_ref[i])) || vc[i] == vc_ref[i];
          if (!same || !same_v) {
            ADD_FAILURE() << trace(what) << ": cache differs at float " << i;
            break;
          }
        }
      }
}

TEST_P(Parity, MlaAttention) {
  struct Dims {
    int64_t h, dn, dr, dv, rank;
  };
  for (Dims dm : {Dims{4, 32, 16, 32, 64}, Dims{16, 128, 64, 128, 512}})
    for (TensorType t : {TensorType::F32, TensorType::F16, TensorType::BF16, TensorType::Q8_0})
      for (bool split : {false, true})
        for (const auto& [bname, lens] : batch_cases()) {
          // DeepSeek-sized heads: F32 and Q8_0 only (ref takes seconds there).
          if (dm.h == 16 && (t == TensorType::F16 || t == TensorType::BF16 || bname == "mixed")) continue;
          const int64_t page_tokens = 16;
          const PagedBatch pb = PagedBatch::make(lens, page_tokens, rng_);
          const int64_t n = pb.n();
          OwnedWeight kvb = split ? weight(t, {dm.h, dm.rank, dm.dn}, 0.1f)
                                  : weight(t, {dm.h * (dm.dn + dm.dv), dm.rank}, 0.1f);
          OwnedWeight vb = split ? weight(t, {dm.h, dm.dv, dm.rank}, 0.1f) : OwnedWeight{};
          const MlaKvB w = split ? MlaKvB::split(kvb.view, vb.view) : MlaKvB(kvb.view);
          const auto qn = randn(static_cast<size_t>(n * dm.h * dm.dn)), qp = randn(static_cast<size_t>(n * dm.h * dm.dr)),
                     lat = randn(static_cast<size_t>(n * dm.rank)), kp = randn(static_cast<size_t>(n * dm.dr));
          auto kc_ref = poisoned(static_cast<size_t>(pb.n_pages * page_tokens * dm.rank));
          auto vc_ref = poisoned(static_cast<size_t>(pb.n_pages * page_tokens * dm.dr));
          pb.fill_prefix(kc_ref, dm.rank, rng_);
          pb.fill_prefix(vc_ref, dm.dr, rng_);
          auto kc = kc_ref, vc = vc_ref;
          KvLayerCache cref{kc_ref, vc_ref, dm.rank, dm.dr}, cbe{kc, vc, dm.rank, dm.dr};
          auto a = poisoned(static_cast<size_t>(n * dm.h * dm.dv)), b = a;
          const float scale = 1.0f / std::sqrt(static_cast<float>(dm.dn + dm.dr));
          ref_->mla_attention(qn, qp, lat, kp, w, dm.h, dm.dn, dm.dr, dm.dv, scale, pb.layout(), cref, b);
          be_->mla_attention(qn, qp, lat, kp, w, dm.h, dm.dn, dm.dr, dm.dv, scale, pb.layout(), cbe, a);
          expect_close(a, b, "mla H" + std::to_string(dm.h) + " rank " + std::to_string(dm.rank) + " " + tname(t) +
                                 (split ? " split " : " joint ") + bname);
        }
}

TEST_P(Parity, ShapeErrorsThrow) {
  OwnedWeight w = weight(TensorType::F32, {4, 32});
  std::vector<float> x(32), y(3);
  EXPECT_THROW(be_->matmul(w.view, x, 1, y), Error);
  std::vector<float> q(64), o(64), k(16);
  PagedBatch pb = PagedBatch::make({{0, 1}}, 16, rng_);
  std::vector<float> kc(16), vc(16);
  KvLayerCache c{kc, vc, 16, 16};
  // One page of 16 slots x 16 floats does not fit in 16 floats.
  EXPECT_THROW(be_->attention(q, k, k, 4, 1, 16, 1.0f, pb.layout(), c, o), Error);
}

// The cpu backend's own row decoders must equal the registry's dequantize bit for bit (then the
// weight is identical on both sides of every parity comparison).
TEST(CpuRowDecode, BitExactAgainstRegistry) {
  const uint32_t seed = seed_for_run();
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  for (TensorType t : kWeightTypes)
    for (int64_t rows : {1, 3}) {
      const int64_t cols = 512;
      OwnedWeight w;
      if (t == TensorType::F8_E4M3) {
        w = OwnedWeight::random_f8_e4m3("w", {rows, cols}, rng);
      } else {
        std::vector<float> v(static_cast<size_t>(rows * cols));
        for (float& x : v) x = d(rng) * 3.0f;
        w = OwnedWeight::quantized("w", t, {rows, cols}, v);
      }
      std::vector<float> want(static_cast<size_t>(rows * cols)), got(want.size(), std::nanf(""));
      type_traits(t).dequantize(w.bytes.data(), want.data(), rows * cols);
      cpu::decode_rows(w.view, 0, rows, cols, got.data());
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_EQ(std::memcmp(&got[i], &want[i], 4), 0)
            << tname(t) << " element " << i << ": " << got[i] << " vs " << want[i] << ", seed " << seed;
    }
  // F16: every bit pattern, NaN and infinities included.
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  TensorView v;
  v.type = TensorType::F16;
  v.shape = {1, 65536};
  v.data = std::span(reinterpret_cast<const uint8_t*>(all.data()), all.size() * 2);
  std::vector<float> want(65536), got(65536);
  type_traits(TensorType::F16).dequantize(all.data(), want.data(), 65536);
  cpu::decode_rows(v, 0, 1, 65536, got.data());
  EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * 4), 0);
}

// Each kernel table's SIMD decoders equal the registry bit for bit too (prefill decodes with them).
TEST(CpuKernels, DecodeBitExactAgainstRegistry) {
  const uint32_t seed = seed_for_run();
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  for (cpu::Isa isa : {cpu::Isa::Scalar, cpu::Isa::Avx2, cpu::Isa::Avx512}) {
    const cpu::KernelTable* k = cpu::kernel_table(isa);
    if (!k) continue;
    {  // F8_E4M3: every byte value, NaN included, twice (vector lanes and the scalar tail)
      std::vector<uint8_t> all(512 + 7);
      for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint8_t>(i);
      std::vector<float> want(all.size()), got(all.size(), std::nanf(""));
      type_traits(TensorType::F8_E4M3).dequantize(all.data(), want.data(), static_cast<int64_t>(all.size()));
      if (k->decode(TensorType::F8_E4M3, all.data(), static_cast<int64_t>(all.size()), got.data())) {
        EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * 4), 0) << cpu::isa_name(isa) << " F8_E4M3";
      }
    }
    for (TensorType t : kWeightTypes) {
      if (t == TensorType::F8_E4M3) continue;
      const int64_t n = 3 * 512;
      std::vector<float> v(static_cast<size_t>(n));
      for (float& x : v) x = d(rng) * 3.0f;
      OwnedWeight w = OwnedWeight::quantized("w", t, {3, 512}, v);
      std::vector<float> want(v.size()), got(v.size(), std::nanf(""));
      type_traits(t).dequantize(w.bytes.data(), want.data(), n);
      if (!k->decode(t, w.bytes.data(), n, got.data())) continue;
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_EQ(std::memcmp(&got[i], &want[i], 4), 0) << cpu::isa_name(isa) << " " << tname(t) << " element " << i
                                                        << ": " << got[i] << " vs " << want[i] << ", seed " << seed;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Parity, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<NamedFactory>& i) { return i.param.name; });

}  // namespace
}  // namespace schwarm

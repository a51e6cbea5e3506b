// cpu backend matmul and MoE per kernel table (scalar = the portable path, the old decode-to-
// buffer + autovectorised dot; avx2; avx512), per weight type, at real MoE shapes: decode (n = 1,
// a GEMV that streams the weight once) and prefill (n = 16, 512). Reports weight bytes streamed
// per second and GFLOP/s. Decode cycles through copies of the weight that together exceed the L3
// (kStreamBytes), so its figures are memory-bound as in a real model; compare tables within one
// run (ratios), as the machine may be shared. Threads: SCHWARM_BENCH_THREADS, else all hardware
// threads. With SCHWARM_BENCH_THREADS=1 the rates use the thread's CPU time, not wall time, so a
// busy shared machine slows the run but not the figures. Filter with --benchmark_filter=, e.g.
// 'Q4_K.*avx512'. '<isa>_peer' cases run an ISA's previous gemv kernels (cpu::peer_gemv_table) at
// n = 1, 2, 4, for same-run ratios; SCHWARM_BENCH_HOT=1 makes decode reuse one cached copy.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/kernels.h"
#include "backend/ref/owned_weight.h"
#include "core/tensor_type.h"
#include "quant/act_q8k.h"

namespace schwarm {
namespace {

constexpr size_t kStreamBytes = size_t{768} << 20;  // > the 260 MiB L3 of the test machine, with margin

int threads() {
  const char* t = std::getenv("SCHWARM_BENCH_THREADS");
  return t ? std::atoi(t) : 0;
}

// q8act: the quantized-activations mode (Backend::set_quantized_activations).
CpuBackend& backend(const cpu::KernelTable* table, bool q8act = false) {
  static std::map<std::pair<const cpu::KernelTable*, bool>, std::unique_ptr<CpuBackend>> be;
  auto& b = be[{table, q8act}];
  if (!b) {
    b = std::make_unique<CpuBackend>(threads(), table);
    b->set_quantized_activations(q8act);
  }
  return *b;
}
CpuBackend& backend(cpu::Isa isa) { return backend(cpu::kernel_table(isa)); }

std::vector<uint8_t> quantized_bytes(TensorType type, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  if (type == TensorType::F8_E4M3) return OwnedWeight::random_f8_e4m3("w", {rows, cols}, rng).bytes;
  std::normal_distribution<float> d(0.0f, 0.02f);
  std::vector<float> v(static_cast<size_t>(rows * cols));
  for (float& x : v) x = d(rng);
  return OwnedWeight::quantized("w", type, {rows, cols}, v).bytes;
}

// `copies` views of one weight, at distinct addresses (bytes replicated, not re-quantized).
struct Copies {
  std::vector<uint8_t> bytes;
  std::vector<TensorView> views;
};
Copies replicate(TensorType type, int64_t rows, int64_t cols, size_t copies, uint32_t seed = 7) {
  const std::vector<uint8_t> one = quantized_bytes(type, rows, cols, seed);
  Copies c;
  c.bytes.resize(one.size() * copies);
  for (size_t i = 0; i < copies; ++i) {
    std::memcpy(c.bytes.data() + i * one.size(), one.data(), one.size());
    TensorView v;
    v.name = "w";
    v.type = type;
    v.shape = {rows, cols};
    v.data = std::span<const uint8_t>(c.bytes.data() + i * one.size(), one.size());
    c.views.push_back(v);
  }
  return c;
}

// repacked: the weights handed to prepare_weights first (Q4_K: the x16 layout, q4k_x16.h), on a
// backend of this benchmark's own (the copies live as long as it).
void BM_Matmul(benchmark::State& state, const cpu::KernelTable* table, TensorType type, int64_t rows, int64_t cols,
               bool q8act, bool repacked) {
  const int64_t n = state.range(0);
  const TypeTraits& tt = type_traits(type);
  const size_t wbytes = static_cast<size_t>(rows * cols / tt.block_size) * tt.block_bytes;
  const bool hot = std::getenv("SCHWARM_BENCH_HOT") != nullptr;  // decode from cache: the kernel's compute alone
  const size_t copies = n <= cpu::kGemvMaxTokens && !hot ? std::max<size_t>(1, kStreamBytes / wbytes) : 1;
  Copies w = replicate(type, rows, cols, copies);
  std::vector<float> x(static_cast<size_t>(n * cols)), y(static_cast<size_t>(n * rows));
  std::mt19937 rng(1);
  std::normal_distribution<float> d;
  for (float& v : x) v = d(rng);
  std::unique_ptr<CpuBackend> own;
  if (repacked) {
    own = std::make_unique<CpuBackend>(threads(), table);
    own->set_quantized_activations(q8act);
    own->prepare_weights(w.views, {});
  }
  CpuBackend& be = repacked ? *own : backend(table, q8act);
  size_t i = 0;
  for (auto _ : state) {
    be.matmul(w.views[i], x, n, y);
    i = (i + 1) % copies;
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["weight_GB/s"] =
      benchmark::Counter(static_cast<double>(wbytes) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * rows * cols * n * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

// A Qwen3-30B-A3B-shaped MoE layer: 128 experts of [768, 2048] gate/up and [2048, 768] down,
// top-8, softmax + norm (348 MB of Q4_K: above the L3). Routing follows random router weights.
void BM_MoeQwen3(benchmark::State& state, cpu::Isa isa, TensorType type) {
  const int64_t n = state.range(0), E = 128, hidden = 2048, inter = 768;
  static std::map<TensorType, std::pair<std::unique_ptr<Copies[]>, OwnedWeight>> cache;
  auto& entry = cache[type];
  if (!entry.first) {
    entry.first.reset(new Copies[3]{replicate(type, inter, hidden, E, 1), replicate(type, inter, hidden, E, 2),
                                    replicate(type, hidden, inter, E, 3)});
    std::mt19937 rng(5);
    std::normal_distribution<float> d(0.0f, 0.05f);
    std::vector<float> r(static_cast<size_t>(E * hidden));
    for (float& v : r) v = d(rng);
    entry.second = OwnedWeight::quantized("router", TensorType::F32, {E, hidden}, r);
  }
  MoeWeights w;
  w.router = entry.second.view;
  for (int64_t e = 0; e < E; ++e)
    w.experts.push_back({entry.first[0].views[e], entry.first[1].views[e], entry.first[2].views[e]});
  MoeSpec spec;
  spec.n_experts = E;
  spec.top_k = 8;
  spec.norm_topk_prob = true;
  std::vector<float> x(static_cast<size_t>(n * hidden)), y(x.size());
  std::mt19937 rng(9);
  std::normal_distribution<float> d;
  CpuBackend& be = backend(isa);
  for (auto _ : state) {
    state.PauseTiming();
    for (float& v : x) v = d(rng);  // fresh tokens: fresh experts each step
    state.ResumeTiming();
    be.moe(w, spec, x, n, y);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["tok/s"] = benchmark::Counter(static_cast<double>(n) * state.iterations(), benchmark::Counter::kIsRate);
}

// Wall time, unless one thread does all the work: then its CPU time (immune to a busy machine).
void timing(benchmark::internal::Benchmark* b) {
  if (threads() != 1) b->UseRealTime();
}

void register_all() {
  const TensorType types[] = {TensorType::Q4_K, TensorType::Q6_K, TensorType::Q5_K, TensorType::Q8_0,
                              TensorType::Q4_0, TensorType::Q5_0, TensorType::BF16, TensorType::F16,
                              TensorType::F32,  TensorType::F8_E4M3};
  struct Shape {
    const char* name;
    int64_t rows, cols;
  };
  const Shape shapes[] = {{"expert_up_768x2048", 768, 2048},
                          {"expert_down_2048x768", 2048, 768},
                          {"attn_out_2048x4096", 2048, 4096},  // Qwen3-30B-A3B's attention output
                          {"dsv2_down_2048x1408", 2048, 1408}};  // DeepSeek-V2-Lite's expert down: 5.5 blocks of 256
  for (cpu::Isa isa : {cpu::Isa::Scalar, cpu::Isa::Avx2, cpu::Isa::Avx512, cpu::Isa::Avx512Vnni}) {
    if (!cpu::kernel_table(isa)) continue;
    for (const Shape& s : shapes)
      for (TensorType t : types) {
        const std::string name = std::string("Matmul/") + s.name + "/" + std::string(tensor_type_name(t)) + "/" +
                                 cpu::isa_name(isa);
        benchmark::RegisterBenchmark(name.c_str(), BM_Matmul, cpu::kernel_table(isa), t, s.rows, s.cols, false, false)
            ->Apply(timing)
            ->Arg(1)->Arg(2)->Arg(4)->Arg(16)->Arg(512)->Unit(benchmark::kMicrosecond);
        // The same in the quantized-activations mode, for the K-quants: the integer kernels.
        if (isa == cpu::Isa::Avx512Vnni && quant::act_q8k_applies(t, s.cols)) {
          benchmark::RegisterBenchmark((name + "_q8act").c_str(), BM_Matmul, cpu::kernel_table(isa), t, s.rows,
                                       s.cols, true, false)
              ->Apply(timing)
              ->Arg(1)->Arg(2)->Arg(4)->Arg(8)->Arg(16)->Arg(32)->Arg(512)->Unit(benchmark::kMicrosecond);
          // Q4_K repacked at load (as a model load does, Backend::prepare_weights).
          if (t == TensorType::Q4_K)
            benchmark::RegisterBenchmark((name + "_q8act_repacked").c_str(), BM_Matmul, cpu::kernel_table(isa), t,
                                         s.rows, s.cols, true, true)
                ->Apply(timing)
                ->Arg(1)->Arg(2)->Arg(4)->Arg(8)->Arg(16)->Arg(32)->Arg(33)->Arg(512)->Unit(benchmark::kMicrosecond);
          // The previous prefill path of this mode (gemv_q8 8 tokens at a time), where gemm_q8 replaced it.
          if (const cpu::KernelTable* peer = cpu::peer_gemv_table(isa); peer != cpu::kernel_table(isa))
            benchmark::RegisterBenchmark((name + "_q8act_peer").c_str(), BM_Matmul, peer, t, s.rows, s.cols, true, false)
                ->Apply(timing)
                ->Arg(8)->Arg(16)->Arg(32)->Arg(512)->Unit(benchmark::kMicrosecond);
        }
        // The previous gemv kernels of this ISA, where it has newer ones: decode only.
        // (avx512vnni's peer differs only in the quantized-activations mode: above.)
        if (const cpu::KernelTable* peer = cpu::peer_gemv_table(isa);
            peer != cpu::kernel_table(isa) && isa != cpu::Isa::Avx512Vnni)
          benchmark::RegisterBenchmark((name + "_peer").c_str(), BM_Matmul, peer, t, s.rows, s.cols, false, false)
              ->Apply(timing)
              ->Arg(1)->Arg(2)->Arg(4)->Unit(benchmark::kMicrosecond);
      }
    for (TensorType t : {TensorType::Q4_K, TensorType::Q8_0}) {
      const std::string name = std::string("MoeQwen3/") + std::string(tensor_type_name(t)) + "/" + cpu::isa_name(isa);
      benchmark::RegisterBenchmark(name.c_str(), BM_MoeQwen3, isa, t)
          ->Apply(timing)
          ->Arg(1)->Arg(512)->Unit(benchmark::kMillisecond);
    }
  }
  // The prefill GEMM on AMX tiles where the CPU has them (SCHWARM_CPU_ISA=amx; kernels.h): its
  // same-run peer is avx512vnni_q8act above.
  if (const cpu::KernelTable* amx = cpu::kernel_table(cpu::Isa::Amx))
    for (const Shape& s : shapes)
      for (TensorType t : types) {
        if (!quant::act_q8k_applies(t, s.cols)) continue;
        const std::string name = std::string("Matmul/") + s.name + "/" + std::string(tensor_type_name(t)) + "/amx_q8act";
        benchmark::RegisterBenchmark(name.c_str(), BM_Matmul, amx, t, s.rows, s.cols, true, false)
            ->Apply(timing)
            ->Arg(16)->Arg(32)->Arg(512)->Unit(benchmark::kMicrosecond);
        if (t == TensorType::Q4_K)
          benchmark::RegisterBenchmark((name + "_repacked").c_str(), BM_Matmul, amx, t, s.rows, s.cols, true, true)
              ->Apply(timing)
              ->Arg(16)->Arg(32)->Arg(512)->Unit(benchmark::kMicrosecond);
      }
}

}  // namespace
}  // namespace schwarm

int main(int argc, char** argv) {
  schwarm::register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

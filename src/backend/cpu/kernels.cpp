// Kernel table selection (once per process) and the portable scalar table: the row decoders of
// row_decode.cpp and vec.h's dot, which the compiler vectorises for the baseline target only.
#include "backend/cpu/kernels.h"

#include <cstdio>
#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdlib>
#include <vector>
#include <string_view>

#include "backend/cpu/vec.h"
#include "quant/act_q8k.h"

namespace schwarm::cpu {

namespace {

bool scalar_has_gemv(TensorType) { return false; }
bool scalar_gemv(TensorType, const uint8_t*, size_t, int64_t, int64_t, const float*, int64_t, float*, int64_t) {
  return false;
}
bool scalar_decode(TensorType, const uint8_t*, int64_t, float*) { return false; }
void scalar_gemm_f32(const float* w, int64_t nr, int64_t cols, const float* x, int64_t nt, float* y, int64_t ldy) {
  for (int64_t t = 0; t < nt; ++t)
    for (int64_t r = 0; r < nr; ++r) y[t * ldy + r] = dot(w + r * cols, x + t * cols, cols);
}

void scalar_gemm_nn(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t m, int64_t n, int64_t k,
                    float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    std::fill_n(ci, n, 0.0f);
    for (int64_t p = 0; p < k; ++p) axpy(a[i * lda + p], b + p * ldb, ci, n);
  }
}

const KernelTable kScalar{Isa::Scalar, scalar_has_gemv, scalar_gemv, scalar_decode, scalar_gemm_f32, scalar_gemm_nn};

bool cpu_runs(Isa isa) {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  switch (isa) {
    case Isa::Scalar:
      return true;
    case Isa::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case Isa::Avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case Isa::Avx512Vnni:
      return cpu_runs(Isa::Avx512) && __builtin_cpu_supports("avx512vnni");
    case Isa::Amx:
      return cpu_runs(Isa::Avx512Vnni) && amx_tiles_usable();
  }
  return false;
#else
  return isa == Isa::Scalar;
#endif
}

// amx is not among the defaults until its parity suite has run on a CPU with AMX (kernels.h).
const KernelTable* best_table() {
  for (Isa isa : {Isa::Avx512Vnni, Isa::Avx512, Isa::Avx2})
    if (const KernelTable* t = kernel_table(isa)) return t;
  return &kScalar;
}

}  // namespace

void scalar_swiglu(const float* g, const float* u, float* h, int64_t n) {
  for (int64_t i = 0; i < n; ++i) h[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void scalar_softmax(float* s, int64_t n, float scale) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n; ++j) mx = std::max(mx, s[j] *= scale);
  float sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += s[j] = std::exp(s[j] - mx);
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < n; ++j) s[j] *= inv;
}

void size_q8_acts(int64_t n, int64_t cols, QActs& out) {
  out.n = n;
  out.cols = cols;
  out.q.resize(static_cast<size_t>(n * cols));
  out.d.resize(static_cast<size_t>(n * quant::act_q8k_blocks(cols)));
  out.bsum.resize(static_cast<size_t>(n * cols / 16));
  out.dsum32.resize(static_cast<size_t>(n * cols / 32));
}

void gather_q8_act_rows(const QActs& src, const int64_t* rows, int64_t t0, int64_t t1, QActs& out) {
  const int64_t cols = src.cols, nb = quant::act_q8k_blocks(cols);
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t r = rows[t];
    std::copy_n(src.q.data() + r * cols, cols, out.q.data() + t * cols);
    std::copy_n(src.d.data() + r * nb, nb, out.d.data() + t * nb);
    std::copy_n(src.bsum.data() + r * (cols / 16), cols / 16, out.bsum.data() + t * (cols / 16));
    std::copy_n(src.dsum32.data() + r * (cols / 32), cols / 32, out.dsum32.data() + t * (cols / 32));
  }
}

void prepare_q8_acts(TensorType type, const float* x, int64_t n, int64_t cols, QActs& out, ActQuantizeFn quantize) {
  size_q8_acts(n, cols, out);
  prepare_q8_act_rows(type, x, 0, n, out, quantize);
}

void prepare_q8_act_rows(TensorType type, const float* x, int64_t t0, int64_t t1, QActs& out,
                         ActQuantizeFn quantize) {
  if (!quantize) quantize = quant::quantize_act_q8k;
  const int64_t cols = out.cols;
  const bool k4_order = type == TensorType::Q4_K || type == TensorType::Q5_K;
  thread_local std::vector<int8_t> tmp;
  for (int64_t t = t0; t < t1; ++t) {
    int8_t* q = out.q.data() + t * cols;
    if (k4_order) tmp.resize(static_cast<size_t>(cols));
    quantize(x + t * cols, cols, k4_order ? tmp.data() : q, out.d.data() + t * quant::act_q8k_blocks(cols),
             out.bsum.data() + t * (cols / 16));
    if (type != TensorType::Q6_K) {  // Q6_K's offsets use bsum; every other kernel reads dsum32
      const int16_t* bs = out.bsum.data() + t * (cols / 16);
      const float* d = out.d.data() + t * quant::act_q8k_blocks(cols);
      float* ds = out.dsum32.data() + t * (cols / 32);
      for (int64_t j = 0; j < cols / 32; ++j) ds[j] = d[j / 8] * static_cast<float>(bs[2 * j] + bs[2 * j + 1]);
    }
    if (!k4_order) continue;
    static constexpr int kOrder[8] = {0, 2, 1, 3, 4, 6, 5, 7};
    for (int64_t b = 0; b < cols; b += quant::kActBlock)
      for (int s = 0; s < 8; ++s) std::copy_n(tmp.data() + b + 32 * kOrder[s], 32, q + b + 32 * s);
  }
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
    case Isa::Avx512Vnni: return "avx512vnni";
    case Isa::Amx: return "amx";
  }
  return "?";
}

const KernelTable* kernel_table(Isa isa) {
  if (!cpu_runs(isa)) return nullptr;
  switch (isa) {
    case Isa::Scalar: return &kScalar;
    case Isa::Avx2: return avx2_kernel_table();
    case Isa::Avx512: return avx512_kernel_table();
    case Isa::Avx512Vnni: return avx512_vnni_kernel_table();
    case Isa::Amx: return amx_kernel_table();
  }
  return nullptr;
}

const KernelTable* peer_gemv_table(Isa isa) {
  if (isa == Isa::Avx512) return cpu_runs(isa) ? avx512_peer_kernel_table() : nullptr;
  if (isa == Isa::Avx512Vnni) return cpu_runs(isa) ? avx512_vnni_peer_kernel_table() : nullptr;
  return kernel_table(isa);
}

const KernelTable& kernels() {
  static const KernelTable* chosen = [] {
    const char* env = std::getenv("SCHWARM_CPU_ISA");
    if (!env || !*env) return best_table();
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni, Isa::Amx})
      if (std::string_view(env) == isa_name(isa)) {
        if (const KernelTable* t = kernel_table(isa)) return t;
        std::fprintf(stderr, "schwarm: SCHWARM_CPU_ISA=%s: not supported by this CPU or build; using %s\n", env,
                     isa_name(best_table()->isa));
        return best_table();
      }
    std::fprintf(stderr, "schwarm: SCHWARM_CPU_ISA=%s: unknown (scalar, avx2, avx512, avx512vnni, amx); using %s\n", env,
                 isa_name(best_table()->isa));
    return best_table();
  }();
  return *chosen;
}

}  // namespace schwarm::cpu

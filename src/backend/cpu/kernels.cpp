// Kernel table selection (once per process) and the portable scalar table: the row decoders of
// row_decode.cpp and vec.h's dot, which the compiler vectorises for the baseline target only.
#include "backend/cpu/kernels.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "backend/cpu/vec.h"

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

const KernelTable kScalar{Isa::Scalar, scalar_has_gemv, scalar_gemv, scalar_decode, scalar_gemm_f32};

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
  }
  return false;
#else
  return isa == Isa::Scalar;
#endif
}

const KernelTable* best_table() {
  for (Isa isa : {Isa::Avx512, Isa::Avx2})
    if (const KernelTable* t = kernel_table(isa)) return t;
  return &kScalar;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "?";
}

const KernelTable* kernel_table(Isa isa) {
  if (!cpu_runs(isa)) return nullptr;
  switch (isa) {
    case Isa::Scalar: return &kScalar;
    case Isa::Avx2: return avx2_kernel_table();
    case Isa::Avx512: return avx512_kernel_table();
  }
  return nullptr;
}

const KernelTable* peer_gemv_table(Isa isa) {
  if (isa == Isa::Avx512) return cpu_runs(isa) ? avx512_peer_kernel_table() : nullptr;
  return kernel_table(isa);
}

const KernelTable& kernels() {
  static const KernelTable* chosen = [] {
    const char* env = std::getenv("SCHWARM_CPU_ISA");
    if (!env || !*env) return best_table();
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512})
      if (std::string_view(env) == isa_name(isa)) {
        if (const KernelTable* t = kernel_table(isa)) return t;
        std::fprintf(stderr, "schwarm: SCHWARM_CPU_ISA=%s: not supported by this CPU or build; using %s\n", env,
                     isa_name(best_table()->isa));
        return best_table();
      }
    std::fprintf(stderr, "schwarm: SCHWARM_CPU_ISA=%s: unknown (scalar, avx2, avx512); using %s\n", env,
                 isa_name(best_table()->isa));
    return best_table();
  }();
  return *chosen;
}

}  // namespace schwarm::cpu

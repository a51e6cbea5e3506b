// Opens the ISA target region of a kernels_<isa>.cpp, after all its includes, so inline functions
// from headers (emitted as shared COMDAT copies) stay baseline x86-64 and only the file's own code
// uses the wider instructions. Define SCHWARM_TARGET_AVX512VNNI first for AVX-512 with VNNI, else
// it is AVX-512 F + BW + VL; SCHWARM_TARGET_AMX adds the AMX tile and int8 instructions to the
// VNNI set. Closed by isa_target_pop.h; no include guard on purpose.
#if defined(SCHWARM_TARGET_AMX)
#if defined(__clang__)
#pragma clang attribute push(                                                                              \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,fma,f16c,amx-tile,amx-int8"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni,fma,f16c,amx-tile,amx-int8")
#endif
#elif defined(SCHWARM_TARGET_AVX512VNNI)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,fma,f16c"))), \
                             apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni,fma,f16c")
#endif
#else
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,fma,f16c")
#endif
#endif
#if !defined(__clang__)
// GCC 12 reports its own AVX-512 intrinsics' undefined pass-through operands (a known false
// positive when they are compiled under a target pragma).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

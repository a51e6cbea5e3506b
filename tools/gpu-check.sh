#!/usr/bin/env bash
# The whole GPU check in one command, run ON the GPU machine (the `device` tool) over the tree
# that tools/gpu-prepare.sh made ready (docs/GPU-CHECK.md): the cuda probe, the parity suite for the
# cuda backend, the golden model tests on the cuda backend, compute-sanitizer memcheck over the
# cuda parity suite, `schwarm generate` and `schwarm bench` on the GPU; prints a short table last.
# Logs go to $OUT (the device tool brings them back) or /tmp/gpu-check.
#   tools/gpu-check.sh [--quick]     --quick: no memcheck pass
set -uo pipefail
cd "$(dirname "$0")/.."
quick=0; [ "${1:-}" = "--quick" ] && quick=1
# Test binaries carry absolute paths to tests/data and the CLI, made where the checkout is /work/main.
if [ "$PWD" != /work/main ] && [ ! -e /work/main ]; then mkdir -p /work && ln -s "$PWD" /work/main; fi
export LD_LIBRARY_PATH="$PWD/build-gpu/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
out="${OUT:-/tmp/gpu-check}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"

rows=()
step() {  # step NAME COMMAND...: runs it, keeps its log, adds a table row
  local name=$1; shift
  local t0=$SECONDS
  "$@" >"$out/$name.log" 2>&1
  local rc=$?
  local summary
  summary=$(grep -E '^\[  (PASSED|FAILED|SKIPPED) +\]' "$out/$name.log" | head -3 | tr -s ' ' | tr '\n' ' ')
  rows+=("$(printf '| %-16s | %3d | %5ds | %s' "$name" "$rc" $((SECONDS - t0)) "$summary")")
  echo "== $name: rc $rc ($((SECONDS - t0)) s)"
  [ "$rc" = 0 ] || tail -40 "$out/$name.log"
}

T=build-gpu/tests
step probe           $T/cuda_probe_test
step parity          $T/backend_parity_test --gtest_filter='*cuda*'
step golden_tiny     $T/golden_tiny_test --gtest_filter='*q8_0_cuda*'
step golden_deepseek $T/golden_deepseek_test --gtest_filter='*cuda*'
step golden_gqa      $T/golden_gqa_test --gtest_filter='*cuda*'
step golden_gguf     $T/golden_gguf_test --gtest_filter='*cuda*:-*f32*'
step generate        build-gpu/bin/schwarm generate --backend cuda -n 24 -p "The capital of France is"
step bench           build-gpu/bin/schwarm bench --backend cuda,cpu -p 64 -n 16 -r 2
if [ "$quick" = 0 ]; then
  step memcheck compute-sanitizer --tool memcheck --error-exitcode 1 \
       $T/backend_parity_test --gtest_filter='*/Parity.*/cuda'
fi
cat "$out/generate.log" | tail -3
cat "$out/bench.log" | tail -8
echo
echo "| step             |  rc |  time  | gtest"
echo "|------------------|-----|--------|------"
printf '%s\n' "${rows[@]}" | tee "$out/summary.md"

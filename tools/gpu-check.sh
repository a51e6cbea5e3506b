#!/usr/bin/env bash
# The whole GPU check in one command, run ON the GPU machine (the `device` tool) over the tree
# that tools/gpu-prepare.sh made ready (docs/GPU-CHECK.md): the cuda probe, the parity suite for the
# cuda backend, the golden model tests on the cuda backend, compute-sanitizer memcheck over the
# cuda parity suite, `schwarm generate` and `schwarm bench` on the GPU, the GEMV kernels against the
# device's copy bandwidth (cuda_gemv_bench); prints a short table last.
# Logs go to $OUT (the device tool brings them back) or /tmp/gpu-check.
#   tools/gpu-check.sh [--quick]     --quick: no memcheck pass
set -uo pipefail
cd "$(dirname "$0")/.."
quick=0; [ "${1:-}" = "--quick" ] && quick=1
# The binaries carry the absolute path of the checkout they were built in (tests/data, models/),
# which gpu-prepare.sh recorded: link it to this copy of the tree when it is elsewhere.
src_dir=$(cat build-gpu/dist/source_dir)
if [ "$PWD" != "$src_dir" ] && [ ! -e "$src_dir" ]; then mkdir -p "$(dirname "$src_dir")" && ln -s "$PWD" "$src_dir"; fi
export LD_LIBRARY_PATH="$PWD/build-gpu/dist/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
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
  summary=$(grep -E '^\[  (PASSED|FAILED|SKIPPED) +\] [0-9]+ tests?[,.]' "$out/$name.log" | tr -s ' ' | tr '\n' ' ')
  rows+=("$(printf '| %-16s | %3d | %5ds | %s' "$name" "$rc" $((SECONDS - t0)) "$summary")")
  echo "== $name: rc $rc ($((SECONDS - t0)) s)"
  [ "$rc" = 0 ] || tail -40 "$out/$name.log"
}

B=build-gpu/dist/bin
step probe           $B/cuda_probe_test
step parity          $B/backend_parity_test --gtest_filter='*cuda*'
step golden_tiny     $B/golden_tiny_test --gtest_filter='*q8_0_cuda*'
step golden_deepseek $B/golden_deepseek_test --gtest_filter='*cuda*'
step golden_gqa      $B/golden_gqa_test --gtest_filter='*cuda*'
step golden_gguf     $B/golden_gguf_test --gtest_filter='*cuda*:-*f32*'
step generate        $B/schwarm generate --backend cuda -n 24 -p "The capital of France is"
step bench           $B/schwarm bench -m models/schwarm-tiny-q8_0.gguf --backend cuda,cpu -p 64 -n 16 -r 2
step gemv_bench      $B/cuda_gemv_bench
if [ "$quick" = 0 ]; then
  step memcheck compute-sanitizer --tool memcheck --error-exitcode 1 \
       $B/backend_parity_test --gtest_filter='*/Parity.*/cuda'
fi
tail -3 "$out/generate.log"
tail -8 "$out/bench.log"
tail -30 "$out/gemv_bench.log"
echo
echo "| step             |  rc |  time  | gtest"
echo "|------------------|-----|--------|------"
printf '%s\n' "${rows[@]}" | tee "$out/summary.md"

#!/usr/bin/env bash
# Prepares a GPU check from a machine WITHOUT a GPU, for a session lent one through the `device`
# tool (docs/GPU-CHECK.md): builds build-gpu/ (Release, CUDA for sm_90a only: the H100/H200),
# copies the shared libraries the binaries need beside them (the GPU image has CMake and nvcc but
# not our Debian packages), and moves tracked files that the GPU run does not read out of the tree,
# so that what travels stays under the tool's 64 MiB. Prints the `carry` list and the command.
#   tools/gpu-prepare.sh            build + stash
#   tools/gpu-prepare.sh --restore  put the stashed files back (so does `git checkout -- .`)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
stash="${SCHWARM_GPU_STASH:-/tmp/schwarm-gpu-stash}"
# Read by no GPU test: the f32 golden GGUFs (the f16 and q8_0 ones stay) and the shipped model's
# f16/safetensors forms (the q8_0 one stays).
big=(tests/data/golden/*/gguf/*-f32.gguf models/schwarm-tiny-f16.gguf models/schwarm-tiny/model.safetensors)

if [ "${1:-}" = "--restore" ]; then
  if [ -d "$stash" ]; then (cd "$stash" && find . -type f -print0) | while IFS= read -r -d '' f; do
    mkdir -p "$(dirname "$f")"; mv "$stash/$f" "$f"; done; fi
  git checkout -- "${big[@]}" 2>/dev/null || true
  echo "restored"; exit 0
fi

tests=(backend_parity_test golden_tiny_test golden_deepseek_test golden_gqa_test golden_gguf_test cuda_probe_test)
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DSCHWARM_CUDA=ON -DSCHWARM_CUDA_ARCHS=90a -DSCHWARM_BENCH=ON \
      -DSCHWARM_LINK_SHARED=ON >/dev/null
cmake --build build-gpu -j"$(nproc)" --target schwarm_cli cuda_gemv_bench "${tests[@]}"
# What travels: build-gpu/dist/ (one carried folder): bin/, lib/ (shared libraries the GPU image
# lacks: libschwarm.so itself, spdlog, fmt, pcre2, utf8proc, libedit, benchmark, ...), all stripped.
dist=build-gpu/dist
rm -rf "$dist" && mkdir -p "$dist/bin" "$dist/lib"
cp build-gpu/bin/schwarm build-gpu/bench/cuda_gemv_bench "$dist/bin/"
for t in "${tests[@]}"; do cp "build-gpu/tests/$t" "$dist/bin/"; done
strip "$dist"/bin/*
ldd "$dist"/bin/* 2>/dev/null | awk '/=> \// {print $3}' | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libstdc++*|libgcc_s*|ld-linux*|libpthread*|libdl.so*|librt.so*|libcuda.so*) ;;
    *) cp -L "$lib" "$dist/lib/" ;;
  esac
done
strip "$dist"/lib/libschwarm.so* 2>/dev/null || true
# The test binaries find tests/data and models/ through the checkout's absolute path, compiled in:
# recorded here so that tools/gpu-check.sh can link it to the tree's copy on the GPU machine.
echo "$root" > "$dist/source_dir"

mkdir -p "$stash"
for f in "${big[@]}"; do
  [ -f "$f" ] || continue
  mkdir -p "$stash/$(dirname "$f")"; mv "$f" "$stash/$f"
done
strip "$dist"/lib/libschwarm.so* 2>/dev/null || true
carry=("$dist")
# Bytes that travel: the files git tracks or would add (the stashed ones are gone from disk), plus
# the carried folder. xargs may run du several times: add up every "total" line.
tree_bytes=$( { git ls-files -z --cached --others --exclude-standard | xargs -0 -r du -cb 2>/dev/null || true; } |
              awk '$2 == "total" {s += $1} END {print s + 0}')
carry_bytes=$(du -cb "${carry[@]}" | awk '$2 == "total" {s += $1} END {print s + 0}')
echo "travels: tree $((tree_bytes / 1048576)) MiB + carried $((carry_bytes / 1048576)) MiB (limit 64 MiB)"
printf 'carry: ['; printf '"%s",' "${carry[@]}" | sed 's/,$//'; printf ']\n'
echo "command: tools/gpu-check.sh"
echo "afterwards: tools/gpu-prepare.sh --restore"

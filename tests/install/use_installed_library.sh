#!/usr/bin/env bash
# Installs the built library into a scratch prefix, builds examples/inspect against it with
# find_package(schwarm), and runs it on the tiny checkpoint: what a C++ developer would do.
# Usage: use_installed_library.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1"; src="$2"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build" --prefix "$scratch/prefix" > /dev/null
cmake -S "$src/examples/inspect" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$scratch/prefix" > /dev/null
cmake --build "$scratch/build" > /dev/null
out="$("$scratch/build/count_params" "$src/tests/data/checkpoints/tiny-deepseek-v3")"
echo "$out"
[[ "$out" == *"DeepseekV3ForCausalLM, 233152 parameters, 159424 active per token"* ]]

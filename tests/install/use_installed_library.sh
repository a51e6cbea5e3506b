#!/usr/bin/env bash
# Installs the built library into a scratch prefix and uses it as an app developer would:
#  - examples/inspect and examples/generate built with find_package(schwarm) (schwarm::schwarm),
#  - examples/c-generate compiled as C with pkg-config (schwarm.pc) against the shared library,
# then runs them on the tiny checkpoint. The C and C++ generate examples must print the same text.
# Usage: use_installed_library.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1"; src="$2"
model="$src/tests/data/checkpoints/tiny-deepseek-v3"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
prefix="$scratch/prefix"
cmake --install "$build" --prefix "$prefix" > /dev/null
test -f "$prefix/include/schwarm/schwarm.hpp" && test -f "$prefix/include/schwarm/schwarm.h"

cmake -S "$src/examples/inspect" -B "$scratch/inspect" -DCMAKE_PREFIX_PATH="$prefix" > /dev/null
cmake --build "$scratch/inspect" > /dev/null
out="$("$scratch/inspect/count_params" "$model")"
echo "$out"
[[ "$out" == *"DeepseekV3ForCausalLM, 233152 parameters, 159424 active per token"* ]]

cmake -S "$src/examples/generate" -B "$scratch/generate" -DCMAKE_PREFIX_PATH="$prefix" > /dev/null
cmake --build "$scratch/generate" > /dev/null
cxx_out="$("$scratch/generate/generate" "$model" "Hello, swarm" 12)"

libdir="$(dirname "$(find "$prefix" -name schwarm.pc | head -1)")/.."
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -o "$scratch/c-generate" "$src/examples/c-generate/main.c" $(pkg-config --cflags --libs schwarm)
c_out="$(LD_LIBRARY_PATH="$libdir" "$scratch/c-generate" "$model" "Hello, swarm" 12)"
echo "C++: $cxx_out"
echo "C:   $c_out"
[[ -n "$cxx_out" && "$cxx_out" == "$c_out" ]]
echo "schwarm $(pkg-config --modversion schwarm): find_package and pkg-config apps agree"

#!/usr/bin/env bash
# Fetches the third-party test data that is not committed: llama.cpp's tokenizer test vocabularies
# (models/ggml-vocab-*.gguf with .inp/.out vectors) and real chat templates (models/templates/),
# from the PyPI source package llama-cpp-python, which vendors llama.cpp.
#
#   scripts/fetch-test-data.sh            vocab files + templates -> .cache/llama-cpp-python/models/
#   scripts/fetch-test-data.sh --source   also the whole llama.cpp source -> .cache/llama-cpp-python/llama.cpp/
#                                         (fixture scripts build llama-tokenize etc. from it)
# Tests that need these files skip, saying so, when they are absent. Nothing here is run at test time.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=0.3.36
CACHE=.cache/llama-cpp-python
SDIST="$CACHE/llama_cpp_python-$VERSION.tar.gz"
PREFIX="llama_cpp_python-$VERSION/vendor/llama.cpp"
mkdir -p "$CACHE"

if [ ! -s "$SDIST" ]; then
  PY=python3
  if ! $PY -m pip --version >/dev/null 2>&1; then
    echo "fetch-test-data: python3 with pip is needed to download the source package" >&2
    exit 1
  fi
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  $PY -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$tmp"
  mv "$tmp/llama_cpp_python-$VERSION.tar.gz" "$SDIST"
fi

if [ ! -f "$CACHE/models/.complete" ]; then
  rm -rf "$CACHE/models"
  tar -xzf "$SDIST" -C "$CACHE" --strip-components=3 --wildcards \
      "$PREFIX/models/ggml-vocab-*" "$PREFIX/models/templates/*"
  touch "$CACHE/models/.complete"
fi

if [ "${1:-}" = "--source" ] && [ ! -f "$CACHE/llama.cpp/.complete" ]; then
  rm -rf "$CACHE/llama.cpp"
  mkdir -p "$CACHE/llama.cpp"
  tar -xzf "$SDIST" -C "$CACHE/llama.cpp" --strip-components=3 "$PREFIX"
  touch "$CACHE/llama.cpp/.complete"
fi
echo "fetch-test-data: $(ls "$CACHE/models" | grep -c '^ggml-vocab-.*\.gguf$') vocab files, $(ls "$CACHE/models/templates" | wc -l) templates in $CACHE/models"

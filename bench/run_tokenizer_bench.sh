#!/usr/bin/env bash
# Tokenizer encode throughput: ours (bench/tokenizer_bench.cpp) vs the Python `tokenizers` package
# on the same ~4 MB English text and vocab, and the ratio.
#
#   bench/run_tokenizer_bench.sh [BUILD_DIR] [PYTHON]     (defaults: build, python3 — it needs the tokenizers package)
#
# Needs: a build configured with -DSCHWARM_BENCH=ON (target tokenizer_bench), the vocab GGUFs
# (scripts/fetch-test-data.sh) and the `tokenizers` package; the tokenizer.json files are made
# from the GGUFs by tools/fixtures/gguf_vocab_to_tokenizer_json.py into .cache/tokenizer-json/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
PY="${2:-python3}"
TEXT=.cache/bench/english-4mb.txt
mkdir -p .cache/bench
[ -s "$TEXT" ] || "$PY" bench/tokenizer_bench_text.py "$TEXT" 4
cmake --build "$BUILD" --target tokenizer_bench -j2 >/dev/null
for v in qwen2 llama-bpe; do
  tj=.cache/tokenizer-json/$v/tokenizer.json
  [ -s "$tj" ] || "$PY" tools/fixtures/gguf_vocab_to_tokenizer_json.py \
    .cache/llama-cpp-python/models/ggml-vocab-$v.gguf "$v" "$(dirname "$tj")" >/dev/null
done
ours_json="$(mktemp)"
trap 'rm -f "$ours_json"' EXIT
SCHWARM_BENCH_TEXT="$TEXT" "$BUILD/bench/tokenizer_bench" --benchmark_filter='BM_Encode' \
  --benchmark_format=json --benchmark_out="$ours_json" --benchmark_out_format=json >/dev/null
for v in qwen2 llama-bpe; do
  name="BM_Encode/${v//-/_}"
  ours=$("$PY" -c "import json,sys; b=[x for x in json.load(open(sys.argv[1]))['benchmarks'] if x['name'].split('/min_time')[0]==sys.argv[2]][0]; print(f\"{b['bytes_per_second']/1e6:.2f} {int(b['tokens'])}\")" "$ours_json" "$name")
  hf_all=$("$PY" bench/tokenizer_vs_hf.py ".cache/tokenizer-json/$v/tokenizer.json" "$TEXT" 3)
  hf=$(head -1 <<<"$hf_all"); hf_whole=$(tail -1 <<<"$hf_all" | awk '{print $2}')
  read -r ours_mbs ours_tokens <<<"$ours"
  hf_mbs=$(awk '{print $2}' <<<"$hf"); hf_tokens=$(awk '{print $4}' <<<"$hf")
  ratio=$(awk -v a="$ours_mbs" -v b="$hf_mbs" 'BEGIN{printf "%.2f", a/b}')
  echo "$v: schwarm $ours_mbs MB/s ($ours_tokens tokens), tokenizers $hf_mbs MB/s by paragraph ($hf_tokens tokens; $hf_whole MB/s as one string), ratio schwarm/tokenizers $ratio"
done

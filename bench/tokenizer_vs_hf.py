#!/usr/bin/env python3
"""Times the Python `tokenizers` package (Rust) encoding one text file with a tokenizer.json,
single call on the whole text like bench/tokenizer_bench.cpp, best of N runs, prints MB/s.

    python3 bench/tokenizer_vs_hf.py TOKENIZER_JSON TEXT_FILE [RUNS]

Output: one line "hf_tokenizers <MB/s> MB/s <tokens> tokens <bytes> bytes" (MB = 1e6 bytes).
"""
import os
import sys
import time

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAYON_NUM_THREADS", "1")
from tokenizers import Tokenizer  # noqa: E402


def main():
    tj, text_file = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    tok = Tokenizer.from_file(tj)
    text = open(text_file, encoding="utf-8", newline="").read()
    nbytes = len(text.encode("utf-8"))
    best, n = float("inf"), 0
    for _ in range(runs):
        t0 = time.perf_counter()
        n = len(tok.encode(text, add_special_tokens=False).ids)
        best = min(best, time.perf_counter() - t0)
    print(f"hf_tokenizers {nbytes / best / 1e6:.2f} MB/s {n} tokens {nbytes} bytes")


if __name__ == "__main__":
    main()

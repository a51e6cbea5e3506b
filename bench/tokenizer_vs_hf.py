#!/usr/bin/env python3
"""Times the Python `tokenizers` package (Rust) encoding one text file with a tokenizer.json,
best of N runs, prints MB/s. Two ways: the whole text in one encode() call (what
bench/tokenizer_bench.cpp does; `tokenizers` is very slow on multi-MB single strings), and the
text cut into paragraphs (at "\n\n") encoded with encode_batch on one thread (RAYON_NUM_THREADS=1),
which is how it is normally used; the wrapper takes the paragraph figure for the ratio.

    python3 bench/tokenizer_vs_hf.py TOKENIZER_JSON TEXT_FILE [RUNS]

Output: "hf_tokenizers <MB/s> MB/s <tokens> tokens <bytes> bytes paragraphs" then the same for
"whole" (MB = 1e6 bytes).
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
    parts = text.split("\n\n")
    paras = [p + "\n\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    best, n = float("inf"), 0
    for _ in range(runs):
        t0 = time.perf_counter()
        n = sum(len(e.ids) for e in tok.encode_batch(paras, add_special_tokens=False))
        best = min(best, time.perf_counter() - t0)
    print(f"hf_tokenizers {nbytes / best / 1e6:.2f} MB/s {n} tokens {nbytes} bytes paragraphs")
    t0 = time.perf_counter()
    n = len(tok.encode(text, add_special_tokens=False).ids)
    whole = time.perf_counter() - t0
    print(f"hf_tokenizers {nbytes / whole / 1e6:.2f} MB/s {n} tokens {nbytes} bytes whole")


if __name__ == "__main__":
    main()

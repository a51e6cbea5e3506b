#!/usr/bin/env python3
"""Bytes of weights one decode token reads from a GGUF MoE checkpoint, for the bandwidth-gap figure
in docs/PERFORMANCE.md: every tensor of the model, except that routed-expert tensors (*_exps)
count top_k / n_experts of their bytes and the token embedding one row. Needs the `gguf` package.

    bench/active_weight_bytes.py FILE.gguf [FILE.gguf ...]
"""
import sys

from gguf import GGUFReader


def field(reader, suffix):
    for name, f in reader.fields.items():
        if name.endswith(suffix):
            return int(f.parts[f.data[0]][0])
    return None


def active_bytes(path):
    r = GGUFReader(path)
    n_exp = field(r, ".expert_count")
    top_k = field(r, ".expert_used_count")
    total = active = 0
    for t in r.tensors:
        b = int(t.n_bytes)
        total += b
        if "_exps." in t.name:
            active += b * top_k // n_exp
        elif t.name == "token_embd.weight":
            active += b // int(t.shape[-1])  # one row (GGUF shape: [cols, rows])
        else:
            active += b
    return total, active, n_exp, top_k


def main():
    for p in sys.argv[1:]:
        total, active, n_exp, top_k = active_bytes(p)
        print(f"{p}: {total / 1e9:.3f} GB in the file, {active / 1e9:.3f} GB read per decode token "
              f"(top-{top_k} of {n_exp} experts)")


if __name__ == "__main__":
    main()

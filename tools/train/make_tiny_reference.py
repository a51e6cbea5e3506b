#!/usr/bin/env python3
"""Golden references for the shipped schwarm-tiny (run after export_tiny.py):

  tests/data/golden/schwarm-tiny/reference/        transformers (fp32 compute, eager attention) on
      prompt.json        models/schwarm-tiny (its bf16 weights upcast, the router bias f32):
      logits.npy         {"ids", "text"}: BOS + the first tokens of a held-out WordNet entry;
      continuation.json  logits of every prompt position [N, vocab]; 32 greedy tokens with margins;
      hidden_states.npy  [L+2, N, hidden] embeddings, each layer's output, the final norm;
      meta.json
  tests/data/golden/schwarm-tiny/reference-q8_0/   the same on the weights models/schwarm-tiny-q8_0.gguf
      holds (tools/fixtures/make_golden_file_reference.py's round trip, proven row by row against the file)
  models/schwarm-tiny/heldout.txt     held-out WordNet text (never trained on)
  models/schwarm-tiny/perplexity.json its perplexity, llama-perplexity's definition (perplexity.py),
                                      for the safetensors / f16 weights and for the q8_0 file's
  tests/data/golden/schwarm-tiny/heldout_ids.json   heldout.txt's token ids (no BOS), for a tokenizer check

    python tools/train/make_tiny_reference.py --corpus WORK/corpus
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "fixtures"))
import make_golden_file_reference as FR  # noqa: E402
import make_golden_models as G  # noqa: E402
from perplexity import llama_perplexity  # noqa: E402
from tiny_config import SEQ_LEN  # noqa: E402

HF_DIR = os.path.join(ROOT, "models", "schwarm-tiny")
Q8_GGUF = os.path.join(ROOT, "models", "schwarm-tiny-q8_0.gguf")
OUT = os.path.join(ROOT, "tests", "data", "golden", "schwarm-tiny")
PROMPT_LEN = 32
HELDOUT_ENTRIES = 120      # lines of the held-out text shipped as heldout.txt
DEFINITION = ("llama-perplexity (llama.cpp tools/perplexity): tokens = [BOS] + tokenize(text); "
              "n_chunk = len(tokens) // n_ctx; in each chunk the first token is replaced by BOS, the "
              "chunk is run in a fresh context, and only its second half is scored: -log p(x[i+1] | "
              "x[..i]) for i in [n_ctx/2, n_ctx-1); ppl = exp(mean over all scored tokens)")


def load(d):
    m, info = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager",
                                                   output_loading_info=True)
    assert not any(info.values()), info
    m.eval()
    for name, b in m.named_buffers():
        assert b.dtype == torch.float32, (name, b.dtype)
    return m


def pick_prompt(model, tok, lines, bos, tries):
    """The first held-out entry (of the first `tries`) whose greedy continuation has margins >= 0.05."""
    best = None
    for line in lines[:tries]:
        ids = [bos] + tok.encode(line + "\n").ids
        if len(ids) < PROMPT_LEN:
            continue
        ids = ids[:PROMPT_LEN]
        steps = G.greedy(model, ids, G.N_CONTINUE)
        mm = min(s["margin"] for s in steps)
        if best is None or mm > best[1]:
            best = (ids, mm, steps)
        if mm >= 0.05:
            break
    return best


def reference(model, ids, steps, rdir, extra):
    os.makedirs(rdir, exist_ok=True)
    logits = G.logits_of(model, ids).numpy().astype(np.float32)
    np.save(os.path.join(rdir, "logits.npy"), logits)
    G.write_json(os.path.join(rdir, "continuation.json"), {
        "prompt_ids": ids, "ids": [s["token"] for s in steps],
        "min_margin": min(s["margin"] for s in steps), "steps": steps})
    meta = {"min_greedy_margin": min(s["margin"] for s in steps),
            "min_prompt_margin": float(np.min(np.diff(np.sort(logits, axis=1)[:, -2:], axis=1))), **extra}
    G.write_json(os.path.join(rdir, "meta.json"), meta)
    return logits, meta


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--prompt-tries", type=int, default=40)
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    tok = Tokenizer.from_file(os.path.join(HF_DIR, "tokenizer.json"))
    bos = tok.token_to_id("<｜begin▁of▁sentence｜>")
    lines = [l for l in open(os.path.join(a.corpus, "heldout.txt")).read().split("\n") if l]

    # held-out text and its perplexity
    text = "\n".join(lines[:HELDOUT_ENTRIES]) + "\n"
    with open(os.path.join(HF_DIR, "heldout.txt"), "w") as f:
        f.write(text)
    ids_text = tok.encode(text).ids
    os.makedirs(OUT, exist_ok=True)
    G.write_json(os.path.join(OUT, "heldout_ids.json"), {"file": "models/schwarm-tiny/heldout.txt",
                                                         "add_bos": False, "ids": ids_text})
    model = load(HF_DIR)
    ppl = {}
    for n_ctx in (SEQ_LEN, SEQ_LEN // 2):
        p, nll, count = llama_perplexity(model, ids_text, n_ctx, bos)
        ppl[str(n_ctx)] = {"safetensors_or_f16": {"ppl": p, "mean_nll": nll}, "scored_tokens": count,
                           "n_chunk": (len(ids_text) + 1) // n_ctx}

    ids, mm, steps = pick_prompt(model, tok, lines, bos, a.prompt_tries)
    rdir = os.path.join(OUT, "reference")
    reference(model, ids, steps, rdir, {"prompt_text": tok.decode(ids[1:]), "reference":
              "transformers fp32, eager attention, on models/schwarm-tiny (bf16 weights, f32 router bias)"})
    with open(os.path.join(rdir, "prompt.json"), "w") as f:
        json.dump({"ids": ids, "text": tok.decode(ids[1:], skip_special_tokens=False)}, f, indent=2)
        f.write("\n")
    np.save(os.path.join(rdir, "hidden_states.npy"), G.layer_hidden_states(model, ids))
    fp32_logits = G.logits_of(model, ids).numpy()

    # the q8_0 file's own weights
    tmp = tempfile.mkdtemp(prefix="tiny-q8-")
    try:
        check = FR.make_copy("schwarm-tiny", "q8_0", HF_DIR, tmp, Q8_GGUF)
        mq = load(tmp)
        steps_q = G.greedy(mq, ids, G.N_CONTINUE)
        lq, _ = reference(mq, ids, steps_q, os.path.join(OUT, "reference-q8_0"), {
            "gguf": "models/schwarm-tiny-q8_0.gguf", **check,
            "reference": "transformers fp32, eager attention, on the weights of the q8_0 GGUF"})
        rel = np.linalg.norm(lq - fp32_logits, axis=1) / np.linalg.norm(fp32_logits, axis=1)
        print("q8_0 vs fp32 reference: max rel", rel.max(), "top-1",
              int((lq.argmax(1) == fp32_logits.argmax(1)).sum()), flush=True)
        for n_ctx in (SEQ_LEN, SEQ_LEN // 2):
            p, nll, _ = llama_perplexity(mq, ids_text, n_ctx, bos)
            ppl[str(n_ctx)]["q8_0"] = {"ppl": p, "mean_nll": nll}
    finally:
        shutil.rmtree(tmp)
    G.write_json(os.path.join(HF_DIR, "perplexity.json"), {
        "file": "heldout.txt", "n_tokens_without_bos": len(ids_text), "add_bos": True,
        "definition": DEFINITION, "by_n_ctx": ppl,
        "computed_by": "tools/train/make_tiny_reference.py (transformers fp32 compute, eager attention)"})
    print(json.dumps(ppl, indent=1))
    print("prompt min greedy margin", mm)


if __name__ == "__main__":
    main()

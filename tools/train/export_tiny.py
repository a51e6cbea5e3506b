#!/usr/bin/env python3
"""Ships a trained schwarm-tiny: the Hugging Face directory and the two GGUF files.

    python tools/train/export_tiny.py --work WORK/run --tokenizer WORK/tokenizer [--ckpt final.pt]

writes
  models/schwarm-tiny/            config.json (published DeepSeek-V3 field names), generation_config.json,
                                  model.safetensors (bf16; e_score_correction_bias f32, as real V3
                                  checkpoints keep it), tokenizer.json, tokenizer_config.json (chat template)
  models/schwarm-tiny-f16.gguf    llama.cpp's convert_hf_to_gguf.py (through make_golden_gguf.py's
  models/schwarm-tiny-q8_0.gguf   wrapper: pre-tokenizer "gpt-2", which is what the tokenizer uses)
"""
import argparse
import copy
import json
import os
import shutil
import subprocess
import sys

import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "fixtures"))
import make_golden_gguf as GG  # noqa: E402
import make_golden_models as G  # noqa: E402
from tiny_config import tiny_config  # noqa: E402
from train_tiny import build_model  # noqa: E402

MODELS = os.path.join(ROOT, "models")
HF_DIR = os.path.join(MODELS, "schwarm-tiny")


def published_config():
    c = tiny_config()
    c["transformers_version"] = transformers.__version__
    return c


def export_hf(state, tokenizer_dir, out):
    model = build_model(0)
    model.load_state_dict(state)
    m = copy.deepcopy(model).to(torch.bfloat16)
    with torch.no_grad():
        for (name, b), (_, b32) in zip(m.named_buffers(), model.named_buffers()):
            if name.endswith("e_score_correction_bias"):
                b.data = b32.detach().clone().float()   # real checkpoints keep it f32
    if os.path.isdir(out):
        for f in os.listdir(out):
            if f.endswith((".json", ".safetensors")):
                os.remove(os.path.join(out, f))
    os.makedirs(out, exist_ok=True)
    m.save_pretrained(out)
    G.write_json(os.path.join(out, "config.json"), published_config())
    G.rewrite_shards(out, lambda sd: dict(sorted(sd.items())))
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tokenizer_dir, f), out)


def export_gguf(hf_dir, outtype):
    out = os.path.join(MODELS, f"schwarm-tiny-{outtype}.gguf")
    cmd = [sys.executable, "-c", GG.WRAPPER, str(GG.LLAMA_CPP), hf_dir, "--outtype", outtype,
           "--outfile", out]
    r = subprocess.run(cmd, env=dict(os.environ, NO_LOCAL_GGUF="1"), capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout[-4000:] + r.stderr[-8000:])
        raise SystemExit(f"conversion failed: {outtype}")
    print(f"{os.path.relpath(out, ROOT)}: {os.path.getsize(out)} bytes", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--ckpt", default="final.pt")
    a = ap.parse_args()
    torch.set_num_threads(1)
    state = torch.load(os.path.join(a.work, a.ckpt), weights_only=False)["model"]
    export_hf(state, a.tokenizer, HF_DIR)
    for t in ("f16", "q8_0"):
        export_gguf(HF_DIR, t)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Trains schwarm-tiny: a small DeepSeek-V3-architecture model (transformers' own DeepseekV3
implementation: MLA with q_lora, one dense first layer, DeepSeekMoE layers with a shared expert,
16 routed experts, top-4, sigmoid scoring with the correction bias, grouped routing) on the WordNet
corpus made by prep_corpus.py, CPU only.

    python tools/train/train_tiny.py --corpus WORK/corpus --tokenizer WORK/tokenizer --work WORK/run
    python tools/train/train_tiny.py ... --pilot 20          # time 20 steps, write nothing

Training: fp32 master weights, AdamW, linear warmup + cosine decay, packed 256-token sequences that
each start with BOS (as llama-perplexity's chunks do). The router's e_score_correction_bias is not a
gradient parameter: after every step it is moved by DeepSeek-V3's auxiliary-loss-free balancing rule
bias_i += gamma * sign(mean load - load_i), loads counted over the step's tokens. The last
--chat-frac of the steps mix in the dialogue set derived from the same corpus (half of each batch).
Held-out loss (llama-perplexity's definition, see perplexity.py) is logged every --eval-every steps
to WORK/run/log.jsonl; WORK/run/ckpt.pt is written every --save-every steps and the run resumes from
it. Deterministic for a given seed and thread count (1: on a busy 2-core machine two torch threads
spin against other processes and ran 5x slower than one).
"""
import argparse
import json
import math
import os
import random
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from transformers import AutoConfig, AutoModelForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from perplexity import llama_perplexity  # noqa: E402
from tiny_config import SEQ_LEN, tiny_config  # noqa: E402


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


class Data:
    def __init__(self, corpus, tok, seed):
        self.tok = tok
        self.bos = tok.token_to_id("<｜begin▁of▁sentence｜>")
        self.eos = tok.token_to_id("<｜end▁of▁sentence｜>")
        user, asst = tok.token_to_id("<｜User｜>"), tok.token_to_id("<｜Assistant｜>")
        with open(os.path.join(corpus, "train.txt")) as f:
            lines = [l for l in f.read().split("\n") if l]
        self.lines = [e.ids for e in tok.encode_batch([l + "\n" for l in lines])]
        chats = [json.loads(l) for l in open(os.path.join(corpus, "chat_train.jsonl"))]
        u = tok.encode_batch([c["user"] for c in chats])
        a = tok.encode_batch([c["assistant"] for c in chats])
        self.chats = [[self.bos, user] + x.ids + [asst] + y.ids + [self.eos] for x, y in zip(u, a)]
        self.rng = random.Random(seed)
        self.text_buf, self.chat_buf = [], []
        self.n_text_tokens = sum(map(len, self.lines))
        log(f"train text: {len(self.lines)} lines, {self.n_text_tokens} tokens; "
            f"dialogues: {len(self.chats)}, {sum(map(len, self.chats))} tokens")

    def _fill(self, buf, items):
        order = list(range(len(items)))
        self.rng.shuffle(order)
        for i in order:
            buf.extend(items[i])

    def text_seq(self):
        """BOS + the next SEQ_LEN-1 tokens of the shuffled, packed text stream (+1 for the target)."""
        if len(self.text_buf) < SEQ_LEN:
            self._fill(self.text_buf, self.lines)
        s, self.text_buf = self.text_buf[:SEQ_LEN], self.text_buf[SEQ_LEN:]
        return [self.bos] + s

    def chat_seq(self):
        if len(self.chat_buf) < SEQ_LEN + 1:
            self._fill(self.chat_buf, self.chats)
        s, self.chat_buf = self.chat_buf[:SEQ_LEN + 1], self.chat_buf[SEQ_LEN + 1:]
        return s

    def state(self):
        return {"rng": self.rng.getstate(), "text_buf": self.text_buf, "chat_buf": self.chat_buf}

    def load_state(self, st):
        self.rng.setstate(st["rng"])
        self.text_buf, self.chat_buf = st["text_buf"], st["chat_buf"]


def build_model(seed):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(tiny_config(), f)
        cfg = AutoConfig.from_pretrained(d)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32, attn_implementation="sdpa")
    return model


def routers(model):
    return [m for n, m in model.named_modules() if type(m).__name__.endswith("TopkRouter")]


class LoadCounter:
    """Counts, per MoE layer, how many tokens each routed expert received (forward hooks)."""

    def __init__(self, model):
        self.rs = routers(model)
        self.n = self.rs[0].num_experts
        self.reset()
        for i, r in enumerate(self.rs):
            r.register_forward_hook(self._hook(i))

    def _hook(self, i):
        def h(mod, inp, out):
            self.counts[i] += torch.bincount(out[2].reshape(-1), minlength=self.n).to(torch.float64)
        return h

    def reset(self):
        self.counts = torch.zeros(len(self.rs), self.n, dtype=torch.float64)


def lr_at(step, a):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    p = (step - a.warmup) / max(1, a.steps - a.warmup)
    return a.lr * (a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--bias-gamma", type=float, default=2e-3)
    ap.add_argument("--chat-frac", type=float, default=0.15)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--eval-tokens", type=int, default=16384)
    ap.add_argument("--save-every", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--pilot", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.work, exist_ok=True)

    tok = Tokenizer.from_file(os.path.join(a.tokenizer, "tokenizer.json"))
    data = Data(a.corpus, tok, a.seed)
    held = tok.encode(open(os.path.join(a.corpus, "heldout.txt")).read()).ids
    model = build_model(a.seed)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"params {n_params}")
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "embed" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "embed" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    counter = LoadCounter(model)
    ckpt = os.path.join(a.work, "ckpt.pt")
    logf = os.path.join(a.work, "log.jsonl")
    step, elapsed = 0, 0.0
    if os.path.exists(ckpt) and not a.pilot:
        st = torch.load(ckpt, weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        data.load_state(st["data"])
        torch.set_rng_state(st["torch_rng"])
        step, elapsed = st["step"], st["elapsed"]
        log(f"resumed at step {step}")

    def evaluate():
        model.eval()
        ppl, nll, n = llama_perplexity(model, held[:a.eval_tokens], SEQ_LEN, data.bos)
        model.train()
        return nll, ppl

    chat_from = int(a.steps * (1 - a.chat_frac))
    model.train()
    t0 = time.time() - elapsed
    while step < (a.pilot or a.steps):
        if step % a.eval_every == 0 and not a.pilot:
            nll, ppl = evaluate()
            rec = {"step": step, "tokens": step * a.batch * SEQ_LEN, "heldout_nll": nll,
                   "heldout_ppl": ppl, "elapsed_s": time.time() - t0}
            with open(logf, "a") as f:
                f.write(json.dumps(rec) + "\n")
            log(f"step {step} heldout nll {nll:.4f} ppl {ppl:.2f}")
        if step % a.save_every == 0 and step > 0 and not a.pilot:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "data": data.state(),
                        "torch_rng": torch.get_rng_state(), "step": step,
                        "elapsed": time.time() - t0}, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
        n_chat = a.batch // 2 if step >= chat_from else 0
        seqs = [data.chat_seq() for _ in range(n_chat)] + \
               [data.text_seq() for _ in range(a.batch - n_chat)]
        x = torch.tensor(seqs)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a)
        counter.reset()
        logits = model(x[:, :-1], use_cache=False).logits
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():   # auxiliary-loss-free load balancing (DeepSeek-V3, sec. 2.1.2)
            for r, c in zip(counter.rs, counter.counts):
                r.e_score_correction_bias += a.bias_gamma * torch.sign(c.mean() - c).float()
        step += 1
        if step % 10 == 0 or a.pilot:
            cv = (counter.counts.std(1) / counter.counts.mean(1)).mean().item()
            log(f"step {step} loss {loss.item():.4f} lr {lr_at(step - 1, a):.2e} load-cv {cv:.3f} "
                f"{(time.time() - t0) / max(1, step):.2f} s/step")
    if a.pilot:
        return
    nll, ppl = evaluate()
    with open(logf, "a") as f:
        f.write(json.dumps({"step": step, "tokens": step * a.batch * SEQ_LEN, "heldout_nll": nll,
                            "heldout_ppl": ppl, "elapsed_s": time.time() - t0}) + "\n")
    torch.save({"model": model.state_dict(), "step": step, "elapsed": time.time() - t0,
                "args": vars(a), "n_text_tokens": data.n_text_tokens},
               os.path.join(a.work, "final.pt"))
    log(f"done: step {step} heldout nll {nll:.4f} ppl {ppl:.2f} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The figures of models/README.md for the shipped schwarm-tiny (run after export_tiny.py):

    python tools/train/report_tiny.py --corpus WORK/corpus --work WORK/run

  models/schwarm-tiny-loss.png         held-out loss / perplexity during training (WORK/run/log.jsonl)
  models/schwarm-tiny-expert-load.png  tokens per routed expert and MoE layer on the whole held-out text
  models/schwarm-tiny-train-log.jsonl  the training run's held-out log (a copy of WORK/run/log.jsonl)
  models/schwarm-tiny-report.json      parameters (total, active per token), training tokens and time,
                                       held-out perplexity of the shipped weights, load balance (with
                                       and without the correction bias), greedy samples
"""
import argparse
import json
import os
import shutil
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from perplexity import llama_perplexity  # noqa: E402
from tiny_config import SEQ_LEN  # noqa: E402

MODELS = os.path.join(ROOT, "models")
HF_DIR = os.path.join(MODELS, "schwarm-tiny")
TEXT_PROMPTS = ["dog (noun):", "happy (adjective):", "to run (verb): to"]
CHAT_PROMPTS = ['What does "river" mean?', 'What does "quickly" mean?', 'Use "music" in a sentence.']


def choose(scores_for_choice, n_group, topk_group, top_k):
    """DeepSeek-V3's noaux_tc choice (group score = sum of the group's top-2)."""
    t, e = scores_for_choice.shape
    gs = scores_for_choice.view(t, n_group, -1).topk(2, dim=-1)[0].sum(-1)
    gi = gs.topk(topk_group, dim=-1)[1]
    mask = torch.zeros_like(gs).scatter_(1, gi, 1).bool()
    mask = mask.unsqueeze(-1).expand(t, n_group, e // n_group).reshape(t, e)
    return scores_for_choice.masked_fill(~mask, float("-inf")).topk(top_k, dim=-1)[1]


@torch.no_grad()
def load_stats(model, ids, bos):
    """Held-out perplexity, and the tokens each expert gets on those chunks (with and without the bias)."""
    cfg = model.config
    routers = [m for n, m in model.named_modules() if type(m).__name__.endswith("TopkRouter")]
    counts = torch.zeros(len(routers), cfg.n_routed_experts)
    counts_nb = torch.zeros_like(counts)
    changed = [0]
    total = [0]

    def hook(i):
        def h(mod, inp, out):
            logits, _, idx = out
            counts[i] += torch.bincount(idx.reshape(-1), minlength=cfg.n_routed_experts).float()
            nb = choose(logits.sigmoid(), cfg.n_group, cfg.topk_group, cfg.num_experts_per_tok)
            counts_nb[i] += torch.bincount(nb.reshape(-1), minlength=cfg.n_routed_experts).float()
            changed[0] += int((idx.sort(-1)[0] != nb.sort(-1)[0]).any(-1).sum())
            total[0] += idx.shape[0]
        return h
    hs = [r.register_forward_hook(hook(i)) for i, r in enumerate(routers)]
    ppl = llama_perplexity(model, ids, SEQ_LEN, bos)   # the loads are counted on the same chunks
    for h in hs:
        h.remove()

    def summary(cn):
        mean = cn.mean(1, keepdim=True)
        return {"max_over_mean": [round(float(v), 3) for v in (cn.max(1)[0] / mean[:, 0])],
                "min_over_mean": [round(float(v), 3) for v in (cn.min(1)[0] / mean[:, 0])],
                "cv": [round(float(v), 3) for v in (cn.std(1) / mean[:, 0])]}
    biases = [r.e_score_correction_bias.tolist() for r in routers]
    return ppl, counts, counts_nb, {"tokens": (len(ids) + 1) // SEQ_LEN * SEQ_LEN, "with_bias": summary(counts),
                               "without_bias": summary(counts_nb),
                               "token_layers_whose_experts_change_without_bias": f"{changed[0]}/{total[0]}",
                               "bias_range_per_layer": [[round(min(b), 4), round(max(b), 4)] for b in biases]}


def plot_loss(log, path):
    recs = [json.loads(l) for l in open(log)]
    x = [r["tokens"] / 1e6 for r in recs]
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=90)
    ax.plot(x, [r["heldout_nll"] for r in recs], "o-", ms=3)
    ax.set_xlabel("training tokens (millions)")
    ax.set_ylabel("held-out loss (nats/token)")
    ax.set_title("schwarm-tiny: held-out loss (16k held-out tokens, llama-perplexity def., n_ctx 256)",
                 fontsize=9)
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    lo, hi = ax.get_ylim()
    import math
    ax2.set_ylim(math.exp(lo), math.exp(hi))
    ax2.set_yscale("log")
    ax2.set_ylabel("perplexity")
    fig.tight_layout()
    fig.savefig(path)
    return recs


def plot_load(counts, counts_nb, path):
    n_layers, n_exp = counts.shape
    fig, axes = plt.subplots(1, n_layers, figsize=(3.2 * n_layers, 3), dpi=90, sharey=True)
    for i, ax in enumerate(axes):
        share = counts[i] / counts[i].sum() * n_exp
        share_nb = counts_nb[i] / counts_nb[i].sum() * n_exp
        ax.bar(range(n_exp), share.numpy(), label="as routed (with bias)")
        ax.plot(range(n_exp), share_nb.numpy(), "k.", label="without the bias")
        ax.axhline(1.0, color="gray", lw=0.8)
        ax.set_title(f"MoE layer {i + 1}", fontsize=9)
        ax.set_xlabel("expert")
    axes[0].set_ylabel("tokens / mean tokens per expert")
    axes[0].legend(fontsize=7)
    fig.suptitle("schwarm-tiny: expert load on the held-out text", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)


@torch.no_grad()
def samples(model, tok):
    out = {"text": [], "chat": []}
    for p in TEXT_PROMPTS:
        ids = torch.tensor([[tok.bos_token_id] + tok(p, add_special_tokens=False).input_ids])
        g = model.generate(ids, max_new_tokens=40, do_sample=False)
        out["text"].append({"prompt": p, "greedy": tok.decode(g[0, ids.shape[1]:])})
    for p in CHAT_PROMPTS:
        ids = tok.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                      return_tensors="pt", return_dict=True)["input_ids"]
        g = model.generate(ids, max_new_tokens=48, do_sample=False, eos_token_id=tok.eos_token_id)
        out["chat"].append({"user": p, "greedy": tok.decode(g[0, ids.shape[1]:], skip_special_tokens=True)})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    torch.set_num_threads(1)
    model = AutoModelForCausalLM.from_pretrained(HF_DIR, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    tok = AutoTokenizer.from_pretrained(HF_DIR)
    cfg = model.config
    total = sum(p.numel() for p in model.parameters())
    expert = 3 * cfg.hidden_size * cfg.moe_intermediate_size
    n_moe = cfg.num_hidden_layers - cfg.first_k_dense_replace
    inactive = n_moe * (cfg.n_routed_experts - cfg.num_experts_per_tok) * expert
    emb = model.model.embed_tokens.weight.numel() + model.lm_head.weight.numel()
    held = tok(open(os.path.join(a.corpus, "heldout.txt")).read(), add_special_tokens=False).input_ids
    (ppl, nll, count), counts, counts_nb, load = load_stats(model, held, tok.bos_token_id)
    recs = plot_loss(os.path.join(a.work, "log.jsonl"), os.path.join(MODELS, "schwarm-tiny-loss.png"))
    plot_load(counts, counts_nb, os.path.join(MODELS, "schwarm-tiny-expert-load.png"))
    shutil.copy(os.path.join(a.work, "log.jsonl"), os.path.join(MODELS, "schwarm-tiny-train-log.jsonl"))
    final = torch.load(os.path.join(a.work, "final.pt"), weights_only=False)
    rep = {
        "parameters_total": total, "parameters_active_per_token": total - inactive,
        "parameters_total_without_embeddings": total - emb,
        "parameters_active_without_embeddings": total - inactive - emb,
        "training": {"steps": final["step"], "tokens": recs[-1]["tokens"], "seconds": round(final["elapsed"]),
                     "args": {k: v for k, v in final["args"].items()
                                                                  if k not in ("corpus", "tokenizer", "work")}, "corpus_text_tokens_per_epoch": final["n_text_tokens"]},
        "heldout": {"tokens": len(held), "scored_tokens": count, "ppl": ppl, "mean_nll": nll,
                    "definition": "llama-perplexity, n_ctx 256 (tools/train/perplexity.py)",
                    "weights": "shipped bf16 (fp32 compute)"},
        "expert_load": load,
        "samples": samples(model, tok),
    }
    with open(os.path.join(MODELS, "schwarm-tiny-report.json"), "w") as f:
        json.dump(rep, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(json.dumps(rep, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()

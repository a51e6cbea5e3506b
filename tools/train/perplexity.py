"""Perplexity as llama.cpp's llama-perplexity computes it (tools/perplexity/perplexity.cpp,
perplexity()), for a transformers causal LM:

  tokens = tokenize(text) with BOS prepended (the tokenizer's add_bos_token is true)
  n_chunk = len(tokens) // n_ctx
  for each chunk c: x = tokens[c*n_ctx : (c+1)*n_ctx], then x[0] = BOS (the first token of every
      chunk is replaced by BOS); logits = model(x) (a fresh context per chunk);
      score the second half only: for i in [n_ctx/2, n_ctx-1): nll += -log softmax(logits[i])[x[i+1]]
  ppl = exp(sum nll / count), count = n_chunk * (n_ctx - 1 - n_ctx/2)
"""
import math

import torch


@torch.no_grad()
def llama_perplexity(model, ids, n_ctx, bos, prepend_bos=True):
    """ids: the text's token ids without BOS. Returns (ppl, mean nll, count)."""
    tokens = ([bos] if prepend_bos else []) + list(ids)
    n_chunk = len(tokens) // n_ctx
    first = n_ctx // 2
    nll, count = 0.0, 0
    for c in range(n_chunk):
        x = tokens[c * n_ctx:(c + 1) * n_ctx]
        x[0] = bos
        logits = model(torch.tensor([x]), use_cache=False).logits[0].double()
        lp = torch.log_softmax(logits[first:n_ctx - 1], dim=-1)
        tgt = torch.tensor(x[first + 1:n_ctx])
        nll -= lp.gather(1, tgt[:, None]).sum().item()
        count += n_ctx - 1 - first
    mean = nll / count
    return math.exp(mean), mean, count

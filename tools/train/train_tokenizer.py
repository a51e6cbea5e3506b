#!/usr/bin/env python3
"""Trains schwarm-tiny's byte-level BPE tokenizer on the training corpus (prep_corpus.py's
train.txt and the user/assistant text of chat_train.jsonl), with the `tokenizers` package.

The pre-tokenizer is GPT-2's (ByteLevel, its regex, no prefix space), so llama.cpp's "gpt-2"
pre-tokenizer and our engine split text exactly as the HF tokenizer does. Special tokens use
DeepSeek-V3's spellings; the chat template is V3's shape (BOS, <｜User｜>, <｜Assistant｜>, EOS).

    python tools/train/train_tokenizer.py --corpus WORK/corpus --out WORK/tokenizer
"""
import argparse
import json
import os

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

VOCAB_SIZE = 4096
BOS, EOS, USER, ASSISTANT, PAD = ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>",
                                  "<｜Assistant｜>", "<｜▁pad▁｜>")
SPECIALS = [BOS, EOS, USER, ASSISTANT, PAD]
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] }}"
    "{% elif message['role'] == 'user' %}{{ '<｜User｜>' + message['content'] }}"
    "{% elif message['role'] == 'assistant' %}{{ '<｜Assistant｜>' + message['content'] + eos_token }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<｜Assistant｜>' }}{% endif %}")


def texts(corpus):
    with open(os.path.join(corpus, "train.txt")) as f:
        yield from f
    with open(os.path.join(corpus, "chat_train.jsonl")) as f:
        for line in f:
            c = json.loads(line)
            yield c["user"]
            yield c["assistant"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=SPECIALS, min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(texts(a.corpus), trainer=trainer)
    tok.save(os.path.join(a.out, "tokenizer.json"))
    cfg = {"add_bos_token": True, "add_eos_token": False, "bos_token": BOS, "eos_token": EOS,
           "pad_token": PAD, "clean_up_tokenization_spaces": False, "legacy": True,
           "model_max_length": 4096, "tokenizer_class": "PreTrainedTokenizerFast",
           "chat_template": CHAT_TEMPLATE}
    with open(os.path.join(a.out, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print("vocab", tok.get_vocab_size(), "specials", [tok.token_to_id(s) for s in SPECIALS])


if __name__ == "__main__":
    main()

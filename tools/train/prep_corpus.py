#!/usr/bin/env python3
"""Builds the schwarm-tiny corpus from WordNet 3.0 (Debian package `wordnet-base`, WordNet 3.0
licence: permissive, BSD-style; files /usr/share/wordnet/data.{noun,verb,adj,adv}).

Every synset becomes one line of English text (its lemmas, part of speech, gloss, examples), e.g.
    kill (noun): the destruction of an enemy plane or ship or tank or missile. Example: "the pilot reported two kills during the mission".
and, honestly derived from the same synsets, a small dialogue set of two turn shapes:
    What does "kill" mean?     -> kill (noun): the destruction of an enemy plane or ship ...
    Use "kill" in a sentence.  -> The pilot reported two kills during the mission.
(the second only where the example really contains the word).

Synsets are split into train / held-out by a seeded hash of their offset and part of speech, so
the held-out text never appears in training (neither as text nor as a dialogue answer).

    python tools/train/prep_corpus.py --out WORK/corpus      # writes train.txt, heldout.txt,
                                                             # chat_train.jsonl, chat_heldout.jsonl
"""
import argparse
import hashlib
import json
import os
import re

POS = {"n": "noun", "v": "verb", "a": "adjective", "s": "adjective", "r": "adverb"}
FILES = ("data.noun", "data.verb", "data.adj", "data.adv")
HELDOUT_PER_MILLE = 20     # 2% of synsets are held out


def parse(path):
    """Yields (key, lemmas, pos, definition, examples) for each synset line of a WordNet data file."""
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):          # licence header
                continue
            head, _, gloss = line.rstrip("\n").partition(" | ")
            fields = head.split(" ")
            offset, ss_type, w_cnt = fields[0], fields[2], int(fields[3], 16)
            lemmas = []
            for i in range(w_cnt):
                w = fields[4 + 2 * i]
                w = re.sub(r"\((a|p|ip)\)$", "", w).replace("_", " ")
                if w not in lemmas:
                    lemmas.append(w)
            gloss = gloss.strip()
            examples = [e.strip() for e in re.findall(r'"([^"]+)"', gloss)]
            definition = gloss.split('"')[0].strip().rstrip(";").strip()
            if not definition:
                continue
            yield f"{ss_type}{offset}", lemmas, POS[ss_type], definition, examples


def held_out(key, seed):
    h = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(h[:4], "little") % 1000 < HELDOUT_PER_MILLE


def entry_text(lemmas, pos, definition, examples):
    t = f"{', '.join(lemmas[:4])} ({pos}): {definition}."
    if examples:
        t += " Example: " + "; ".join(f'"{e}"' for e in examples[:2]) + "."
    return t


def sentence(e):
    e = e[0].upper() + e[1:]
    return e if e[-1] in ".!?" else e + "."


def dialogues(lemmas, pos, definition, examples):
    w = lemmas[0]
    out = [{"user": f'What does "{w}" mean?', "assistant": f"{w} ({pos}): {definition}."}]
    for e in examples:
        if re.search(r"\b" + re.escape(w.lower()), e.lower()):
            out.append({"user": f'Use "{w}" in a sentence.', "assistant": sentence(e)})
            break
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    text = {"train": [], "heldout": []}
    chat = {"train": [], "heldout": []}
    for fn in FILES:
        for key, lemmas, pos, d, ex in parse(os.path.join(a.wordnet, fn)):
            split = "heldout" if held_out(key, a.seed) else "train"
            text[split].append(entry_text(lemmas, pos, d, ex))
            chat[split].extend(dialogues(lemmas, pos, d, ex))
    for split in ("train", "heldout"):
        with open(os.path.join(a.out, f"{split}.txt"), "w") as f:
            f.write("\n".join(text[split]) + "\n")
        with open(os.path.join(a.out, f"chat_{split}.jsonl"), "w") as f:
            for c in chat[split]:
                f.write(json.dumps(c) + "\n")
        print(f"{split}: {len(text[split])} entries, "
              f"{sum(len(t) + 1 for t in text[split])} chars, {len(chat[split])} dialogues")


if __name__ == "__main__":
    main()

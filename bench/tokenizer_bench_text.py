#!/usr/bin/env python3
"""Writes the English benchmark text for the tokenizer benchmarks (deterministic, ~4 MB):
prose-like sentences from a fixed word list with numbers, punctuation, contractions and
paragraphs, so that the words are varied rather than one paragraph repeated.

    python3 bench/tokenizer_bench_text.py OUT.txt [MEGABYTES]
"""
import random
import sys

WORDS = """the of and to in is was that for it with as his on be at by had are but from or have an
they which one you were her all she there would their we him been has when who will more no if out
so said what up its about into than them can only other new some could time these two may then do
first any my now such like our over man me even most made after also did many before must through
back years where much your way well down should because each just those people how too little state
good very make world still own see men work long get here between both life being under never day
same another know while last might us great old year off come since against go came right used take
three states himself few house use during without again place american around however home small
found thought went say part once general high upon school every don't does got united left number
course war until always away something fact through water less public put thing almost hand enough
far took head yet government system better set told nothing night end why called didn't eyes find
going look asked later knew point next city business give group toward young let room president side
social given present several order national possible rather second face per among form important
often things looked early white case john become large big need four within felt along children saw
best church ever least power development light thought family interest want members mind country
river mountain garden library engine language model expert router token weight matrix memory cache
it's isn't we've they're you'll I'd she's wasn't couldn't o'clock""".split()


def main():
    out = sys.argv[1]
    target = int(float(sys.argv[2]) * 1e6) if len(sys.argv) > 2 else 4_000_000
    rng = random.Random(20261127)
    parts, size = [], 0
    while size < target:
        para = []
        for _ in range(rng.randint(3, 8)):
            n = rng.randint(6, 24)
            words = [rng.choice(WORDS) for _ in range(n)]
            if rng.random() < 0.3:
                words.insert(rng.randrange(n), str(rng.choice([rng.randint(0, 99), rng.randint(100, 99999),
                                                               rng.randint(1900, 2030)])))
            if rng.random() < 0.2:
                i = rng.randrange(n)
                words[i] = words[i] + ","
            s = " ".join(words)
            s = s[0].upper() + s[1:]
            if rng.random() < 0.1:
                s = '"' + s + '"'
            para.append(s + rng.choice([".", ".", ".", "?", "!", ";"]))
        p = " ".join(para) + "\n\n"
        parts.append(p)
        size += len(p.encode())
    with open(out, "w", encoding="utf-8", newline="") as f:
        f.write("".join(parts))


if __name__ == "__main__":
    main()

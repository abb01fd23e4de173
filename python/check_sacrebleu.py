#!/usr/bin/env python3
"""Writes the expected numbers of Tests/TrainingTests/SequenceMetricsTests.swift with the real sacrebleu.

    python python/check_sacrebleu.py [--corpora ../shared/corpora] [--extract]

(run from the package root, with sacrebleu installed: `pip install sacrebleu`; the fixture was
written with sacrebleu 2.6.0 on Python 3.11). For every case it prints and stores in
Tests/Fixtures/seq2seq/sacrebleu-expected.json:

- ``sacrebleu.corpus_bleu(hyps, [refs])`` (defaults: 13a, mixed case, smooth exp, no effective
  order) or with ``tokenize='zh'``: the score, n-gram matches and totals, hypothesis and reference
  lengths, the signature;
- ``sacrebleu.corpus_chrf(hyps, [refs])`` (defaults: nc 6, nw 0, beta 2, no whitespace): the score
  and the summed [hyp, ref, match] statistics per order;
- the sequence error rate and the token error rate exactly as /work/shared/bench/seq2seq_torch.py
  computes them (its `edit` function), over the units the corruption worked on (words split on
  " ", or the characters of a Chinese review).

Cases: hand-made edge cases (inline in the JSON), an excerpt of UD English-EWT dev committed in
Tests/Fixtures/seq2seq/en-ewt-dev-excerpt.txt (CC BY-SA 4.0; `--extract` rewrites it from the
corpora) corrupted at three levels, and two cases read from the shared corpora at test time
(UD English-EWT test, the Chinese online-shopping reviews: not committed, the Swift test skips
them without the corpora). Hypotheses are made by `corrupt` below (drop, swap, replace, insert
units, driven by SplitMix64), which the Swift test reimplements line for line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys

import sacrebleu
from sacrebleu.metrics import BLEU, CHRF

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "seq2seq")
EXCERPT = os.path.join(FIXTURES, "en-ewt-dev-excerpt.txt")
EXPECTED = os.path.join(FIXTURES, "sacrebleu-expected.json")

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed: int):
        self.state = seed & MASK

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)


# Units the corruption inserts: 13a's hard cases (numbers, abbreviations, quotes, dashes) and, for
# Chinese, full-width punctuation, Latin words and numbers inside Chinese text.
POOL = {
    "word": ["the", "a", "of", "U.S.", "3.5", "don't", "\"", "--", "(", ")", "e-mail", "1990-2000", ",", "&amp;", "it's."],
    "char": ["的", "了", "好", "不", "，", "。", "OK", "iPad", "3.5", "!", "酒店", "…", "“", "—"],
}


def corrupt(units: list[str], rng: SplitMix64, level: int, pool: list[str]) -> list[str]:
    """A quarter of the sentences are kept; in the others each unit is dropped, swapped with the
    next, replaced or followed by an insertion, each with probability level %, level %, level %, level/2 %."""
    if rng.next() % 4 == 0:
        return list(units)
    out: list[str] = []
    i = 0
    while i < len(units):
        r = rng.next() % 100
        if r < level:
            i += 1
        elif r < 2 * level and i + 1 < len(units):
            out += [units[i + 1], units[i]]
            i += 2
        elif r < 3 * level:
            out.append(pool[rng.next() % len(pool)])
            i += 1
        elif r < 3 * level + level // 2:
            out += [units[i], pool[rng.next() % len(pool)]]
            i += 1
        else:
            out.append(units[i])
            i += 1
    return out


def lines(path: str) -> list[str]:
    with open(path, encoding="utf-8", newline="") as f:
        return f.read().split("\n")


def ewt_texts(path: str) -> list[str]:
    return [line[len("# text = "):] for line in lines(path) if line.startswith("# text = ")]


def review_texts(path: str) -> list[str]:
    """Reviews of rows without a quote, 8 to 100 code points long, in file order."""
    out = []
    for line in lines(path)[1:]:
        parts = line.split(",", 2)
        if len(parts) == 3 and '"' not in line and 8 <= len(parts[2]) <= 100:
            out.append(parts[2])
    return out


def select(texts: list[str], every: int, count: int) -> list[str]:
    return texts[::every][:count]


def edit(a_, b_):  # /work/shared/bench/seq2seq_torch.py
    d = list(range(len(b_) + 1))
    for i in range(1, len(a_) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b_) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (a_[i - 1] != b_[j - 1])); prev, d[j] = d[j], cur
    return d[-1]


def units_of(text: str, unit: str) -> list[str]:
    return [w for w in text.split(" ") if w] if unit == "word" else list(text)


def joined(units: list[str], unit: str) -> str:
    return " ".join(units) if unit == "word" else "".join(units)


def scores(hyps: list[str], refs: list[str], tokenize: str) -> dict:
    bleu = BLEU(tokenize=tokenize)
    b = bleu.corpus_score(hyps, [refs])
    chrf = CHRF()
    c = chrf.corpus_score(hyps, [refs])
    stats = [int(x) for x in sacrebleu.utils.sum_of_lists(chrf._extract_corpus_statistics(hyps, [refs]))]
    return {
        "bleu": b.score, "bleu_counts": list(b.counts), "bleu_totals": list(b.totals),
        "sys_len": b.sys_len, "ref_len": b.ref_len, "bleu_signature": str(bleu.get_signature()),
        "chrf": c.score, "chrf_stats": stats, "chrf_signature": str(chrf.get_signature()),
    }


HAND = [
    ("identical", "13a", ["The cat sat on the mat."], ["The cat sat on the mat."]),
    ("empty hypothesis", "13a", ["", "a small test of it"], ["a reference here", "a small test of it"]),
    ("all empty hypotheses", "13a", ["", ""], ["one two three four", "five"]),
    ("empty reference", "13a", ["something said here", "same words again ok"], ["", "same words again ok"]),
    ("hypothesis longer than reference", "13a", ["the quick brown fox jumps over the lazy dog again and again"], ["the quick brown fox jumps"]),
    ("no 4-gram matches", "13a", ["a b c d e f", "x y z"], ["a b c x e f", "x y w"]),
    ("no 3-gram matches", "13a", ["a b x c d"], ["a b y c d"]),
    ("no matches at all", "13a", ["alpha beta"], ["gamma delta"]),
    ("short segments", "13a", ["a", "b c", "ab"], ["a", "b d", "ba"]),
    ("13a punctuation and numbers", "13a",
     ["It costs 3.5 dollars in the U.S., don't it?", "He said \"yes\" -- well, 1990-2000 (roughly).",
      "e-mail me at john@example.com; 5,000 people & more", "&quot;Quoted&quot; &amp; &lt;tags&gt; <skipped> here",
      "Dr. Smith's 2nd-floor office: 10-12 a.m.", "[brackets] {braces} a|b ~tilde^ `tick` $5 #1 50% *star* +plus= x/y"],
     ["It cost 3.5 dollars in the U.S. , doesn't it ?", "He said \"yes\"--well, 1990 - 2000 (roughly).",
      "email me at john@example.com; 5.000 people and more", "\"Quoted\" & <tags> here",
      "Dr. Smith's second-floor office : 10-12 a.m.", "[brackets] {braces} a | b ~tilde^ `tick` $ 5 # 1 50 % *star* +plus = x / y"]),
    ("13a dots and commas", "13a", ["1.5.2 a.b. ...x, ,y 3,,4 7-", "end. .start 2. .3 x.5 5.x"],
     ["1.5.2 a.b. ... x , , y 3,,4 7 -", "end . . start 2 . .3 x.5 5.x"]),
    ("unicode whitespace and quotes", "13a", ["“Curly” quotes\u00a0and\u2009thin spaces — dash…", "tab\there  and\nnewline- \nbreak"],
     ["“Curly” quotes and thin spaces — dash …", "tab here and newline break"]),
    ("zh mixed Chinese and Latin", "zh",
     ["我在2019年买了iPad Pro，价格是3.5千元。", "这个酒店很好，服务也不错！OK", "质量一般——不推荐…", "Hello, world: 你好世界"],
     ["我在2019年买的iPad Pro，价钱是3.5千元。", "这家酒店很好，服务不错！", "质量很一般，不推荐。", "Hello world：你好，世界"]),
    ("zh punctuation ranges", "zh", ["“引号”和‘单引号’ ① ★ ☆ → ∑ ℃", "全角ＡＢＣ１２３ 半角ABC123 ｶﾀｶﾅ"],
     ["“引号” 和 ‘单引号’ ① ★ → ∑ ℃", "全角ＡＢＣ１２３ 半角 ABC 123 ｶﾀｶﾅ"]),
    ("13a on Chinese", "13a", ["我在2019年买了iPad Pro，价格是3.5千元。"], ["我在2019年买的iPad Pro，价钱是3.5千元。"]),
]


def random_pairs(seed: int, n: int, pieces: list[str]) -> tuple[list[str], list[str]]:
    """References glued from pieces that exercise the tokenizers' regexes against each other;
    hypotheses are the same pieces with a fifth of them replaced."""
    rng = SplitMix64(seed)
    hyps, refs = [], []
    for _ in range(n):
        ref = [pieces[rng.next() % len(pieces)] for _ in range(3 + rng.next() % 25)]
        hyp = [pieces[rng.next() % len(pieces)] if rng.next() % 5 == 0 else p for p in ref]
        hyps.append("".join(hyp)); refs.append("".join(ref))
    return hyps, refs


RANDOM_13A = ["a", "b", "Z", "1", "9", ".", ",", "-", "'", "\"", "&", "&quot;", "&amp;", "&lt;", "&gt;", ";", ":", "(", ")",
              " ", "  ", "\t", "\n", "-\n", "<skipped>", "/", "$", "%", "@", "é", "e\u0301", "\u00a0", "\u200b", "—", "…", "x.5", "5,"]
RANDOM_ZH = ["中", "文", "，", "。", "“", "”", "a", "B", "1", ".", ",", "-", " ", "\u3000", "ｶ", "Ａ", "１", "—", "…", "𠀀", "★", "3.5", "&amp;"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", default=os.path.join(ROOT, "..", "shared", "corpora"))
    parser.add_argument("--extract", action="store_true", help="rewrite the committed English excerpt from the corpora")
    a = parser.parse_args()
    if a.extract:
        excerpt = select(ewt_texts(os.path.join(a.corpora, "ud", "en_ewt-ud-dev.conllu")), 20, 100)
        os.makedirs(FIXTURES, exist_ok=True)
        with open(EXCERPT, "w", encoding="utf-8", newline="") as f:
            f.write("\n".join(excerpt) + "\n")

    hand = HAND + [
        ("random 13a strings", "13a", *random_pairs(11, 80, RANDOM_13A)),
        ("random zh strings", "zh", *random_pairs(12, 80, RANDOM_ZH)),
    ]
    cases = []
    for name, tok, hyps, refs in hand:
        case = {"name": name, "tokenize": tok, "hypotheses": hyps, "references": refs}
        case.update(scores(hyps, refs, tok))
        cases.append(case)

    # Corrupted real text: (name, source, where, unit, tokenize, every, count, level, seed)
    excerpt = lines(EXCERPT)[:-1]
    sources = [
        ("en-ewt-dev excerpt level 5", "fixture", "en-ewt-dev-excerpt.txt", "word", "13a", 1, 100, 5, 1),
        ("en-ewt-dev excerpt level 10", "fixture", "en-ewt-dev-excerpt.txt", "word", "13a", 1, 100, 10, 2),
        ("en-ewt-dev excerpt level 20", "fixture", "en-ewt-dev-excerpt.txt", "word", "13a", 1, 100, 20, 3),
        ("en-ewt-test 300", "corpora", "ud/en_ewt-ud-test.conllu", "word", "13a", 7, 300, 10, 4),
        ("zh reviews 300", "corpora", "chinese/online_shopping_10_cats.csv", "char", "zh", 150, 300, 10, 5),
        ("zh reviews 300 with 13a", "corpora", "chinese/online_shopping_10_cats.csv", "char", "13a", 150, 300, 10, 5),
    ]
    for name, kind, where, unit, tok, every, count, level, seed in sources:
        if kind == "fixture":
            texts = select(excerpt, every, count)
        elif where.startswith("ud/"):
            texts = select(ewt_texts(os.path.join(a.corpora, where)), every, count)
        else:
            texts = select(review_texts(os.path.join(a.corpora, where)), every, count)
        rng = SplitMix64(seed)
        ref_units = [units_of(t, unit) for t in texts]
        hyp_units = [corrupt(u, rng, level, POOL[unit]) for u in ref_units]
        hyps = [joined(u, unit) for u in hyp_units]
        refs = [joined(u, unit) for u in ref_units]
        case = {"name": name, "tokenize": tok, "source": {"kind": kind, "path": where, "unit": unit, "every": every,
                                                          "count": count, "level": level, "seed": seed},
                "segments": len(texts), "hypothesis_code_points": sum(map(len, hyps)),
                "reference_code_points": sum(map(len, refs))}
        if kind == "fixture":  # no text of the corpora in the fixture (the reviews state no licence)
            case.update({"first_hypothesis": hyps[0], "first_reference": refs[0]})
        case.update(scores(hyps, refs, tok))
        case["sequence_error_rate"] = sum(h != r for h, r in zip(hyp_units, ref_units)) / len(ref_units)
        case["token_error_rate"] = sum(edit(h, r) for h, r in zip(hyp_units, ref_units)) / sum(len(r) for r in ref_units)
        case["edit_distance"] = sum(edit(h, r) for h, r in zip(hyp_units, ref_units))
        case["reference_units"] = sum(len(r) for r in ref_units)
        cases.append(case)

    out = {
        "sacrebleu": sacrebleu.__version__,
        "python": platform.python_version(),
        "command": "python python/check_sacrebleu.py (from the package root)",
        "cases": cases,
    }
    with open(EXPECTED, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    for c in cases:
        print(f"{c['name']:40s} BLEU={c['bleu']:.4f} chrF={c['chrf']:.4f}"
              + (f" ser={c['sequence_error_rate']:.4f} ter={c['token_error_rate']:.4f}" if "token_error_rate" in c else ""))
    print(f"sacrebleu {sacrebleu.__version__}, wrote {os.path.relpath(EXPECTED, ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()

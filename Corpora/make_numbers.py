#!/usr/bin/env python3
"""Writes numbers.csv: number names in English and Chinese -> their digits, one token per digit
(a sequence-to-sequence task), with the number of digits as a classification label.

The numbers are drawn with a fixed seed from 0-9999: every one-digit number in both languages, then
(per language) 30 two-digit, 55 three-digit and 55 four-digit numbers, so about one in three of
each has a zero digit inside it ("one thousand and five" -> "1 0 0 5", 一千零五).
English spells numbers the British way ("two hundred and five", "forty-two"); Chinese uses 两 before
百 and 千 (两百, 两千), 二 elsewhere, 零 for a gap, and 十 alone for 10-19 (十二, but 一百一十二).
Run from anywhere: python3 Corpora/make_numbers.py
"""
import csv, os, random

ONES = "zero one two three four five six seven eight nine".split()
TEENS = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()

def en_below_100(n):
    if n < 10: return ONES[n]
    if n < 20: return TEENS[n - 10]
    t, u = divmod(n, 10)
    return TENS[t] + ("-" + ONES[u] if u else "")

def english(n):
    if n < 100: return en_below_100(n)
    th, rest = divmod(n, 1000)
    h, r = divmod(rest, 100)
    parts = []
    if th: parts.append(ONES[th] + " thousand")
    if h: parts.append(ONES[h] + " hundred")
    if r: parts.append("and " + en_below_100(r))
    return " ".join(parts)

ZH = "零一二三四五六七八九"

def chinese(n):
    if n < 10: return ZH[n]
    if n < 20: return "十" + (ZH[n - 10] if n > 10 else "")
    digits = [int(d) for d in str(n)]
    units = ["千", "百", "十", ""][4 - len(digits):]
    out, gap = "", False
    for d, unit in zip(digits, units):
        if d == 0:
            gap = True
            continue
        if gap and out: out += "零"
        gap = False
        out += ("两" if d == 2 and unit in ("千", "百") else ZH[d]) + unit
    return out

def main():
    rng = random.Random(5)
    rows = []
    for lang, name in (("en", english), ("zh", chinese)):
        picked = list(range(10))
        for lo, hi, k in ((10, 99, 30), (100, 999, 55), (1000, 9999, 55)):
            picked += rng.sample(range(lo, hi + 1), k)
        for n in picked:
            rows.append((name(n), " ".join(str(n)), str(len(str(n))), lang))
    rng.shuffle(rows)
    assert chinese(1005) == "一千零五" and chinese(2010) == "两千零一十" and chinese(112) == "一百一十二"
    assert english(1005) == "one thousand and five" and english(342) == "three hundred and forty-two"
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "numbers.csv")
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "source", "target", "digits", "lang"])
        for i, r in enumerate(rows, 1):
            w.writerow(["n%03d" % i, *r])
    print(f"{out}: {len(rows)} pairs")

if __name__ == "__main__":
    main()

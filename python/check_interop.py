#!/usr/bin/env python3
"""Checks that python/mtl_torch.py computes what mtl-train computes.

    python check_interop.py MODEL [MODEL ...] --texts FILE [--mtl-train PATH] [--tolerance 1e-4]

For each model folder (an ``mtl-train export`` folder or a checkpoint folder) it runs
``mtl-train predict --model MODEL --input FILE --logits`` (one text a line), feeds the token ids
mtl-train read to ``mtl_torch``, and checks, for every task and text:

- max |Δlogit| ≤ tolerance between mtl_torch's scores and mtl-train's (per-token scores, the CRF
  emissions, for tagging and spans tasks; an empty text has none);
- the labels or tags ``mtl_torch`` decodes from its own scores equal mtl-train's (argmax, sigmoid
  > 0.5, Viterbi under the tag constraints) — a decision whose margin is within the tolerance
  may flip and is reported, not failed;
- decoding mtl-train's own scores in Python gives exactly mtl-train's labels and tags.

Prints one line per task (kind, head, max |Δ|, decisions compared) and exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mtl_torch  # noqa: E402


def swift_decisions(task: dict, prediction: dict):
    """mtl-train's decision for one text and task, in mtl_torch.decode's form."""
    if task["kind"] == "classification":
        return prediction["label"]
    if task["kind"] == "multilabel":
        return [x["label"] for x in prediction["labels"]]
    return [tok["tag"] for tok in prediction["tokens"]]


def same(kind: str, a, b) -> bool:
    if kind == "multilabel":
        return sorted(a) == sorted(b)
    return a == b


def margin(kind: str, head: str, z: torch.Tensor, threshold_logit: float = 0.0) -> float:
    """How far a decision is from flipping (sequence heads and softmax token heads); inf for CRF paths."""
    if kind == "multilabel":
        return float((z - threshold_logit).abs().min()) if z.numel() else float("inf")
    if head == "crf":
        return float("inf")
    if z.numel() == 0 or z.shape[-1] < 2:
        return float("inf")
    top2 = z.topk(2, dim=-1).values
    return float((top2[..., 0] - top2[..., 1]).min())


def check(model_dir: str, texts: str, binary: str, tolerance: float, threads: int) -> bool:
    cmd = [binary, "predict", "--model", model_dir, "--input", texts, "--logits", "--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"FAIL {model_dir}: {' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()}")
        return False
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    model = mtl_torch.load(model_dir)
    cfg = model.config
    print(f"{model_dir}: {len(lines)} texts; emb {cfg['embeddingSize']}, hidden {cfg['hiddenSize']}, layers {cfg['layers']}, "
          f"bidirectional {str(cfg['bidirectional']).lower()}, pooling {cfg['pooling']}, head hidden {cfg['headHidden']}")
    ids, lengths = model.batch([line["token_ids"] for line in lines])
    with torch.no_grad():
        ours = model(ids, lengths)
        ours_decoded = model.decode(ids, lengths, logits=ours)
    # mtl-train's scores in forward()'s shapes, to decode them in Python too.
    theirs = {}
    for spec in cfg["tasks"]:
        name, t_max = spec["name"], ids.shape[1]
        if spec["kind"] in ("tagging", "spans"):
            z = torch.zeros(len(lines), t_max, len(spec["labels"]))
            for b, line in enumerate(lines):
                # mtl-train leaves a token-level task out of "logits" when no text of its batch has tokens.
                rows = line["logits"].setdefault(name, []) if not line["token_ids"] else line["logits"].get(name, [])
                if rows:
                    z[b, :len(rows)] = torch.tensor(rows, dtype=torch.float32)
        else:
            z = torch.tensor([line["logits"][name] for line in lines], dtype=torch.float32)
        theirs[name] = z
    theirs_decoded = model.decode(ids, lengths, logits=theirs)

    ok = True
    for spec in cfg["tasks"]:
        name, kind, head = spec["name"], spec["kind"], spec["head"]
        worst, problems, flips, compared = 0.0, [], [], 0
        for b, line in enumerate(lines):
            n = len(line["token_ids"])
            if int(lengths[b]) != n:
                problems.append(f"text {b + 1}: length {int(lengths[b])} vs {n}")
            mine = ours[name][b, :n] if kind in ("tagging", "spans") else ours[name][b]
            swift = theirs[name][b, :n] if kind in ("tagging", "spans") else theirs[name][b]
            if kind in ("tagging", "spans") and len(line["logits"][name]) != n:
                problems.append(f"text {b + 1}: mtl-train wrote {len(line['logits'][name])} score rows for {n} tokens")
                continue
            if not torch.isfinite(mine).all():
                problems.append(f"text {b + 1}: non-finite scores in mtl_torch")
            d = float((mine - swift).abs().max()) if mine.numel() else 0.0
            worst = max(worst, d)
            if d > tolerance:
                problems.append(f"text {b + 1}: max |Δ| {d:.3g}")
            expected = swift_decisions(spec, line["tasks"][name])
            compared += 1
            if not same(kind, theirs_decoded[name][b], expected):
                problems.append(f"text {b + 1}: Python decodes mtl-train's scores as {theirs_decoded[name][b]}, mtl-train said {expected}")
            if not same(kind, ours_decoded[name][b], expected):
                if margin(kind, head, swift) <= tolerance:
                    flips.append(f"text {b + 1}: near-tie decided differently ({ours_decoded[name][b]} vs {expected})")
                else:
                    problems.append(f"text {b + 1}: mtl_torch decodes {ours_decoded[name][b]}, mtl-train {expected}")
        status = "ok  " if not problems else "FAIL"
        print(f"  {status} {name:<16} {kind:<14} {head:<7} max |Δlogit| {worst:.3g}  decisions equal on {compared - len(flips)}/{compared} texts")
        for p in problems[:10]:
            print(f"       {p}")
        for f in flips[:10]:
            print(f"       note: {f}")
        ok = ok and not problems
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help="model folders (mtl-train export output or checkpoint folders)")
    ap.add_argument("--texts", required=True, help="a text file, one text a line (empty lines are empty texts)")
    ap.add_argument("--mtl-train", default=os.environ.get("MTL_TRAIN") or shutil.which("mtl-train") or "mtl-train",
                    help="the mtl-train binary (default: $MTL_TRAIN, else mtl-train on PATH)")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=2, help="mtl-train predict --threads")
    args = ap.parse_args()
    torch.set_num_threads(1)
    results = [check(m, args.texts, args.mtl_train, args.tolerance, args.threads) for m in args.models]
    failed = results.count(False)
    print("interop: all models agree" if not failed else f"interop: {failed} of {len(results)} models disagree")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())

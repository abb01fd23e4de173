#!/usr/bin/env python3
"""Runs every pipeline of Pipelines/ (or those given) end to end with the release tools and prints the
README's results table: per pipeline and task the main metric on the test part, the majority-class
baseline, and for single-label classification tasks what ../shared/bench/train_torch.py reaches with the
same sizes, tokens, data and epochs; and the wall time of each stage. Standard library only (plus the
torch venv when --torch-python is given).

usage: python/results.py [PIPELINE.yaml ...] [--torch-python /tmp/peers/bin/python] [--work DIR] [--out FILE]
                         [--bin DIR] [--folds 5] [--merge]

A pipeline whose split has a test part: mtl-prep run, mtl-train --pipeline, mtl-train eval --checkpoint
best --part test (the best checkpoint by the dev part).

A pipeline without one (a k-fold split, or ratios without a test share): mean ± std (n - 1) over
--folds folds. The pipeline's data stages run as the file says; then a K-fold split `cvK` with the file's
split settings (stratify, group, seed; no held-out test), one vocabulary per fold (`cvK-f0` …) with the
file's vocab settings, and `mtl-train cv` with the file's train: section given as options (mtl-train cv
does not read --pipeline). Each fold is scored on its own held-out part with the checkpoint that part
selected (mtl-train cv's definition), so the figure is optimistic by the choice of epoch; the notes give
each fold's last checkpoint too (no selection, as train_torch.py scores). Where the
file's grouping leaves a fold empty, the split is made without it (said in the notes).

Majority baseline: the most frequent label of the training part (the vocabulary's label counts), scored on
the evaluated part (classification labels, tagging tokens); per fold, then mean ± std, for CV rows.

train_torch.py at equal settings: one CSV per single-label classification task (text,label), embedding
and hidden size, bidirectionality, batch size, max length and epochs from the run's config.json, tokens as
the pipeline's (words -> --tok icu, NFKC casefold + ICU words as our default; graphemes -> --tok char).
The script trains on each file's first 90% and tests on the last 10%; here it runs (the file unchanged,
through runpy-like exec) with that one line, `cut = int(len(rows) * 0.9)`, set to our boundary, so that
it tests on exactly our test part (or fold) and trains on the rest: train + dev for a test part (we train
on train and select on dev, so the comparison slightly favours it), the other folds for a fold. It takes
its last epoch; it has no dropout and no class balancing.

--merge builds the table from the rows that earlier runs saved in --work (NAME.rows.json), without
running anything: run pipelines one by one, then merge."""
import argparse, csv, glob, json, os, re, shutil, sqlite3, statistics, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("pipelines", nargs="*")
ap.add_argument("--torch-python")
ap.add_argument("--torch-script", default="../shared/bench/train_torch.py")
ap.add_argument("--work", default="results")
ap.add_argument("--out")
ap.add_argument("--bin", default=".build/release")
ap.add_argument("--folds", type=int, default=5, help="folds of the cross-validation of pipelines without a test part")
ap.add_argument("--merge", action="store_true", help="only assemble the table from the rows saved in --work")
a = ap.parse_args()
pipelines = a.pipelines or sorted(glob.glob("Pipelines/*.yaml"))
os.makedirs(a.work, exist_ok=True)
RUNS = os.path.join(a.work, "runs")


def tool(name, *args):
    t0 = time.time()
    r = subprocess.run([os.path.join(a.bin, name), *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{name} {' '.join(args)} failed:\n{r.stderr}")
    return r.stdout, time.time() - t0


# The few YAML forms Pipelines/*.yaml use in their sections: a one-line flow mapping, or a block of
# `key: value` lines; values are scalars (quoted or not) or one-line flow lists.
def split_top(s):
    out, depth, quote, cur = [], 0, None, ""
    for ch in s:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(cur.strip()); cur = ""; continue
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def unquote(v):
    return v[1:-1] if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"" else v


def section(text, name):
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(rf"{name}:(.*)$", line)
        if not m:
            continue
        rest = re.sub(r"\s+#.*$", "", m.group(1)).strip()
        if rest.startswith("{") and rest.endswith("}"):
            items = split_top(rest[1:-1])
        elif rest == "":
            items = []
            for l in lines[i + 1:]:
                if not l.strip() or l.lstrip().startswith("#"):
                    continue
                if not l[0].isspace():
                    break
                items.append(re.sub(r"\s+#.*$", "", l).strip())
        else:
            raise SystemExit(f"results.py reads a section as a one-line {{…}} or a block of key: value lines; not {name}: {rest}")
        sec = {}
        for it in items:
            k, sep, v = it.partition(":")
            v = v.strip()
            if not sep or not v:
                raise SystemExit(f"results.py cannot read '{it}' in the {name}: section")
            sec[k.strip().replace("_", "-")] = [unquote(x) for x in split_top(v[1:-1])] if v.startswith("[") else unquote(v)
        return sec
    return {}


BOOLEAN_VALUED = {"bidirectional", "input-feeding"}   # options that take the word true/false, not switches


def options(sec, drop=()):
    args = []
    for k, v in sec.items():
        if k in drop:
            continue
        for x in v if isinstance(v, list) else [v]:
            if x in ("true", "false") and k not in BOOLEAN_VALUED:
                args += [f"--{k}"] if x == "true" else []
            else:
                args += [f"--{k}", x]
    return args


def fmt(xs):
    if len(xs) == 1:
        return f"{xs[0]:.4f}"
    return f"{statistics.mean(xs):.4f} ± {statistics.stdev(xs):.4f}"


def task_id(db, task):
    return db.execute("SELECT id FROM tasks WHERE name = ?", (task,)).fetchone()[0]


def baseline(db, vid, t):
    """The training part's most frequent label (vocabulary label counts), scored on the evaluated part."""
    rep = t["report"]
    if t["kind"] == "classification" or (t["kind"] == "tagging" and "tokens" in rep):
        per = (rep["classification"] if t["kind"] == "classification" else rep["tokens"])["_0"]["perClass"]
        tid = task_id(db, t["task"])
        counts = dict(db.execute("SELECT label_id, count FROM vocab_labels WHERE vocab_id = ? AND task_id = ?", (vid, tid)))
        names = dict(db.execute("SELECT id, name FROM labels WHERE task_id = ?", (tid,)))
        majority = names[max(counts, key=counts.get)]
        total = sum(c["support"] for c in per)
        return sum(c["support"] for c in per if c["label"] == majority) / max(total, 1)
    return None


TORCH_RUNNER = r"""import json, sys
script, cuts = sys.argv[1], json.loads(sys.argv[2]); sys.argv = [script] + sys.argv[3:]
src = open(script, encoding="utf-8").read()
old = "cut = int(len(rows) * 0.9)"
if src.count(old) != 1: sys.exit("results.py: " + script + " no longer cuts its rows with '" + old + "'")
exec(compile(src.replace(old, "cut = __cuts__[path]"), script, "exec"), {"__name__": "__main__", "__file__": script, "__cuts__": cuts})
"""


def torch_tokens(text_sec):
    tok, norm = text_sec.get("tokenize", "words"), text_sec.get("normalize", "nfkc_cf")
    if tok == "words" and norm == "nfkc_cf":
        return "icu"
    if tok == "graphemes" and norm == "none":
        return "char"
    return None


def run_torch(name, tasks, db, split_id, order, config, tok):
    """train_torch.py on one CSV per task, rows in the order `order` gives (a key per (part, fold), None
    leaves a row out; False before True), cut where the True rows start. Returns {task: accuracy}, seconds, error."""
    model, training = config["model"], config["training"]
    files, cuts = [], {}
    for task in tasks:
        tid = task_id(db, task)
        names = dict(db.execute("SELECT id, name FROM labels WHERE task_id = ?", (tid,)))
        data = db.execute("""SELECT e.text, a.value, s.part, s.fold FROM examples e JOIN annotations a ON a.example_id = e.id
                             JOIN split_assignments s ON s.example_id = e.id AND s.split_id = ?
                             WHERE a.task_id = ? ORDER BY e.id""", (split_id, tid)).fetchall()
        data = [(order(part, fold), txt, v) for txt, v, part, fold in data]
        data = sorted((r for r in data if r[0] is not None), key=lambda r: r[0])
        f = os.path.join(a.work, f"{name}-{task}.csv")
        with open(f, "w", encoding="utf-8", newline="") as h:
            w = csv.writer(h); w.writerow(["text", "label"])
            for _, txt, v in data:
                w.writerow([txt, names[int.from_bytes(v[:4], "little")]])
        files.append(f)
        cuts[f] = sum(1 for r in data if not r[0])
    args = ["-c", TORCH_RUNNER, a.torch_script, json.dumps(cuts)]
    for f in files:
        args += ["--task", f]
    args += ["--emb", str(model["embeddingSize"]), "--hid", str(model["hiddenSize"]), "--bi", "1" if model["bidirectional"] else "0",
             "--batch", str(training["loader"]["batchSize"]), "--epochs", str(training.get("epochs") or 1),
             "--max-len", str(training["loader"]["maxLength"]), "--tok", tok, "--threads", "2"]
    t0 = time.time()
    r = subprocess.run([a.torch_python, *args], capture_output=True, text=True)
    seconds = time.time() - t0
    acc = {}
    for m in re.finditer(r"dev acc (\S+)\.csv: ([0-9.]+)", r.stdout):
        acc[m.group(1)[len(name) + 1:]] = float(m.group(2))
    error = None
    if r.returncode != 0 or len(acc) != len(tasks):
        error = f"train_torch.py failed (exit {r.returncode}): {r.stderr.strip()[-800:]}"
        print(f"{name}: {error}", file=sys.stderr)
    return acc, seconds, error


def seq2seq_note(name, t):
    m = t["metrics"]
    figures = ", ".join(f"{k} {m[k]:.4f}" for k in ("sequence_error_rate", "token_error_rate", "bleu", "chrf") if k in m)
    return f"{name} {t['task']} (seq2seq, {t['examples']} test examples): {figures}"


def with_test(p, name, store, text, db, split_id, t_prep, notes):
    train = section(text, "train")
    run = train.get("run") or name
    shutil.rmtree(os.path.join(RUNS, run), ignore_errors=True)
    _, t_train = tool("mtl-train", "--pipeline", p, "--store", store, "--runs-dir", RUNS, "--run", run)
    out, _ = tool("mtl-train", "eval", "--run", run, "--runs-dir", RUNS, "--checkpoint", "best", "--part", "test", "--json")
    ev = json.loads(out)
    config = json.load(open(os.path.join(RUNS, run, "config.json")))
    vid = db.execute("SELECT id FROM vocabularies WHERE name = ?", (config["training"]["vocabulary"],)).fetchone()[0]
    torch, t_torch = {}, 0.0
    classification = [t["task"] for t in ev["tasks"] if t["kind"] == "classification"]
    tok = torch_tokens(section(text, "text"))
    if a.torch_python and classification:
        if tok is None:
            notes.append(f"{name}: no train_torch.py run (its tokens cannot match the pipeline's text: section)")
        else:
            order = {"train": False, "dev": False, "test": True}
            torch, t_torch, error = run_torch(name, classification, db, split_id, lambda part, fold: order.get(part), config, tok)
            if error:
                notes.append(f"{name}: {error}")
    rows = []
    for t in ev["tasks"]:
        b = baseline(db, vid, t)
        if b is None and (t["kind"] == "spans" or "spans" in t["report"]):
            b = "0 (no spans)"   # span F1 of the majority tag (O): no spans predicted
        if t["kind"] == "seq2seq":
            notes.append(seq2seq_note(name, t))
        rows.append([name, t["task"], t["kind"], "test", str(t["examples"]), t["mainMetric"], fmt([t["metrics"].get(t["mainMetric"], 0)]),
                     fmt([b]) if isinstance(b, float) else (b or ""),
                     f"{torch[t['task']]:.4f} ({t_torch:.0f} s)" if t["task"] in torch else "", f"{t_prep:.0f} s + {t_train:.0f} s"])
    return rows, t_train, t_torch


def cross_validated(p, name, store, text, db, t_prep, notes):
    K = a.folds
    cv = f"cv{K}"
    split, vocab, train = section(text, "split"), section(text, "vocab"), section(text, "train")
    t0 = time.time()
    split_args = options(split, drop={"name", "ratios", "kfold", "test", "replace", "report", "json"})

    def make_split(args):
        tool("mtl-prep", "split", "--store", store, "--name", cv, "--kfold", str(K), *args, "--replace")
        sid = db.execute("SELECT id FROM splits WHERE name = ?", (cv,)).fetchone()[0]
        sizes = dict(db.execute("SELECT fold, count(*) FROM split_assignments WHERE split_id = ? AND fold IS NOT NULL GROUP BY fold", (sid,)))
        return sid, [sizes.get(k, 0) for k in range(K)]

    sid, sizes = make_split(split_args)
    if 0 in sizes and split.get("group", "none") != "none":
        grouped = sizes
        split_args = options({k: v for k, v in split.items() if k != "group"}, drop={"name", "ratios", "kfold", "test", "replace", "report", "json"})
        sid, sizes = make_split(split_args)
        notes.append(f"{name}: the {K}-fold split with the pipeline's group: {split['group']} left folds empty (fold sizes {grouped}), "
                     f"so the CV split groups only identical texts (fold sizes {sizes})")
    for k in range(K):
        tool("mtl-prep", "vocab", "build", "--store", store, "--name", f"{cv}-f{k}", "--split", cv, "--fold", str(k),
             *options(vocab, drop={"name", "split", "fold", "all", "replace", "json"}))
    t_prep += time.time() - t0
    run = (train.get("run") or name) + f"-{cv}"
    shutil.rmtree(os.path.join(RUNS, run), ignore_errors=True)
    out, t_train = tool("mtl-train", "cv", "--store", store, "--split", cv, "--vocab", f"{cv}-f{{fold}}", "--run", run, "--runs-dir", RUNS,
                        "--json", *options(train, drop={"run", "store", "split", "vocab", "fold", "pipeline", "json"}))
    result = json.loads(out)["settings"][0]
    per_task = {}   # task -> {kind, metric, values, baselines, examples, torch}
    folds = []
    for f in result["folds"]:
        folder = os.path.join(RUNS, run, f["run"])
        ev = json.load(open(os.path.join(folder, f"metrics-{f['step']}.json")))
        config = json.load(open(os.path.join(folder, "config.json")))
        vid = db.execute("SELECT id FROM vocabularies WHERE name = ?", (config["training"]["vocabulary"],)).fetchone()[0]
        folds.append((f["fold"], config))
        for t in ev["tasks"]:
            r = per_task.setdefault(t["task"], dict(kind=t["kind"], metric=t["mainMetric"], values=[], baselines=[], examples=0, torch=[],
                                                    spans=t["kind"] == "spans" or "spans" in t["report"]))
            r["values"].append(f["metrics"][t["task"]][t["mainMetric"]])
            r["examples"] += t["examples"]
            b = baseline(db, vid, t)
            if b is not None:
                r["baselines"].append(b)
            if t["kind"] == "seq2seq":
                notes.append(seq2seq_note(f"{name} fold {f['fold']}", t))
    # The last epoch's checkpoint of each fold on its fold, as train_torch.py scores (no selection): in the notes.
    last = {}
    for f in result["folds"]:
        out, _ = tool("mtl-train", "eval", "--run", f"{run}/{f['run']}", "--runs-dir", RUNS, "--checkpoint", "latest", "--part", "dev", "--json")
        for t in json.loads(out)["tasks"]:
            last.setdefault(t["task"], []).append(t["metrics"][t["mainMetric"]])
    t_torch = 0.0
    classification = [task for task, r in per_task.items() if r["kind"] == "classification"]
    tok = torch_tokens(section(text, "text"))
    if a.torch_python and classification:
        if tok is None:
            notes.append(f"{name}: no train_torch.py run (its tokens cannot match the pipeline's text: section)")
        for fold, config in folds if tok else []:
            acc, s, error = run_torch(name, classification, db, sid,
                                      lambda part, fd, k=fold: None if part != "train" else fd == k, config, tok)
            t_torch += s
            if error:
                notes.append(f"{name} fold {fold}: {error}")
            for task, v in acc.items():
                per_task[task]["torch"].append(v)
    rows = []
    for task, r in per_task.items():
        n = len(r["values"])
        rows.append([name, task, r["kind"], f"{n}-fold CV", f"{r['examples']} in {n} folds", r["metric"], fmt(r["values"]),
                     fmt(r["baselines"]) if len(r["baselines"]) == n else ("0 (no spans)" if r["spans"] else ""),
                     f"{fmt(r['torch'])} ({t_torch:.0f} s)" if len(r["torch"]) == n else "", f"{t_prep:.0f} s + {t_train:.0f} s"])
    notes.append(f"{name}: {n}-fold CV on split '{cv}' (mtl-train cv; per fold the checkpoint its own held-out fold selected); "
                 f"per fold {', '.join(f'{t}: ' + ', '.join(f'{v:.4f}' for v in r['values']) for t, r in per_task.items())}; "
                 f"the last epoch's checkpoint instead (no selection, as train_torch.py): {', '.join(f'{t} {fmt(v)}' for t, v in last.items())}")
    return rows, t_train, t_torch


def run_pipeline(p):
    t_start = time.time()
    text = open(p, encoding="utf-8").read()
    name = os.path.splitext(os.path.basename(p))[0]
    store = os.path.join(a.work, name + ".sqlite")
    _, t_prep = tool("mtl-prep", "run", p, "--store", store)
    db = sqlite3.connect(store)
    split_name = section(text, "split").get("name", "main")
    split_id = db.execute("SELECT id FROM splits WHERE name = ?", (split_name,)).fetchone()[0]
    has_test = db.execute("SELECT count(*) FROM split_assignments WHERE split_id = ? AND part = 'test'", (split_id,)).fetchone()[0] > 0
    notes = []
    if has_test:
        rows, t_train, t_torch = with_test(p, name, store, text, db, split_id, t_prep, notes)
    else:
        rows, t_train, t_torch = cross_validated(p, name, store, text, db, t_prep, notes)
    wall = time.time() - t_start
    print(f"{name}: done ({t_prep:.0f} s data, {t_train:.0f} s training, {t_torch:.0f} s train_torch.py, {wall:.0f} s in all)", file=sys.stderr)
    saved = dict(pipeline=p, rows=rows, notes=notes, wall=wall, train=t_train, torch=t_torch,
                 date=time.strftime("%Y-%m-%d %H:%M:%S %Z"), torch_script=a.torch_script if a.torch_python else None)
    json.dump(saved, open(os.path.join(a.work, name + ".rows.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=1)
    return saved


results = []
for p in pipelines:
    if a.merge:
        name = os.path.splitext(os.path.basename(p))[0]
        f = os.path.join(a.work, name + ".rows.json")
        if not os.path.exists(f):
            print(f"{name}: no saved rows ({f}): run it first", file=sys.stderr)
            continue
        results.append(json.load(open(f, encoding="utf-8")))
    else:
        results.append(run_pipeline(p))

table = ["| pipeline | task | kind | part | examples | metric | ours | majority baseline | train_torch.py | wall time (data + training) |",
         "|---|---|---|---|---|---|---|---|---|---|"]
table += ["| " + " | ".join(str(c) for c in r) + " |" for s in results for r in s["rows"]]
notes = [n for s in results for n in s["notes"]]
result = "\n".join(table) + "\n" + ("\n" + "\n".join(f"- {n}" for n in notes) + "\n" if notes else "")
if a.out:
    open(a.out, "w", encoding="utf-8").write(result)
print(result)

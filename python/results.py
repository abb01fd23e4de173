#!/usr/bin/env python3
"""Runs every pipeline of Pipelines/ (or those given) end to end with the release tools and prints the
README's results table: per pipeline and task the main metric on the test part (the dev part where a
pipeline has no test part), the majority-class baseline, and for single-label classification tasks
what ../shared/bench/train_torch.py reaches with the same sizes, tokens, data and epochs; and the wall
time of each stage. Standard library only (plus the torch venv when --torch-python is given).

usage: python/results.py [PIPELINE.yaml ...] [--torch-python /tmp/peers/bin/python] [--work DIR] [--out FILE]

Equal settings for train_torch.py: one CSV per classification task (text,label) holding the task's
examples in the order train, dev, test of the pipeline's split, so that the script's "last 10%" is the
test part when the split's test share is 10% (the pipelines here use 0.8/0.1/0.1 where they compare);
embedding and hidden size, bidirectionality, batch size and epochs from the run's config.json;
ICU word tokens (--tok icu, NFKC casefold as our default pipeline). The script trains on train + dev
(we train on train and select on dev), so the comparison slightly favours it."""
import argparse, csv, glob, json, os, re, sqlite3, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("pipelines", nargs="*")
ap.add_argument("--torch-python")
ap.add_argument("--torch-script", default="../shared/bench/train_torch.py")
ap.add_argument("--work", default="results")
ap.add_argument("--out")
ap.add_argument("--bin", default=".build/release")
a = ap.parse_args()
pipelines = a.pipelines or sorted(glob.glob("Pipelines/*.yaml"))
os.makedirs(a.work, exist_ok=True)


def tool(name, *args, capture=True):
    t0 = time.time()
    r = subprocess.run([os.path.join(a.bin, name), *args], capture_output=capture, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{name} {' '.join(args)} failed:\n{r.stderr}")
    return r.stdout, time.time() - t0


def key(text, name):
    m = re.search(rf"^\s*{name}:\s*(\S+)", text, re.M) or re.search(rf"[{{,]\s*{name}:\s*([^,}}\s]+)", text)
    return m.group(1) if m else None


rows = []
for p in pipelines:
    text = open(p, encoding="utf-8").read()
    name = os.path.splitext(os.path.basename(p))[0]
    store = os.path.join(a.work, name + ".sqlite")
    runs = os.path.join(a.work, "runs")
    _, t_prep = tool("mtl-prep", "run", p, "--store", store)
    run = key(text, "run") or name
    _, t_train = tool("mtl-train", "--pipeline", p, "--store", store, "--runs-dir", runs, "--run", run)
    db = sqlite3.connect(store)
    split_id, = db.execute("SELECT id FROM splits WHERE name = 'main'").fetchone()
    has_test = db.execute("SELECT count(*) FROM split_assignments WHERE split_id = ? AND part = 'test'", (split_id,)).fetchone()[0] > 0
    part = "test" if has_test else "dev"
    out, t_eval = tool("mtl-train", "eval", "--run", run, "--runs-dir", runs, "--checkpoint", "best", "--part", part, "--json")
    ev = json.loads(out)
    config = json.load(open(os.path.join(runs, run, "config.json")))
    model, training = config["model"], config["training"]
    vid, = db.execute("SELECT id FROM vocabularies WHERE name = ?", (training["vocabulary"],)).fetchone()
    torch_acc = {}
    classification = [t for t in ev["tasks"] if t["kind"] == "classification"]
    if a.torch_python and classification:
        files = []
        for t in classification:
            tid, = db.execute("SELECT id FROM tasks WHERE name = ?", (t["task"],)).fetchone()
            names = {i: n for i, n in db.execute("SELECT id, name FROM labels WHERE task_id = ?", (tid,))}
            order = {"train": 0, "dev": 1, "test": 2}
            data = db.execute("""SELECT e.text, a.value, s.part FROM examples e JOIN annotations a ON a.example_id = e.id
                                 JOIN split_assignments s ON s.example_id = e.id AND s.split_id = ?
                                 WHERE a.task_id = ? ORDER BY e.id""", (split_id, tid)).fetchall()
            data.sort(key=lambda r: order.get(r[2], 0))
            f = os.path.join(a.work, f"{name}-{t['task']}.csv")
            with open(f, "w", encoding="utf-8", newline="") as h:
                w = csv.writer(h); w.writerow(["text", "label"])
                for txt, v, _ in data:
                    w.writerow([txt, names[int.from_bytes(v[:4], "little")]])
            files.append(f)
        args = [a.torch_script]
        for f in files: args += ["--task", f]
        args += ["--emb", str(model["embeddingSize"]), "--hid", str(model["hiddenSize"]), "--bi", "1" if model["bidirectional"] else "0",
                 "--batch", str(training["loader"]["batchSize"]), "--epochs", str(training.get("epochs") or 1), "--tok", "icu", "--threads", "2"]
        t0 = time.time()
        r = subprocess.run([a.torch_python, *args], capture_output=True, text=True)
        t_torch = time.time() - t0
        for m in re.finditer(r"dev acc (\S+)\.csv: ([0-9.]+)", r.stdout):
            torch_acc[m.group(1)[len(name) + 1:]] = (float(m.group(2)), t_torch)
        if r.returncode != 0:
            print(f"train_torch.py failed for {name}: {r.stderr[-500:]}", file=sys.stderr)
    for t in ev["tasks"]:
        baseline = ""
        rep = t["report"]
        if t["kind"] == "classification":
            tid, = db.execute("SELECT id FROM tasks WHERE name = ?", (t["task"],)).fetchone()
            counts = {i: c for i, c in db.execute("SELECT label_id, count FROM vocab_labels WHERE vocab_id = ? AND task_id = ?", (vid, tid))}
            names = {i: n for i, n in db.execute("SELECT id, name FROM labels WHERE task_id = ?", (tid,))}
            majority = names[max(counts, key=counts.get)]
            per = rep["classification"]["_0"]["perClass"]
            total = sum(c["support"] for c in per)
            baseline = f"{sum(c['support'] for c in per if c['label'] == majority) / max(total, 1):.4f}"
        elif t["kind"] == "tagging" and "tokens" in rep:
            per = rep["tokens"]["_0"]["perClass"]
            total = sum(c["support"] for c in per)
            baseline = f"{max(c['support'] for c in per) / max(total, 1):.4f}"
        elif "spans" in rep or t["kind"] == "spans":
            baseline = "0 (no spans)"
        torch = torch_acc.get(t["task"])
        rows.append((name, t["task"], t["kind"], part, t["examples"], t["mainMetric"], f"{t['metrics'].get(t['mainMetric'], 0):.4f}", baseline,
                     f"{torch[0]:.4f} ({torch[1]:.0f} s)" if torch else "", f"{t_prep:.0f} s + {t_train:.0f} s"))
    print(f"{name}: done ({t_prep:.0f} s data, {t_train:.0f} s training)", file=sys.stderr)

table = ["| pipeline | task | kind | part | examples | metric | ours | majority baseline | train_torch.py | wall time (data + training) |",
         "|---|---|---|---|---|---|---|---|---|---|"]
table += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
result = "\n".join(table) + "\n"
if a.out:
    open(a.out, "w", encoding="utf-8").write(result)
print(result)

"""imported.py: peers' own measurements beside a ternbench run.

`ternbench import-llama-bench FILE.json [--ppl LOG] --engine NAME -o RUN/imported-NAME.json`
turns llama-bench / llama-perplexity output into a ternbench-imported/1 file.  Every
RUN/imported-*.json found beside RUN/results.json is merged here into the run's data
(keys "imported_e2e" and "imported_ppl"; each row's kernel reads "NAME (imported)"), so
plot_results.py draws them in the decode plot and lists them in summary.md, always
marked as imported: the peer measured them, ternbench did not.
"""
import glob
import json
import math
import os


def _num(x):
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def merge(d, run_dir):
    """Adds the rows of run_dir/imported-*.json to d; returns the files read."""
    files = sorted(glob.glob(os.path.join(run_dir, "imported-*.json")))
    d.setdefault("imported_e2e", [])
    d.setdefault("imported_ppl", [])
    for path in files:
        with open(path) as f:
            imp = json.load(f)
        if imp.get("schema") != "ternbench-imported/1":
            raise ValueError("%s: not a ternbench import-llama-bench file (schema %r)" % (path, imp.get("schema")))
        for r in imp.get("e2e", []):
            d["imported_e2e"].append(dict(r, source=os.path.basename(path)))
        for r in imp.get("ppl", []):
            d["imported_ppl"].append(dict(r, source=os.path.basename(path)))
    return files


def summary_lines(d):
    """Markdown: the imported speed rows (llama-bench layout), or nothing."""
    rows = d.get("imported_e2e", [])
    if not rows:
        return []
    L = ["## Imported from peers (their own measurements, not ternbench's)", "",
         "| engine | threads | test | tokens/s | +- | reps | file |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        ts = _num(r.get("decode_tok_s")) or _num(r.get("prefill_tok_s")) or _num(r.get("combined_tok_s"))
        sd = _num(r.get("decode_tok_s_sd")) if _num(r.get("decode_tok_s")) else _num(r.get("prefill_tok_s_sd"))
        L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            r.get("kernel"), r.get("threads"), r.get("test"), "%.2f" % ts if ts else "n/a",
            "%.2f" % sd if sd is not None else "n/a", r.get("reps", "?"), r.get("source")))
    return L + [""]

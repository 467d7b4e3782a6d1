#!/usr/bin/python3
"""compare_runs.py: compare two ternbench runs from their results.json alone.

usage: scripts/compare_runs.py RUN_A RUN_B [--threshold PCT]

RUN_A / RUN_B: results directories (results/<run>) or results.json files.
Prints, for rows present in both runs:
  - what differs in provenance (git sha, compiler, flags, CPU, cores, timer),
  - measured read bandwidth per thread count,
  - kernel GB/s per (kernel, shape, threads) with the ratio B/A,
  - end-to-end decode/prefill tokens/s per (kernel, threads),
  - perplexity / KL / top-1 / logits hash per kernel.
Speed rows that changed by more than --threshold percent (default 5) are flagged; a
changed roofline (bandwidth) is the first thing to look at before reading a
kernel ratio.  Rows only in one run are listed at the end.

Numerics are compared exactly, not by a threshold: the forward pass has fixed float
orders, so the same model bytes and the same code give the same perplexity, KL, top-1,
scored-logits hash (logits_fnv64) and first greedy token on any machine.  A changed
one is flagged "NUMERICS CHANGED" (perplexity beyond a relative 1e-9, which only
absorbs the last printed digit), and so is a changed model file (model_provenance
sha256) or synthetic generator version, which explains such a change.

Exit status: 0 no numerics change, 1 a numerics or model change was flagged (speed
differences never change the status: timings are noisy), 2 usage error.

Google Benchmark's own tool also works on the gbench.json of two runs:
  /usr/share/benchmark/compare.py benchmarks A/gbench.json B/gbench.json
(Debian package libbenchmark-tools; it needs python3-scipy).
"""
import json
import math
import os
import sys


def load(path):
    if os.path.isdir(path):
        path = os.path.join(path, "results.json")
    with open(path) as f:
        return json.load(f)


def num(x):
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def ratio_str(a, b, thr):
    if num(a) is None or num(b) is None or a == 0:
        return "n/a", False
    r = b / a
    flag = abs(r - 1) * 100 > thr
    return "%.3fx" % r, flag


def table(title, header, rows, empty="(no rows in common)"):
    print("\n## " + title)
    if not rows:
        print(empty)
        return
    w = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(str(h).ljust(w[i]) for i, h in enumerate(header)))
    for r in rows:
        print("  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)))


def fmt(x, f="%.2f"):
    return f % x if num(x) is not None else "n/a"


def model_of(R):
    """(sha256, synth_version, path) of the model a results.json was measured on."""
    mp = R.get("model_provenance") or {}
    return mp.get("sha256"), mp.get("synth_version"), mp.get("path") or R.get("run", {}).get("model")


def compare_model(A, B):
    (ha, va, pa), (hb, vb, pb) = model_of(A), model_of(B)
    rows, flagged = [], 0
    for what, a, b in (("sha256", ha, hb), ("synth_version", va, vb), ("path", pa, pb)):
        if a is None or b is None:
            note = "not recorded in %s" % ("A" if a is None else "B") if a != b else ""
        elif a != b and what != "path":
            note, flagged = "<-- MODEL CHANGED: numerics below are not expected to match", 1
        else:
            note = "" if a == b else "(another path: the hash decides)"
        rows.append([what, a if a is not None else "n/a", b if b is not None else "n/a", note])
    table("model measured", ["field", "A", "B", ""], rows)
    return flagged


def differs(a, b, rel=0.0):
    """True when both are recorded and differ (numbers: beyond a relative rel)."""
    if a is None or b is None:
        return False
    if num(a) is not None and num(b) is not None:
        return abs(a - b) > rel * max(abs(a), abs(b))
    return a != b


def compare_numerics(A, B, ea, eb):
    """Perplexity / KL / top-1 / logits hash per kernel and first greedy token per e2e row:
    any change is flagged.  Returns the number of flagged rows."""
    pa_ = {r["kernel"]: r for r in A.get("ppl", [])}
    pb_ = {r["kernel"]: r for r in B.get("ppl", [])}
    rows, flagged = [], 0
    for k in sorted(set(pa_) & set(pb_)):
        a, b = pa_[k], pb_[k]
        changed = [f for f, rel in (("ppl", 1e-9), ("kl", 0.0), ("top1", 0.0), ("logits_fnv64", 0.0))
                   if differs(a.get(f), b.get(f), rel)]
        flagged += bool(changed)
        ha, hb = a.get("logits_fnv64"), b.get("logits_fnv64")
        rows.append([k, fmt(a.get("ppl"), "%.4f"), fmt(b.get("ppl"), "%.4f"), fmt(a.get("kl"), "%.3g"),
                     fmt(b.get("kl"), "%.3g"), fmt(a.get("top1"), "%.4f"), fmt(b.get("top1"), "%.4f"),
                     "n/a" if ha is None or hb is None else ("same" if ha == hb else "differs"),
                     "<-- NUMERICS CHANGED: " + ", ".join(changed) if changed else ""])
    table("perplexity (compared exactly)",
          ["kernel", "ppl A", "ppl B", "KL A", "KL B", "top-1 A", "top-1 B", "logits hash", ""], rows)
    rows = []
    same_seed = A.get("run", {}).get("seed") == B.get("run", {}).get("seed")  # the prompt is seeded
    for k in sorted(set(ea) & set(eb)) if same_seed else []:
        fa, fb = ea[k].get("first_token"), eb[k].get("first_token")
        if fa is None or fb is None or ea[k].get("n_prompt") != eb[k].get("n_prompt"):
            continue
        if fa != fb:
            flagged += 1
            rows.append([k[0], k[1], fa, fb, "<-- NUMERICS CHANGED: first greedy token"])
    if rows:
        table("end to end: first greedy token", ["kernel", "threads", "A", "B", ""], rows)
    return flagged


def main(argv):
    args = [a for a in argv[1:]]
    thr = 5.0
    if "--threshold" in args:
        i = args.index("--threshold")
        try:
            thr = float(args[i + 1])
        except (IndexError, ValueError):
            print("compare_runs.py: --threshold needs a number", file=sys.stderr)
            return 2
        del args[i:i + 2]
    if len(args) != 2 or any(a in ("-h", "--help") for a in args):
        print(__doc__)
        return 0 if any(a in ("-h", "--help") for a in args) else 2
    try:
        A, B = load(args[0]), load(args[1])
    except (OSError, ValueError) as ex:
        print("compare_runs.py: %s" % ex, file=sys.stderr)
        return 1
    print("# A: %s\n# B: %s" % (args[0], args[1]))
    pa, pb = A.get("provenance", {}), B.get("provenance", {})
    diffs = [(k, pa.get(k), pb.get(k)) for k in sorted(set(pa) | set(pb))
             if k not in ("date_utc", "load_avg_start", "load_avg_end", "cpu_mhz", "busy", "busy_rule") and pa.get(k) != pb.get(k)]
    table("provenance differences", ["field", "A", "B"], [[k, a, b] for k, a, b in diffs], "(none)")
    for name, p in (("A", pa), ("B", pb)):  # the machine's state: not provenance, but it moves every speed row
        if p.get("busy"):
            print("WARNING: run %s ran on a busy machine (1-minute load %.2f at start; %s): its speed rows are not "
                  "comparable\n" % (name, (p.get("load_avg_start") or [0])[0], p.get("busy_rule", "?")))

    regressions = compare_model(A, B)

    bwa = {b["threads"]: b["gbps_median"] for b in A.get("bandwidth", [])}
    bwb = {b["threads"]: b["gbps_median"] for b in B.get("bandwidth", [])}
    rows = []
    for t in sorted(set(bwa) & set(bwb)):
        r, f = ratio_str(bwa[t], bwb[t], thr)
        rows.append([t, fmt(bwa[t]), fmt(bwb[t]), r, "<-- roofline changed" if f else ""])
    table("read bandwidth GB/s (the roofline)", ["threads", "A", "B", "B/A", ""], rows)

    def key(r):
        return (r["kernel"], r["shape"], r["threads"])
    ka = {key(r): r for r in A.get("kernels", [])}
    kb = {key(r): r for r in B.get("kernels", [])}
    rows = []
    neither = 0
    for k in sorted(set(ka) & set(kb)):
        a, b = ka[k], kb[k]
        if not a.get("timed") and not b.get("timed"):
            neither += 1
            continue
        if not a.get("timed") or not b.get("timed"):
            rows.append([k[0], k[1], k[2], fmt(a.get("weight_gbps")), fmt(b.get("weight_gbps")), "n/a",
                         "not timed in %s" % ("A" if not a.get("timed") else "B")])
            continue
        r, f = ratio_str(a["weight_gbps"], b["weight_gbps"], thr)
        rows.append([k[0], k[1], k[2], fmt(a["weight_gbps"]), fmt(b["weight_gbps"]), r, "<--" if f else ""])
    table("kernel weight GB/s (weights cold)", ["kernel", "shape", "threads", "A", "B", "B/A", ""], rows)
    if neither:
        print("(%d kernel x shape x threads rows timed in neither run: unsupported here or refused)" % neither)

    ea = {(r["kernel"], r["threads"]): r for r in A.get("e2e", [])}
    eb = {(r["kernel"], r["threads"]): r for r in B.get("e2e", [])}
    rows = []
    for k in sorted(set(ea) & set(eb)):
        a, b = ea[k], eb[k]
        r, f = ratio_str(a.get("decode_tok_s"), b.get("decode_tok_s"), thr)
        rp, fp = ratio_str(a.get("prefill_tok_s"), b.get("prefill_tok_s"), thr)
        rows.append([k[0], k[1], fmt(a.get("decode_tok_s")), fmt(b.get("decode_tok_s")), r,
                     fmt(a.get("prefill_tok_s"), "%.1f"), fmt(b.get("prefill_tok_s"), "%.1f"), rp,
                     "<--" if f or fp else ""])
    table("end to end (tokens/s)", ["kernel", "threads", "decode A", "decode B", "B/A", "prefill A", "prefill B", "B/A", ""],
          rows)

    regressions += compare_numerics(A, B, ea, eb)

    only = sorted(["A only: %s/%s/%s" % k for k in set(ka) - set(kb)] + ["B only: %s/%s/%s" % k for k in set(kb) - set(ka)])
    if only:
        print("\n## rows in one run only")
        for o in only:
            print(o)
    if A.get("run", {}).get("quick") != B.get("run", {}).get("quick"):
        print("\nNOTE: one run is --quick and the other is not: timings are not comparable.")
    if regressions:
        print("\n%d numerics/model change%s flagged (NUMERICS CHANGED / MODEL CHANGED above)" % (
            regressions, "s" if regressions > 1 else ""))
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

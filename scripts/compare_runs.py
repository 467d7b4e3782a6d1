#!/usr/bin/python3
"""compare_runs.py: compare two ternbench runs from their results.json alone.

usage: scripts/compare_runs.py RUN_A RUN_B [--threshold PCT]

RUN_A / RUN_B: results directories (results/<run>) or results.json files.
Prints, for rows present in both runs:
  - what differs in provenance (git sha, compiler, flags, CPU, cores, timer),
  - measured read bandwidth per thread count,
  - kernel GB/s per (kernel, shape, threads) with the ratio B/A,
  - end-to-end decode/prefill tokens/s per (kernel, threads),
  - perplexity / KL / top-1 per kernel.
Rows that changed by more than --threshold percent (default 5) are flagged; a
changed roofline (bandwidth) is the first thing to look at before reading a
kernel ratio.  Rows only in one run are listed at the end.

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
             if k not in ("date_utc",) and pa.get(k) != pb.get(k)]
    table("provenance differences", ["field", "A", "B"], [[k, a, b] for k, a, b in diffs], "(none)")

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

    pa_ = {r["kernel"]: r for r in A.get("ppl", [])}
    pb_ = {r["kernel"]: r for r in B.get("ppl", [])}
    rows = []
    for k in sorted(set(pa_) & set(pb_)):
        a, b = pa_[k], pb_[k]
        rows.append([k, fmt(a.get("ppl"), "%.4f"), fmt(b.get("ppl"), "%.4f"), fmt(a.get("kl"), "%.3g"),
                     fmt(b.get("kl"), "%.3g"), fmt(a.get("top1"), "%.4f"), fmt(b.get("top1"), "%.4f")])
    table("perplexity", ["kernel", "ppl A", "ppl B", "KL A", "KL B", "top-1 A", "top-1 B"], rows)

    only = sorted(["A only: %s/%s/%s" % k for k in set(ka) - set(kb)] + ["B only: %s/%s/%s" % k for k in set(kb) - set(ka)])
    if only:
        print("\n## rows in one run only")
        for o in only:
            print(o)
    if A.get("run", {}).get("quick") != B.get("run", {}).get("quick"):
        print("\nNOTE: one run is --quick and the other is not: timings are not comparable.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/python3
"""peers_report.py DIR: summary.md and peers.json from a `scripts/peers.sh run` directory.

For each engine, thread count and phase (prefill ppN, decode tgN): every sample, their
median and best, and the ratio ternbench / bitnet.cpp of the medians.  Decode is also
given as a fraction of the read bandwidth measured in the same pass (bytes per decoded
token from ternbench's own accounting, which both engines read: same model file).
Samples: llama-bench's per-repetition samples_ts; ternbench's per-repetition tok/s are
not kept separately, so each bench-e2e run contributes its mean (over 3 repetitions).
"""
import json
import os
import re
import statistics
import subprocess
import sys


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_llama_bench(path, engine):
    """[(phase, [tok/s samples])] from llama-bench -o json output, parsed by the one parser
    the project has: `ternbench import-llama-bench` ($TERNBENCH, else build/ternbench).
    A file it cannot parse (a failed run's log) gives no rows."""
    exe = os.environ.get("TERNBENCH") or os.path.join(ROOT, "build", "ternbench")
    r = subprocess.run([exe, "import-llama-bench", path, "--engine", engine, "-o", "-"], capture_output=True, text=True)
    if r.returncode != 0:
        print("peers_report.py: %s: %s" % (path, r.stderr.strip()), file=sys.stderr)
        return []
    return [(e["test"], e["samples_tok_s"] or [e["prefill_tok_s"] if e["test"].startswith("pp") else e["decode_tok_s"]])
            for e in json.loads(r.stdout)["e2e"]]


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "."
    raw = os.path.join(d, "raw")
    samples, bw, bytes_tok = {}, {}, {}
    for name in sorted(os.listdir(raw)):
        m = re.match(r"p(\d+)-t(\d+)-(\w+)\.(txt|json)$", name)
        if not m:
            continue
        p, t, what, ext = int(m[1]), int(m[2]), m[3], m[4]
        path = os.path.join(raw, name)
        if what == "bw" and ext == "json":
            bw.setdefault(t, []).append(json.load(open(path))["bandwidth"][0]["gbps_median"])
        elif what == "ternbench" and ext == "json":
            e = json.load(open(path))["e2e"][0]
            samples.setdefault(("ternbench", t, "pp%d" % e["n_prompt"]), []).append(e["prefill_tok_s"])
            samples.setdefault(("ternbench", t, "tg%d" % e["n_decode"]), []).append(e["decode_tok_s"])
            bytes_tok[t] = e["bytes_per_token"]
        elif what in ("bitnet", "ik") and ext == "txt":
            engine = "bitnet.cpp" if what == "bitnet" else "ik_llama.cpp"
            for phase, s in load_llama_bench(path, engine):
                samples.setdefault((engine, t, phase), []).extend(s)
    if not samples:
        sys.exit("peers_report.py: no results in %s" % raw)
    rows = []
    for (engine, t, phase), s in sorted(samples.items(), key=lambda kv: (-kv[0][1], kv[0][2], kv[0][0])):
        med = statistics.median(s)
        ref = samples.get(("bitnet.cpp", t, phase))
        row = {"engine": engine, "threads": t, "phase": phase, "n": len(s), "median_tok_s": med,
               "best_tok_s": max(s), "samples": s,
               "vs_bitnet_cpp": med / statistics.median(ref) if ref else None}
        if phase.startswith("tg") and t in bw and t in bytes_tok:
            row["bw_frac"] = med * bytes_tok[t] / 1e9 / statistics.median(bw[t])
        rows.append(row)
    setup = open(os.path.join(d, "setup.txt")).read() if os.path.exists(os.path.join(d, "setup.txt")) else ""
    json.dump({"setup": setup, "bandwidth_gbps": {str(k): v for k, v in bw.items()},
               "bytes_per_decoded_token": {str(k): v for k, v in bytes_tok.items()}, "rows": rows},
              open(os.path.join(d, "peers.json"), "w"), indent=1)
    with open(os.path.join(d, "summary.md"), "w") as f:
        f.write("# ternbench beside its peers (same model file, interleaved)\n\n```\n%s```\n\n" % setup)
        for t in sorted(bw, reverse=True):
            f.write("Read bandwidth, %d thread%s: median of passes %.1f GB/s (%s)\n\n" % (
                t, "s" if t > 1 else "", statistics.median(bw[t]), ", ".join("%.1f" % x for x in bw[t])))
        f.write("| engine | threads | test | median tok/s | best | n | vs bitnet.cpp | of read bandwidth |\n")
        f.write("|---|---|---|---|---|---|---|---|\n")
        for r in rows:
            f.write("| %s | %d | %s | %.2f | %.2f | %d | %s | %s |\n" % (
                r["engine"], r["threads"], r["phase"], r["median_tok_s"], r["best_tok_s"], r["n"],
                "%.2fx" % r["vs_bitnet_cpp"] if r["vs_bitnet_cpp"] else "-",
                "%.0f%%" % (100 * r["bw_frac"]) if r.get("bw_frac") else "-"))
        f.write("\nSamples: llama-bench's per-repetition tok/s; ternbench: each run's mean of 3 "
                "repetitions after a warm-up.  Load averages before each step: log.txt.\n")
    print(open(os.path.join(d, "summary.md")).read())


if __name__ == "__main__":
    main()

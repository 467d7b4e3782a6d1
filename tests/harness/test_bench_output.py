#!/usr/bin/python3
"""test_bench_output.py: what the timing commands print and record (issue 15):
  - bench's console table honours --benchmark_color: =false writes no ANSI escape into
    a redirected file, =true does (so the flag, not luck, decides);
  - roofline_frac is a plain fraction in the console table (no "/s" after it);
  - gbench.json's "threads" is ternbench's worker thread count (2 for threads:2 runs,
    aggregates included), not Google Benchmark's 1;
  - with --reps 2 every timed row carries the stddev over the repetitions (JSON
    seconds_sd, and a number in the table's +-sd column);
  - every result's provenance records the load average at start and end, the busy flag
    with its rule, the cpufreq governor;
  - bench-e2e -r 2 -o md prints llama-bench's markdown table: its header, a pp and a tg
    row with t/s as mean ± stddev."""
import json
import os
import re
import subprocess
import sys
import tempfile

tb = os.environ.get("TERNBENCH")
if not tb or not os.path.exists(tb):
    print("SKIP: TERNBENCH not set")
    sys.exit(77)
fails = 0


def check(cond, what, r=None):
    global fails
    print("%-4s %s" % ("ok" if cond else "FAIL", what))
    if not cond and r is not None:
        print("   rc %s\n   stdout %s\n   stderr %s" % (r.returncode, r.stdout[-1500:], r.stderr[-1500:]))
    fails += not cond


def run(args, **kw):
    return subprocess.run([tb] + args, capture_output=True, text=True, timeout=300, **kw)


BENCH = ["bench", "--kernel", "gemv_i2s_4x128__scalar", "--shapes", "256x256", "--threads", "1,2", "--min-time",
         "0.001", "--reps", "2", "--bw-bytes", "4M"]

with tempfile.TemporaryDirectory() as d:
    gb, js = os.path.join(d, "gb.json"), os.path.join(d, "rows.json")
    r = run(BENCH + ["--json", js, "--benchmark_color=false", "--benchmark_out=" + gb])
    if r.returncode != 0 and "Google Benchmark" in r.stderr and "need" in r.stderr:
        print("SKIP: built without Google Benchmark")
        sys.exit(77)
    check(r.returncode == 0, "bench with --benchmark_color=false runs", r)
    check("\x1b" not in r.stdout, "--benchmark_color=false: no ANSI escape in the redirected table")
    fr = re.findall(r"roofline_frac=(\S+)", r.stdout)
    check(fr and not any(v.endswith("/s") for v in fr), "roofline_frac printed as a fraction: %s" % fr[:3])
    g = json.load(open(gb))
    pairs = {(int(re.search(r"threads:(\d+)", b["name"]).group(1)), b["threads"]) for b in g["benchmarks"]}
    check(pairs == {(1, 1), (2, 2)}, "gbench.json threads = worker threads, aggregates included: %s" % sorted(pairs))
    rows = [x for x in json.load(open(js))["kernels"] if x["timed"]] if os.path.exists(js) else []
    check(len(rows) == 2 and all(isinstance(x.get("seconds_sd"), float) and x["reps"] == 2 for x in rows),
          "--reps 2: each timed row has seconds_sd and reps")
    table = [ln for ln in r.stdout.splitlines() if ln.startswith("gemv_i2s_4x128__scalar ")]
    check(len(table) == 2 and all(re.match(r"^\S+\s+\S+\s+\d+\s+[\d.]+\s+[\d.]+\s", ln) for ln in table),
          "the table shows a number in the +-sd column")
    p = json.load(open(js))["provenance"] if os.path.exists(js) else {}
    check(isinstance(p.get("load_avg_start"), list) and len(p["load_avg_start"]) == 3 and
          isinstance(p.get("load_avg_end"), list) and isinstance(p.get("busy"), bool) and
          "0.5 x" in p.get("busy_rule", "") and p.get("cpu_governor"),
          "provenance: load average at start and end, busy + rule, governor")
    la = p.get("load_avg_start") or [0]
    check(p.get("busy") == (la[0] >= 0.5 * p.get("cores", 1)), "busy follows its rule (load %.2f, %s cores)" % (
        la[0], p.get("cores")))
    r = run(BENCH[:5] + ["--threads", "1", "--min-time", "0.001", "--no-bandwidth", "--benchmark_color=true"])
    check(r.returncode == 0 and "\x1b[" in r.stdout, "--benchmark_color=true does colour the table", r)

    model = os.path.join(d, "m.gguf")
    r = run(["synth", "--preset", "tiny", "--no-tokenizer", "--vocab", "512", "--hidden", "128", "--ffn", "256",
             "--heads", "2", "--kv-heads", "1", "--layers", "1", "-o", model])
    check(r.returncode == 0, "synth a small model", r)
    r = run(["bench-e2e", "--model", model, "--kernel", "ref", "--threads", "1", "--prompt", "4", "--decode", "3",
             "-r", "2", "-o", "md", "--no-bandwidth"])
    lines = r.stdout.strip().splitlines()
    check(r.returncode == 0 and lines[:2] == ["| model | size | params | backend | threads | test | t/s |",
                                               "| ----- | ---: | -----: | ------- | ------: | ---: | --: |"],
          "bench-e2e -o md: llama-bench's header", r)
    check(len(lines) == 4 and re.search(r"\| pp4 \| [\d.]+ ± [\d.]+ \|$", lines[2]) and
          re.search(r"\| tg3 \| [\d.]+ ± [\d.]+ \|$", lines[3]), "bench-e2e -o md: pp and tg rows, mean ± stddev")
    r = run(["bench-e2e", "--model", model, "-o", "xml"])
    check(r.returncode == 2 and "--output" in r.stderr, "bench-e2e -o xml -> 2 with a message", r)
sys.exit(1 if fails else 0)

#!/usr/bin/python3
"""test_cli.py: the benchmark subcommands' CLI contract: --help exits 0, usage
errors exit 2 with a message, `bench --json` writes parseable JSON with
provenance and rows, `paper --from` reads a saved table."""
import json
import os
import subprocess
import sys
import tempfile

tb = os.environ.get("TERNBENCH")
root = os.environ.get("TB_SOURCE_ROOT", ".")
if not tb or not os.path.exists(tb):
    print("SKIP: TERNBENCH not set")
    sys.exit(77)
fails = 0


def run(args):
    return subprocess.run([tb] + args, capture_output=True, text=True, timeout=300)


def check(cond, what):
    global fails
    print("%-4s %s" % ("ok" if cond else "FAIL", what))
    fails += not cond


for cmd in ["bench", "bandwidth", "bench-e2e", "sweep", "paper"]:
    r = run([cmd, "--help"])
    check(r.returncode == 0 and "usage" in r.stdout, "%s --help" % cmd)
    r = run([cmd, "--no-such-option"])
    check(r.returncode == 2 and "no-such-option" in r.stderr, "%s rejects an unknown option (exit 2)" % cmd)
check(run(["bench", "--threads", "-1"]).returncode == 2, "bench --threads -1 -> 2")
check(run(["bench", "--shapes", "12x"]).returncode == 2, "bench --shapes 12x -> 2")
check(run(["bench", "--llc-bytes", "lots"]).returncode == 2, "bench --llc-bytes lots -> 2")
check(run(["bandwidth", "--reps", "0"]).returncode == 2, "bandwidth --reps 0 -> 2")
check(run(["sweep", "--threads-max", "x"]).returncode == 2, "sweep --threads-max x -> 2")
r = run(["bench-e2e", "--model", "/nonexistent.gguf", "--no-bandwidth"])
check(r.returncode == 1 and "/nonexistent.gguf" in r.stderr, "bench-e2e on a missing model -> 1 naming the file")

with tempfile.TemporaryDirectory() as d:
    out = os.path.join(d, "b.json")
    r = run(["bench", "--own-timer", "--kernel", "gemv_i2s_4x128__scalar", "--shapes", "64x256", "--threads", "1",
             "--no-bandwidth", "--min-time", "0.001", "--llc-bytes", "64K", "--json", out])
    check(r.returncode == 0, "bench --own-timer on a tiny shape (rc %d: %s)" % (r.returncode, r.stderr[-300:]))
    try:
        j = json.load(open(out))
        rows = j["kernels"]
        check(len(rows) == 1 and rows[0]["timed"] and rows[0]["weight_gbps"] > 0, "bench JSON row timed")
        check(rows[0]["roofline_frac"] is None, "no bandwidth -> roofline_frac null, not 0")
        check(all(k in j["provenance"] for k in ["git_sha", "compiler", "cpu_model", "cores", "date_utc"]),
              "bench JSON provenance")
    except (OSError, ValueError, KeyError) as ex:
        check(False, "bench JSON readable: %s" % ex)

r = run(["paper", "--from", os.path.join(root, "tests", "harness", "fixtures")])
check(r.returncode == 0 and "0.4 GB" in r.stdout, "paper --from a saved results.json")
r = run(["paper", "--from", "/nonexistent-dir"])
check(r.returncode == 1 and "/nonexistent-dir" in r.stderr, "paper --from a missing dir -> 1")
sys.exit(1 if fails else 0)

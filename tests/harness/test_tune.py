#!/usr/bin/python3
"""test_tune.py: `ternbench tune` measures, caches and drives --kernel best.

- tune over two kernels at 1 thread writes a cache naming one of them as fastest, with a
  positive layer time, and --show says the cache matches this machine;
- with that cache, bench-e2e's default kernel is the tuned one and says so on stderr;
  with TERNBENCH_NO_TUNE=1 it is the static priority and nothing is said;
- a cache whose signature is another machine's is ignored (static priority, no note);
- under --isa-max scalar the run stays scalar (the tuned pick is a scalar kernel here);
- usage errors exit 2, a missing cache for --show exits 1.
"""
import json
import os
import subprocess
import sys
import tempfile

tb = os.environ.get("TERNBENCH")
if not tb or not os.path.exists(tb):
    print("SKIP: TERNBENCH not set")
    sys.exit(77)
fails = 0


def check(cond, what):
    global fails
    print("%-4s %s" % ("ok" if cond else "FAIL", what))
    fails += not cond


with tempfile.TemporaryDirectory() as d:
    env = dict(os.environ, TERNBENCH_CACHE=d)
    env.pop("TERNBENCH_NO_TUNE", None)

    def run(args, **kw):
        return subprocess.run([tb] + args, capture_output=True, text=True, timeout=600, env=kw.get("env", env))

    check(run(["tune", "--threads", "-1"]).returncode == 2, "tune --threads -1 -> 2")
    check(run(["tune", "--bogus"]).returncode == 2, "tune --bogus -> 2")
    check(run(["tune", "--show"]).returncode == 1, "tune --show without a cache -> 1")
    # two portable kernels: fast enough for the suite, and runnable on every CPU
    r = run(["tune", "--threads", "1", "--reps", "1", "--kernel", "gemv_*__scalar"])
    check(r.returncode == 0, "tune runs (rc %d: %s)" % (r.returncode, r.stderr[-300:]))
    cache = os.path.join(d, "tune.json")
    j = json.load(open(cache)) if os.path.exists(cache) else {}
    picks = j.get("picks", [])
    best = picks[0]["best"] if picks else ""
    check(len(picks) == 1 and picks[0]["threads"] == 1 and best.endswith("__scalar") and picks[0]["layer_ms"] > 0,
          "cache: one pick at 1 thread, a scalar kernel, positive layer time (%s)" % picks)
    check("provenance" in j and j.get("signature"), "cache has provenance and a machine signature")
    r = run(["tune", "--show"])
    check(r.returncode == 0 and "(matches)" in r.stdout and best in r.stdout, "--show: matches this machine")
    args = ["bench-e2e", "--preset", "tiny", "--threads", "1", "--prompt", "4", "--decode", "2", "--reps", "1",
            "--no-bandwidth", "--no-warmup"]
    r = run(args)
    check(r.returncode == 0 and ("kernel     %s" % best) in r.stdout and "tuned on this machine" in r.stderr,
          "bench-e2e default kernel = the tuned one (%s)" % best)
    r = run(args, env=dict(env, TERNBENCH_NO_TUNE="1"))
    check(r.returncode == 0 and "tuned" not in r.stderr and ("kernel     %s" % best) not in r.stdout,
          "TERNBENCH_NO_TUNE=1: static priority")
    r = run(args + ["--isa-max", "scalar"])
    check(r.returncode == 0 and "__scalar" in r.stdout, "--isa-max scalar with a scalar tuned pick still runs")
    # another machine's cache is ignored
    j["signature"] = "some other CPU | avx2 | 64 cores | registry 1 kernels 0"
    json.dump(j, open(cache, "w"))
    r = run(args)
    check(r.returncode == 0 and "tuned" not in r.stderr, "a cache from another machine is ignored")
    r = run(["tune", "--show"])
    check(r.returncode == 0 and "ignored here" in r.stdout, "--show says the foreign cache is ignored")

print("%d failed" % fails)
sys.exit(1 if fails else 0)

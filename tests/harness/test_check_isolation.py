#!/usr/bin/python3
"""test_check_isolation.py: `ternbench check` survives a crashing kernel and its rerun line
replays exactly the case that failed, in quick and in full mode.

TERNBENCH_TEST_CRASH=KERNEL:CASE makes the checker crash (SIGSEGV) at that case of that
kernel (harness/check.c), standing in for a kernel that crashes.
- the crash is one FAIL line naming the kernel, the signal and the case, with a rerun line;
  the kernels after it are still checked, the summary line is printed, the exit status is 1;
- in quick mode the rerun line says --quick (the two modes number their cases differently)
  and in full mode it does not;
- the printed rerun command, run with the same crash setting, crashes in the same case
  (it replays that case), and run without it passes exactly one case.
"""
import os
import re
import shlex
import subprocess
import sys

tb = os.environ.get("TERNBENCH")
if not tb or not os.path.exists(tb):
    print("SKIP: TERNBENCH not set")
    sys.exit(77)
fails = 0


def check(cond, what, out=""):
    global fails
    print("%-4s %s" % ("ok" if cond else "FAIL", what))
    if not cond and out:
        print(out[-1500:])
    fails += not cond


def run(args, crash=None):
    env = dict(os.environ)
    env.pop("TERNBENCH_TEST_CRASH", None)
    if crash:
        env["TERNBENCH_TEST_CRASH"] = crash
    r = subprocess.run([tb] + args, capture_output=True, text=True, timeout=600, env=env)
    return r.returncode, r.stdout + r.stderr


victim, after = "gemv_i2s_4x128__scalar", "gemv_tl1_32x4__scalar"  # portable: run on every CPU
glob = "gemv_*__scalar"
for mode, extra in (("quick", ["--quick"]), ("full", [])):
    case = 5
    rc, out = run(["check", "--kernel", glob, "--no-model"] + extra, crash="%s:%d" % (victim, case))
    m = re.search(r"FAIL %s: crashed with SIGSEGV in case %d; rerun: (ternbench check .*)" % (victim, case), out)
    check(rc == 1 and m is not None, "%s: the crash is one FAIL line with the case and a rerun line" % mode, out)
    check(re.search(r"PASS %s " % after, out) is not None, "%s: the kernels after the crash are still checked" % mode, out)
    check(re.search(r"check: \d+ kernels passed, 1 failed", out) is not None, "%s: the summary line is printed" % mode, out)
    if not m:
        continue
    rerun = shlex.split(m.group(1))[2:]  # drop "ternbench check"
    check(("--quick" in rerun) == (mode == "quick"), "%s: the rerun line %s --quick" % (mode, "has" if mode == "quick" else "has no"))
    rc2, out2 = run(["check"] + rerun + ["--no-model"], crash="%s:%d" % (victim, case))
    check(rc2 == 1 and ("in case %d;" % case) in out2, "%s: the rerun command replays the crashing case" % mode, out2)
    rc3, out3 = run(["check"] + rerun + ["--no-model"])
    check(rc3 == 0 and "1/1 cases passed" in out3, "%s: the rerun command alone checks exactly that case" % mode, out3)

print("%d failed" % fails)
sys.exit(1 if fails else 0)

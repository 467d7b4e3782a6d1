#!/usr/bin/env python3
"""check_isa.py ISA: `ternbench check --quick` on every kernel gemv_*__ISA, as its own meson test.

Exit 0 only if every such kernel ran here and passed (check exited 0, one PASS line per
kernel `check --list` names, no SKIP line); 77 (meson's SKIP) if check exited 3 and every
kernel that could not run here has a SKIP line with its reason; 1 otherwise (a FAIL line,
a crash, or a report that does not match the list, e.g. exit 0 with a kernel skipped).
"""
import os
import subprocess
import sys


def result_lines(out, names):
    return {n: [l for l in out.splitlines() if l.split()[1:2] == [n]] for n in names}


def main():
    exe, isa = os.environ.get("TERNBENCH"), sys.argv[1]
    if not exe or not os.path.exists(exe):
        print("FAIL: $TERNBENCH not set")
        return 1
    glob = "*__" + isa
    listed = subprocess.run([exe, "check", "--list", "--kernel", glob], capture_output=True, text=True).stdout
    kernels = {l.split("\t")[0]: l.split("\t")[-1] for l in listed.splitlines() if l}
    if not kernels:
        print("FAIL: no registered kernel matches %s" % glob)
        return 1
    p = subprocess.run([exe, "check", "--quick", "--kernel", glob], capture_output=True, text=True, timeout=900)
    out = p.stdout + p.stderr
    print(out)
    lines = result_lines(out, kernels)
    bad = [n for n, ls in lines.items() if len(ls) != 1]
    if bad:
        print("FAIL: expected one result line for each of %s" % ", ".join(bad))
        return 1
    status = {n: ls[0].split()[0] for n, ls in lines.items()}
    runs_here = {n for n, why in kernels.items() if why == "runs here"}
    if any(s == "FAIL" for s in status.values()) or p.returncode not in (0, 3):
        print("FAIL: exit status %d" % p.returncode)
        return 1
    passed = {n for n, s in status.items() if s == "PASS"}
    skipped = {n for n, s in status.items() if s == "SKIP"}
    if passed != runs_here or passed | skipped != set(kernels):
        print("FAIL: PASS lines %s, but `check --list` says %s run here" % (sorted(passed), sorted(runs_here)))
        return 1
    if (p.returncode == 3) != bool(skipped):
        print("FAIL: exit status %d with %d kernels skipped" % (p.returncode, len(skipped)))
        return 1
    if skipped:
        for n in sorted(skipped):
            print("SKIP: %s: %s" % (n, lines[n][0].split(None, 2)[2].strip()))
        return 77
    print("ok: %d kernels passed" % len(passed))
    return 0


if __name__ == "__main__":
    sys.exit(main())

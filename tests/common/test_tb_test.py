#!/usr/bin/env python3
"""test_tb_test.py SELFTEST: tests/tb_test.h reports skips as skips, never as passes.

A binary that skipped part of its work exits 77 (meson's SKIP) and says how many tests
skipped; only a binary whose selected tests all ran and passed exits 0; a failure (also
one followed by a skip) exits 1; an argument that selects nothing exits 1."""
import subprocess
import sys

exe = sys.argv[1]
failures = 0


def expect(args, rc, line):
    global failures
    p = subprocess.run([exe] + args, capture_output=True, text=True)
    ok = p.returncode == rc and line in p.stdout.splitlines()
    print("%s %s -> %d, %r" % ("ok  " if ok else "FAIL", args, p.returncode, p.stdout.splitlines()[-1:]))
    failures += not ok


expect(["passes", "skips"], 77, "2 tests: 1 passed, 0 failed, 1 skipped")   # half skipped: SKIP
expect(["passes"], 0, "1 tests: 1 passed, 0 failed, 0 skipped")
expect(["skips"], 77, "SKIP skips")
expect(["pass*"], 0, "ok   passes")                                            # prefix selection
expect(["!fail*", "!skips"], 0, "1 tests: 1 passed, 0 failed, 0 skipped")      # exclusion
expect([], 1, "4 tests: 1 passed, 2 failed, 1 skipped")
expect(["fails_then_skips"], 1, "FAIL fails_then_skips")
p = subprocess.run([exe, "nosuch"], capture_output=True, text=True)
print("%s unknown test name -> %d" % ("ok  " if p.returncode == 1 else "FAIL", p.returncode))
failures += p.returncode != 1
sys.exit(1 if failures else 0)

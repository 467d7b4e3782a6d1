#!/usr/bin/python3
"""Reads meson's testlog.json and prints the plain closing line 'N passed, N failed'
(', N skipped' after it), one line per failing test above it.  Exit 1 on failures."""
import json
import sys

paths = sys.argv[1:] or ["build/meson-logs/testlog.json"]
passed = failed = skipped = 0
lines = []
for path in paths:
    try:
        with open(path) as f:
            lines += [json.loads(l) for l in f if l.strip()]
    except OSError as e:
        print(f"test_summary: cannot read {path}: {e}")
        failed += 1
for t in lines:
    r = t.get("result", "")
    if r in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r == "SKIP":
        skipped += 1
        print(f"skipped: {t.get('name')}")
    else:
        failed += 1
        print(f"FAILED: {t.get('name')} ({r})")
if passed + failed == 0:
    print("no test ran")
    failed = 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)

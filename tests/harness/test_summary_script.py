#!/usr/bin/env python3
"""test_summary_script.py: scripts/test_summary.py must not overstate what ran.

Fake meson logs, against a fake `meson test --list`: skips are counted and named with
their reason and build; a partial log, a stale log, a missing log (the ASan build failed
to compile), an unknown test and a failure each fail the summary; the last line is
exactly 'N passed, N failed, N skipped'."""
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile

root = os.environ.get("TB_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
script = os.path.join(root, "scripts", "test_summary.py")
spec = importlib.util.spec_from_file_location("test_summary", script)
ts = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ts)
failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    failures += not cond


def write_log(builddir, entries, mtime=None):
    os.makedirs(os.path.join(builddir, "meson-logs"), exist_ok=True)
    path = os.path.join(builddir, "meson-logs", "testlog.json")
    with open(path, "w") as f:
        for e in entries:
            f.write(json.dumps(e) + "\n")
    if mtime:
        os.utime(path, (mtime, mtime))


def entry(name, result, start=2000.0, stdout="", stderr=""):
    return {"name": name, "result": result, "starttime": start, "stdout": stdout, "stderr": stderr}


def main():
    d = tempfile.mkdtemp()
    rel, asan = os.path.join(d, "rel"), os.path.join(d, "asan")
    listing = {rel: ["p:k / a", "p:k / b", "p:k / c"], asan: ["p:s / a"]}
    lister = lambda b, s: listing[b]
    good = [entry("p:k / a", "OK"), entry("p:k / b", "SKIP", stderr="SKIP: the CPU has no AVX-VNNI\n"),
            entry("p:k / c", "OK")]
    write_log(rel, good)
    write_log(asan, [entry("p:s / a", "OK")])
    builds = [("release", rel, None), ("asan", asan, "sanitize")]
    lines, p, f, s = ts.summarize(builds, since=1000, lister=lister)
    check((p, f, s) == (3, 0, 1), "counts from both builds: 3 passed, 0 failed, 1 skipped (got %s)" % ((p, f, s),))
    check(any("skipped [release]: p:k / b: the CPU has no AVX-VNNI" in l for l in lines), "the skip is named with reason")
    # a partial log: test c missing
    write_log(rel, good[:2])
    lines, p, f, s = ts.summarize(builds, 1000, lister)
    check(f == 1 and any("p:k / c did not run" in l and "[release]" in l for l in lines), "a partial log fails")
    # a stale log (written before this run started)
    write_log(rel, good, mtime=500)
    lines, p, f, s = ts.summarize(builds, 1000, lister)
    check(f >= 1 and any("stale" in l for l in lines), "a stale log fails")
    write_log(rel, [entry("p:k / a", "OK", start=10)] + good[1:])
    lines, p, f, s = ts.summarize(builds, 1000, lister)
    check(f >= 1 and any("stale" in l for l in lines), "stale entries fail")
    # the asan build failed to compile: no log
    write_log(rel, good)
    os.remove(os.path.join(asan, "meson-logs", "testlog.json"))
    lines, p, f, s = ts.summarize(builds, 1000, lister)
    check(f == 1 and any(l.startswith("FAILED [asan]") for l in lines), "a missing ASan log fails, named asan")
    # a failure says which build it came from; an unlisted test fails
    write_log(asan, [entry("p:s / a", "FAIL"), entry("p:s / z", "OK")])
    lines, p, f, s = ts.summarize(builds, 1000, lister)
    check(f == 2 and any(l == "FAILED [asan]: p:s / a (FAIL)" for l in lines), "a failure names its build")
    check(any("p:s / z is in the log but not" in l for l in lines), "a test missing from --list fails")
    # the command line: last line exactly 'N passed, N failed, N skipped', exit 1 on failure
    r = subprocess.run([sys.executable, script, "--since", "1000", "release=" + rel, "asan=" + asan + ":sanitize"],
                       capture_output=True, text=True)
    last = r.stdout.strip().splitlines()[-1]
    check(re.fullmatch(r"\d+ passed, \d+ failed, \d+ skipped", last) is not None, "closing line format: %r" % last)
    check(r.returncode == 1, "exit 1 when something failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

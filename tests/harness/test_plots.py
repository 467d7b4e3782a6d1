#!/usr/bin/python3
"""test_plots.py: scripts/plot_results.py regenerates every plot from a fixture
results.json (a small hand-made run) into a temporary directory: each PNG exists
and is a real PNG, summary.md carries the fixture's numbers."""
import os
import subprocess
import sys
import tempfile

root = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TB_SOURCE_ROOT", ".")
try:
    import matplotlib  # noqa: F401
except ImportError:
    print("SKIP: matplotlib not available to /usr/bin/python3")
    sys.exit(77)
script = os.path.join(root, "scripts", "plot_results.py")
fixture = os.path.join(root, "tests", "harness", "fixtures", "results.json")
fails = 0
with tempfile.TemporaryDirectory() as out:
    r = subprocess.run([sys.executable, script, fixture, "--out", out], capture_output=True, text=True)
    if r.returncode != 0:
        print("plot_results.py failed:", r.stdout, r.stderr)
        sys.exit(1)
    for name in ["roofline.png", "kernels_shapes.png", "thread_scaling.png", "decode.png", "ppl_table.png"]:
        p = os.path.join(out, name)
        ok = os.path.exists(p) and os.path.getsize(p) > 1000
        if ok:
            with open(p, "rb") as f:
                ok = f.read(8) == b"\x89PNG\r\n\x1a\n"
        print("%-4s %s" % ("ok" if ok else "FAIL", name))
        fails += not ok
    s = open(os.path.join(out, "summary.md")).read()
    for want in ["gemv_i2s_4x128__avx2", "12.50", "17.2000", "not timed"]:
        ok = want in s
        print("%-4s summary.md has %r" % ("ok" if ok else "FAIL", want))
        fails += not ok
    # bad input: a clear error, not a traceback
    r = subprocess.run([sys.executable, script, os.path.join(out, "missing.json")], capture_output=True, text=True)
    ok = r.returncode == 1 and "cannot read" in r.stderr
    print("%-4s missing file -> clear error" % ("ok" if ok else "FAIL"))
    fails += not ok
sys.exit(1 if fails else 0)

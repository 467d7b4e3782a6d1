#!/usr/bin/python3
"""test_plots.py: scripts/plot_results.py regenerates every plot and summary.md from a
fixture results.json (a small hand-made run), and the plots have the properties a reader
needs (scripts/plots.py):
  - every PNG exists and is a real PNG; summary.md carries the fixture's numbers;
  - the roofline is log-log, operations per byte on x, GOPS on y, with one line per
    kernel over n = 1 .. 512, a bandwidth slope and the compute ceilings of the JSON;
  - thread_scaling's x ticks are the thread counts, integers;
  - decode has one panel per thread count (1T and 2T never share an axis), bars sorted
    by value, error bars of the JSON's stddev, and a bandwidth-bound line whose value is
    read bandwidth / bytes per token;
  - a high load average in the JSON puts a busy-machine warning into every plot's title
    and into summary.md; a low one does not;
  - summary.md: unsupported kernels are one line (no row per shape), a >100% roofline
    row is explained, energy is in µJ/mJ with the ratio, timings carry ± stddev;
  - bad input gives a clear error, not a traceback."""
import copy
import json
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
sys.path.insert(0, os.path.join(root, "scripts"))
import plots  # noqa: E402

script = os.path.join(root, "scripts", "plot_results.py")
fixture = os.path.join(root, "tests", "harness", "fixtures", "results.json")
fails = 0


def check(cond, what):
    global fails
    print("%-4s %s" % ("ok" if cond else "FAIL", what))
    fails += not cond


def enriched(load):
    """The fixture plus what a current sweep writes: load, stddevs, the roofline batch
    sweep, compute ceilings, an unsupported kernel on every shape, a row over 100%."""
    d = json.load(open(fixture))
    d["provenance"].update(load_avg_start=[load, load, load], load_avg_end=[load, load, load], cores=2,
                           cpu_governor="performance", cpu_mhz=3000.0)
    d["provenance"].pop("busy", None)
    for r in d["kernels"]:
        if r.get("timed"):
            r["seconds_sd"], r["reps"] = 0.1 * r["seconds"], 3
    for s in ("qo_2560x2560", "kv_640x2560"):
        d["kernels"].append(dict(kernel="gemv_fake__avxvnni", shape=s, rows=2560, cols=2560, threads=1, n_tok=1,
                                 timed=False, why="not supported here: CPU lacks AVX-VNNI"))
    t = next(r for r in d["kernels"] if r.get("timed"))
    t["roofline_frac"] = 1.05
    d["roofline"] = []
    for k, g0 in (("kfast", 100.0), ("kslow", 10.0)):
        for i, n in enumerate((1, 8, 32, 128, 512)):
            d["roofline"].append(dict(kernel=k, shape="qo_2560x2560", rows=2560, cols=2560, threads=2, n_tok=n,
                                      timed=True, packed_bytes=1638400, gops=g0 * (1 + i), seconds=1e-3,
                                      seconds_sd=1e-4))
    d["compute_peaks"] = [dict(isa="avx512vnni", instruction="vpdpbusd zmm", gops_1t=400.0)]
    base = d["e2e"][0]
    d["e2e"] = [dict(base, threads=1, kernel="ka", decode_tok_s=30.0, decode_tok_s_sd=2.0, reps=3),
                dict(base, threads=2, kernel="kb", decode_tok_s=40.0, decode_tok_s_sd=1.0, reps=3),
                dict(base, threads=2, kernel="kc", decode_tok_s=55.0, decode_tok_s_sd=3.0, reps=3)]
    return d


def figures(d):
    """Runs every plot function, keeping the figures instead of writing them."""
    got = {}
    orig = plots.save
    plots.save = lambda fig, out, name: got.__setitem__(name, fig)
    try:
        for f in (plots.plot_roofline, plots.plot_kernels_shapes, plots.plot_threads, plots.plot_decode,
                  plots.plot_prefill):
            f(d, "/nonexistent")
    finally:
        plots.save = orig
    return got


def titles(fig):
    t = [ax.get_title() for ax in fig.axes]
    if fig._suptitle is not None:
        t.append(fig._suptitle.get_text())
    return "\n".join(t)


with tempfile.TemporaryDirectory() as out:
    # ---- the script end to end, on the plain fixture
    r = subprocess.run([sys.executable, script, fixture, "--out", out], capture_output=True, text=True)
    check(r.returncode == 0, "plot_results.py on the fixture exits 0 (%s)" % r.stderr.strip()[-200:])
    for name in ["roofline.png", "kernels_shapes.png", "thread_scaling.png", "decode.png", "prefill.png"]:
        p = os.path.join(out, name)
        ok = os.path.exists(p) and os.path.getsize(p) > 1000
        if ok:
            with open(p, "rb") as f:
                ok = f.read(8) == b"\x89PNG\r\n\x1a\n"
        check(ok, "%s is a PNG" % name)
    s = open(os.path.join(out, "summary.md")).read()
    for want in ["gemv_i2s_4x128__avx2", "12.50", "17.2000", "Not timed, not supported by this CPU (1)"]:
        check(want in s, "summary.md has %r" % want)
    check("WARNING" not in s, "no busy warning without a recorded load")

    # ---- properties, on the enriched fixture
    busy_d = enriched(3.6)
    fig = figures(busy_d)
    ax = fig["roofline.png"].axes[0]
    check(ax.get_xscale() == "log" and ax.get_yscale() == "log", "roofline axes are log-log")
    check("operations per byte" in ax.get_xlabel() and "GOPS" in ax.get_ylabel(), "roofline: ops/byte on x, GOPS on y")
    labels = [t.get_text() for leg in fig["roofline.png"].axes[0].get_children()
              if type(leg).__name__ == "Legend" for t in leg.get_texts()]
    check(any(lbl == "kfast" for lbl in labels) and any(lbl == "kslow" for lbl in labels), "roofline: one line per kernel")
    check(any("read bandwidth" in lbl for lbl in labels) and any("800 GOPS" in lbl for lbl in labels),
          "roofline: bandwidth slope and the ceiling (400 GOPS x 2 threads = 800) labelled")
    xt = fig["thread_scaling.png"].axes[0].get_xticks()
    check(len(xt) > 0 and all(float(x).is_integer() for x in xt), "thread_scaling x ticks are integers: %s" % list(xt))
    dec = fig["decode.png"]
    panels = [a for a in dec.axes if a.get_title().split(";")[0] in ("1 thread", "2 threads")]
    check(len(panels) == 2, "decode: one panel per thread count (1T and 2T apart)")
    two = next(a for a in panels if a.get_title().startswith("2 threads"))
    widths = [p.get_width() for p in two.patches]
    check(widths == sorted(widths), "decode: bars sorted by value (largest on top): %s" % widths)
    check([t.get_text() for t in two.get_yticklabels()] == ["kb", "kc"], "decode: labels follow the sorted bars")
    bw2 = next(b["gbps_median"] for b in busy_d["bandwidth"] if b["threads"] == 2)
    bound = bw2 * 1e9 / busy_d["e2e"][0]["bytes_per_token"]
    vlines = [ln.get_xdata()[0] for ln in two.get_lines() if len(set(ln.get_xdata())) == 1]
    check(any(abs(v - bound) < 1e-6 * bound for v in vlines), "decode: bandwidth bound at %.1f tok/s" % bound)
    check(any(len(c.get_segments()) == 2 for c in two.collections), "decode: error bars on the 2-thread bars")
    for name, f in fig.items():
        check("WARNING: machine busy" in titles(f), "%s: busy warning in the title at load 3.6 on 2 cores" % name)
    quiet = figures(enriched(0.2))
    for name, f in quiet.items():
        check("WARNING" not in titles(f), "%s: no warning at load 0.2" % name)

    bj = os.path.join(out, "busy.json")
    json.dump(busy_d, open(bj, "w"))
    r = subprocess.run([sys.executable, script, bj, "--out", out], capture_output=True, text=True)
    s = open(os.path.join(out, "summary.md")).read()
    check(r.returncode == 0 and "WARNING: machine busy" in s, "summary.md warns when the machine was busy")
    check("not timed: not supported" not in s and s.count("gemv_fake__avxvnni") == 1 and
          "not supported by this CPU (2)" in s, "summary.md: unsupported kernels in one line, no row per shape")
    check("above 100% of the roofline" in s and "cache" in s, "summary.md explains a row above 100%")
    check("53.9 µJ" in s and "1.08 mJ" in s and "20.1x" in s, "summary.md: energy in µJ/mJ with the ratio")
    check("30.00 ± 2.00" in s and " ± " in s.split("## Kernels")[1], "summary.md: timings as mean/median ± stddev")
    check("| kfast | 100.0 | 200.0 |" in s, "summary.md: roofline GOPS by n")

    # bad input: a clear error, not a traceback
    r = subprocess.run([sys.executable, script, os.path.join(out, "missing.json")], capture_output=True, text=True)
    check(r.returncode == 1 and "cannot read" in r.stderr, "missing file -> clear error")
sys.exit(1 if fails else 0)

#!/usr/bin/python3
"""plot_results.py: regenerate every plot of a ternbench run from its results.json.

usage: scripts/plot_results.py RESULTS_DIR_OR_JSON [--out DIR]

Reads only results.json (the run's JSON is the source of truth: plots can be
regenerated at any time), plus any imported-*.json beside it (peers' own
measurements from `ternbench import-llama-bench`, drawn hatched and labelled
"(imported)"; see scripts/imported.py), and writes, next to it (or into --out):
  roofline.png        weight GB/s vs bits per weight, one point per kernel (best
                      thread count, averaged over shapes), with the measured read
                      bandwidth as the roof
  kernels_shapes.png  GB/s per kernel x GEMV shape at the largest thread count
  thread_scaling.png  GB/s vs threads per kernel (largest shape)
  decode.png          end-to-end decode tokens/s per kernel (and roofline fraction)
  ppl_table.png       perplexity / KL / top-1 per kernel (or why it is missing)
  summary.md          the same numbers as text tables
Uses matplotlib's Agg backend (no display needed).
"""
import json
import math
import os
import sys

import matplotlib

import imported

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    if os.path.isdir(path):
        path = os.path.join(path, "results.json")
    with open(path) as f:
        return json.load(f), os.path.dirname(os.path.abspath(path))


def num(x):
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def subtitle(d):
    p = d.get("provenance", {})
    return "%s, %s cores, %s, git %s%s, %s" % (
        p.get("cpu_model", "?"), p.get("cores", "?"), p.get("date_utc", "?"),
        str(p.get("git_sha", "?"))[:10], "+dirty" if p.get("git_dirty") else "",
        "quick" if d.get("run", {}).get("quick") else "full")


def timed_rows(d):
    return [r for r in d.get("kernels", []) if r.get("timed") and num(r.get("weight_gbps"))]


def bw_by_threads(d):
    return {b["threads"]: b["gbps_median"] for b in d.get("bandwidth", []) if num(b.get("gbps_median"))}


def plot_roofline(d, out):
    rows = timed_rows(d)
    bw = bw_by_threads(d)
    fig, ax = plt.subplots(figsize=(8, 5.5))
    kernels = sorted({r["kernel"] for r in rows})
    for k in kernels:
        kr = [r for r in rows if r["kernel"] == k]
        best_t = max({r["threads"] for r in kr}, key=lambda t: sum(r["weight_gbps"] for r in kr if r["threads"] == t))
        sel = [r for r in kr if r["threads"] == best_t]
        g = sum(r["weight_gbps"] for r in sel) / len(sel)
        bpw = sel[0]["bpw"]
        ax.scatter([bpw], [g], s=50)
        ax.annotate("%s (%dT)" % (k, best_t), (bpw, g), fontsize=7, xytext=(4, 2), textcoords="offset points")
    if bw:
        t = max(bw)
        ax.axhline(bw[t], color="red", linestyle="--", label="measured read bandwidth, %d threads: %.1f GB/s" % (t, bw[t]))
        if 1 in bw and t != 1:
            ax.axhline(bw[1], color="orange", linestyle=":", label="measured read bandwidth, 1 thread: %.1f GB/s" % bw[1])
        ax.legend(fontsize=8, loc="upper right")
    ax.set_xlabel("bits per weight (packed bytes x 8 / weights)")
    ax.set_ylabel("weight GB/s (packed bytes / time)")
    ax.set_title("Roofline: ternary GEMV, weights cold\n" + subtitle(d), fontsize=9)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "roofline.png"), dpi=110)
    plt.close(fig)


def plot_kernels_shapes(d, out):
    rows = timed_rows(d)
    if not rows:
        return
    tmax = max(r["threads"] for r in rows if not r.get("on_device"))  if any(not r.get("on_device") for r in rows) else 1
    sel = [r for r in rows if r["threads"] == tmax or r.get("on_device")]
    kernels = sorted({r["kernel"] for r in sel})
    shapes = []
    for r in sel:
        if r["shape"] not in shapes:
            shapes.append(r["shape"])
    fig, ax = plt.subplots(figsize=(max(8, 1.2 * len(kernels) + 3), 5.5))
    w = 0.8 / max(1, len(shapes))
    for j, s in enumerate(shapes):
        ys = []
        for k in kernels:
            m = [r["weight_gbps"] for r in sel if r["kernel"] == k and r["shape"] == s]
            ys.append(m[0] if m else 0)
        ax.bar([i + j * w for i in range(len(kernels))], ys, w, label=s)
    bw = bw_by_threads(d)
    if tmax in bw:
        ax.axhline(bw[tmax], color="red", linestyle="--", label="read bandwidth %d T" % tmax)
    ax.set_xticks([i + 0.4 - w / 2 for i in range(len(kernels))])
    ax.set_xticklabels(kernels, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("weight GB/s")
    ax.set_title("Kernel x shape, %d threads, weights cold\n%s" % (tmax, subtitle(d)), fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "kernels_shapes.png"), dpi=110)
    plt.close(fig)


def plot_threads(d, out):
    rows = [r for r in timed_rows(d) if not r.get("on_device")]
    if not rows:
        return
    big = max(rows, key=lambda r: r["rows"] * r["cols"])["shape"]
    sel = [r for r in rows if r["shape"] == big]
    fig, ax = plt.subplots(figsize=(7, 5))
    for k in sorted({r["kernel"] for r in sel}):
        pts = sorted((r["threads"], r["weight_gbps"]) for r in sel if r["kernel"] == k)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=k)
    bw = sorted(bw_by_threads(d).items())
    if bw:
        ax.plot([b[0] for b in bw], [b[1] for b in bw], "k--", label="read bandwidth")
    ax.set_xlabel("threads")
    ax.set_ylabel("weight GB/s")
    ax.set_title("Thread scaling on %s\n%s" % (big, subtitle(d)), fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "thread_scaling.png"), dpi=110)
    plt.close(fig)


def plot_decode(d, out):
    rows = [r for r in d.get("e2e", []) + d.get("imported_e2e", []) if num(r.get("decode_tok_s"))]
    fig, ax = plt.subplots(figsize=(max(7, 1.1 * len(rows) + 3), 5))
    if rows:
        labels = ["%s (%dT)" % (r["kernel"], r["threads"]) for r in rows]
        ys = [r["decode_tok_s"] for r in rows]
        bars = ax.bar(range(len(rows)), ys)
        for b, r in zip(bars, rows):
            if r.get("imported"):  # a peer's own measurement: hatched, and its label says imported
                b.set_hatch("//")
                b.set_facecolor("lightgray")
        for b, r in zip(bars, rows):
            rf = num(r.get("roofline_frac"))
            ax.annotate("%.1f tok/s%s" % (r["decode_tok_s"], "\n%.0f%% roof" % (100 * rf) if rf else ""),
                        (b.get_x() + b.get_width() / 2, b.get_height()), ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=7)
    else:
        ax.text(0.5, 0.5, "no end-to-end results in this run", ha="center", transform=ax.transAxes)
    m = d.get("run", {}).get("model_desc", d.get("run", {}).get("model", "?"))
    ax.set_ylabel("decode tokens/s")
    ax.set_title("End-to-end decode (%s)\n%s" % (m, subtitle(d)), fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "decode.png"), dpi=110)
    plt.close(fig)


def fmt(x, f="%.4f"):
    return f % x if num(x) is not None else "n/a"


def ppl_rows(d):
    out = []
    for r in d.get("ppl", []) + d.get("imported_ppl", []):
        out.append([r.get("kernel", "?"), fmt(r.get("ppl")), fmt(r.get("ppl_stderr")), fmt(r.get("kl"), "%.3g"),
                    fmt(r.get("top1"), "%.4f"), str(r.get("tokens", "n/a")), r.get("why") or ""])
    return out


def trained_ppl_lines(d):
    """The trained model's held-out perplexity per kernel (models/austen-tiny), if measured."""
    rows, st = d.get("ppl_trained") or [], d.get("ppl_trained_setup") or {}
    if not rows:
        return ["## Perplexity of the trained model", "", "n/a: %s" % (st.get("why") or "not measured"), ""] if st else []
    L = ["## Perplexity of the trained model", "",
         "%s on its held-out novel %s (never trained on), ctx %s, %s chunk(s): the numbers that mean "
         "something; every exact kernel must give the reference's, KL 0, top-1 1." % (
             os.path.basename(st.get("model") or "?"), os.path.basename(st.get("text") or "?"), st.get("ctx", "?"),
             rows[0].get("chunks", "?")), "",
         "| kernel | ppl | +- | KL | top-1 | tokens | note |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        L.append("| " + " | ".join([r.get("kernel", "?"), fmt(r.get("ppl")), fmt(r.get("ppl_stderr")),
                                    fmt(r.get("kl"), "%.3g"), fmt(r.get("top1"), "%.4f"), str(r.get("tokens", "n/a")),
                                    r.get("why") or ""]) + " |")
    return L + [""]


def plot_ppl(d, out):
    rows = ppl_rows(d)
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.35 * max(1, len(rows))))
    ax.axis("off")
    if rows:
        t = ax.table(cellText=rows, colLabels=["kernel", "ppl", "+-", "KL vs ref", "top-1", "tokens", "note"],
                     loc="center", cellLoc="left")
        t.auto_set_font_size(False)
        t.set_fontsize(7)
        t.auto_set_column_width(list(range(7)))
    else:
        ax.text(0.5, 0.5, "no perplexity in this run", ha="center")
    ax.set_title("Perplexity / KL / top-1 per kernel\n" + subtitle(d), fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "ppl_table.png"), dpi=110)
    plt.close(fig)


PARTS = ["ternary", "lm_head", "attention", "norm_quant", "rope", "sync", "other"]


def breakdown_table(e2e):
    """Where the time of one decode step / one prefill batch goes, per e2e row."""
    rows = [r for r in e2e if isinstance(r.get("breakdown"), dict)]
    if not rows:
        return []
    L = ["### Where the time goes", "",
         "Milliseconds per decode step or per prefill batch, and the share of it; rates: GB/s of weights "
         "(ternary, LM head) or of KV cache (attention) in decode, GOPS of the ternary GEMM in prefill.  "
         "sync = the calling thread waiting for the others.", "",
         "| kernel | threads | phase | total ms | " + " | ".join(PARTS) + " |",
         "|---|---|---|---|" + "---|" * len(PARTS)]
    for r in rows:
        for phase in ("decode", "prefill"):
            b = r["breakdown"].get(phase)
            if not b or not num(b.get("ms_total")):
                continue
            cells = []
            for p in PARTS:
                c = b.get(p) or {}
                cell = "%.2f (%.0f%%)" % (c.get("ms", 0), 100 * (c.get("share") or 0))
                if num(c.get("rate")):
                    cell += " %.1f %s" % (c["rate"], c.get("rate_unit", ""))
                cells.append(cell)
            L.append("| %s | %d | %s | %.2f | %s |" % (r["kernel"], r["threads"], phase, b["ms_total"], " | ".join(cells)))
    return L + [""]


def model_line(d):
    """The model measured, by hash: what makes a run reproducible (docs/results.md)."""
    mp = d.get("model_provenance") or {}
    if not mp:
        return "model: %s (no model hash recorded)" % d.get("run", {}).get("model", "?")
    synth = ", synthetic generator v%s seed %s" % (mp["synth_version"], mp.get("synth_seed")) \
        if mp.get("synth_version") else ""
    return "model: %s, sha256 %s%s" % (os.path.basename(mp.get("path") or "?"), mp.get("sha256") or "n/a", synth)


def summary(d, out):
    L = ["# ternbench run summary", "", subtitle(d), "", model_line(d), ""]
    bw = d.get("bandwidth", [])
    if bw:
        L += ["## Read bandwidth (measured)", "", "| threads | GB/s median | min | max |", "|---|---|---|---|"]
        L += ["| %d | %.2f | %.2f | %.2f |" % (b["threads"], b["gbps_median"], b["gbps_min"], b["gbps_max"]) for b in bw]
        L.append("")
    rows = d.get("kernels", [])
    if rows:
        L += ["## Kernels (weights cold)", "", "| kernel | shape | threads | us/iter | GB/s | GOPS | bpw | roofline | prep us |",
              "|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            if r.get("timed"):
                L.append("| %s | %s | %d | %.1f | %.2f | %.1f | %.3f | %s | %.2f |" % (
                    r["kernel"], r["shape"], r["threads"], r["seconds"] * 1e6, r["weight_gbps"], r["gops"], r["bpw"],
                    fmt(r.get("roofline_frac") and 100 * r["roofline_frac"], "%.1f%%"), (r.get("prep_seconds") or 0) * 1e6))
            else:
                L.append("| %s | %s | %d | not timed: %s | | | | | |" % (r["kernel"], r["shape"], r["threads"], r.get("why")))
        L.append("")
    e2e = d.get("e2e", [])
    if e2e:
        L += ["## End to end", "", "| kernel | threads | decode tok/s | ms/token | prefill tok/s | MB/token | GB/s | roofline | RSS MB |",
              "|---|---|---|---|---|---|---|---|---|"]
        for r in e2e:
            if num(r.get("decode_tok_s")):
                L.append("| %s | %d | %.2f | %.2f | %s | %.1f | %.2f | %s | %.0f |" % (
                    r["kernel"], r["threads"], r["decode_tok_s"], r["ms_per_token"], fmt(r.get("prefill_tok_s"), "%.1f"),
                    r["bytes_per_token"] / 1e6, r["achieved_gbps"], fmt(r.get("roofline_frac") and 100 * r["roofline_frac"], "%.1f%%"),
                    (r.get("rss_bytes") or 0) / 1e6))
            else:
                L.append("| %s | %s | failed: %s | | | | | | |" % (r.get("kernel"), r.get("threads"), r.get("why")))
        L.append("")
        L += breakdown_table(e2e)
    L += imported.summary_lines(d)
    if d.get("ppl"):
        st = d.get("ppl_setup", {})
        L += ["## Perplexity", "", "%s, ctx %s, at most %s chunk(s)." % (
            os.path.basename(st.get("text") or "?"), st.get("ctx", "?"), st.get("max_chunks", "?")), "",
              "| kernel | ppl | +- | KL | top-1 | tokens | note |", "|---|---|---|---|---|---|---|"]
        L += ["| " + " | ".join(r) + " |" for r in ppl_rows(d)]
        L.append("")
    L += trained_ppl_lines(d)
    en = d.get("energy_modelled")
    if en:
        L += ["## Energy (modelled, not measured)", "",
              "model: %s" % d.get("run", {}).get("model_desc", "?"), "",
              "ternary %.3g J/token, FP16 baseline %.3g J/token (x%.1f); per %d-token sequence: %.4f J vs %.4f J (%s)" % (
                  en["ternary_j_per_token"], en["fp16_j_per_token"], en["ratio"], en["tokens"],
                  en["ternary_j_per_sequence"], en["fp16_j_per_sequence"], en["node"]), ""]
    paper = d.get("paper", {}).get("rows", [])
    if paper:
        L += ["## Paper table (2B4T report, arXiv 2504.12285)", "", "| quantity | published | here | note |", "|---|---|---|---|"]
        L += ["| %s | %s | %s | %s |" % (r["quantity"], r["published"], r["here"], r["note"]) for r in paper]
        L.append("")
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(L) + "\n")


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    src = argv[1]
    out = None
    if len(argv) >= 4 and argv[2] == "--out":
        out = argv[3]
    elif len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        d, here = load(src)
    except (OSError, ValueError) as ex:
        print("plot_results.py: cannot read %s: %s" % (src, ex), file=sys.stderr)
        return 1
    try:
        imported.merge(d, here)
    except (OSError, ValueError) as ex:
        print("plot_results.py: %s" % ex, file=sys.stderr)
        return 1
    out = out or here
    os.makedirs(out, exist_ok=True)
    plot_roofline(d, out)
    plot_kernels_shapes(d, out)
    plot_threads(d, out)
    plot_decode(d, out)
    plot_ppl(d, out)
    summary(d, out)
    print("plots written to %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

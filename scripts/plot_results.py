#!/usr/bin/python3
"""plot_results.py: regenerate every plot of a ternbench run from its results.json.

usage: scripts/plot_results.py RESULTS_DIR_OR_JSON [--out DIR]

Reads only results.json (the run's JSON is the source of truth: plots can be
regenerated at any time), plus any imported-*.json beside it (peers' own
measurements from `ternbench import-llama-bench`, drawn hatched and labelled
"(imported)"; see scripts/imported.py), and writes, next to it (or into --out):
  roofline.png        ops/byte vs GOPS, log-log, each kernel at n = 1..512, under the
                      measured bandwidth slope and int8 compute ceilings
  kernels_shapes.png  weight GB/s per kernel, one panel per GEMV shape
  thread_scaling.png  weight GB/s vs threads per kernel (largest shape)
  decode.png          end-to-end decode tokens/s, a panel per thread count, with the
                      bandwidth bound
  prefill.png         end-to-end prefill tokens/s, a panel per thread count
  frontier.png        numeric configurations: decode tokens/s vs KL from the exact
                      reference, the Pareto front marked (sweep and `ternbench frontier`)
  summary.md          the same numbers as text tables (perplexity is a table there)
(scripts/plots.py draws the plots; see its docstring for the rules they follow.)
Uses matplotlib's Agg backend (no display needed).
"""
import json
import math
import os
import sys

import imported
import plots


def load(path):
    if os.path.isdir(path):
        path = os.path.join(path, "results.json")
    with open(path) as f:
        return json.load(f), os.path.dirname(os.path.abspath(path))


def num(x):
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


subtitle = plots.subtitle


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


PARTS = ["ternary", "lm_head", "attention", "norm_quant", "rope", "sync", "other"]


def frontier_lines(d):
    fr = d.get("frontier")
    if not fr or not fr.get("rows"):
        return []
    L = ["## Frontier of the numeric configurations", "",
         "Accuracy on %s (%s chunk(s) of %s) against the exact scalar reference (PPL %s); "
         "speed per model below. Pareto: no other configuration decodes at least as fast with at most its KL." % (
             os.path.basename(fr.get("accuracy_text", "?")), fr.get("chunks"), fr.get("ctx"),
             fmt(fr.get("ref_ppl"))), ""]
    for mi, m in enumerate(fr.get("speed_models", [])):
        L += ["### %s (%s)" % (os.path.basename(m.get("path", "?")), m.get("desc", "")), "",
              "| configuration | kernel | exact | decode tok/s | MB/token | PPL | KL mean | top-1 | Pareto |",
              "|---|---|---|---|---|---|---|---|---|"]
        for r in fr["rows"]:
            sp = r.get("speed", [])
            e = sp[mi].get("e2e") if mi < len(sp) else None
            a = r.get("accuracy", {})
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                r["config"], r["kernel"], "yes" if r.get("exact") else "no",
                "%.2f +- %.2f" % (e["decode_tok_s"], e.get("decode_tok_s_sd") or 0) if e else "n/a",
                "%.1f" % (e["bytes_per_token"] / 1e6) if e else "", fmt(a.get("ppl")), fmt(a.get("kl_mean"), "%.3g"),
                fmt(a.get("top1_agreement")), "yes" if mi < len(sp) and sp[mi].get("pareto") else ""))
        best = m.get("fastest_within_1pct_ppl")
        L += ["", "Fastest at most 1%% above the reference's perplexity: %s." % (best or "none"), ""]
    return L


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


def machine_lines(d):
    """Load, governor, clock; and the busy warning (plots.busy states the rule)."""
    p = d.get("provenance", {})
    la, le = p.get("load_avg_start"), p.get("load_avg_end")
    if not isinstance(la, list):
        return ["machine: load average not recorded (a run from before it was)", ""]
    L = ["machine: load average %s (1/5/15 min) at start, %s at the end (the end includes ternbench's own "
         "threads); CPU frequency governor: %s; %s MHz" % (
             " / ".join("%.2f" % x for x in la), " / ".join("%.2f" % x for x in le) if isinstance(le, list) else "n/a",
             p.get("cpu_governor", "?"), fmt(p.get("cpu_mhz"), "%.0f")), ""]
    b, why = plots.busy(d)
    if b:
        L += ["> **WARNING: %s.** Other work shared the cores, so the timings below are low and noisy; "
              "rerun on a quiet machine before comparing them." % why, ""]
    return L


def us(r):
    sd = num(r.get("seconds_sd"))
    return "%.1f ± %.1f" % (r["seconds"] * 1e6, sd * 1e6) if sd is not None else "%.1f" % (r["seconds"] * 1e6)


def pct(x):
    return fmt(x and 100 * x, "%.1f%%")


def kernel_lines(d):
    rows = d.get("kernels", [])
    if not rows:
        return []
    reps = max((r.get("reps") or 1 for r in rows if r.get("timed")), default=1)
    L = ["## Kernels (weights cold)", "",
         "us/iter: median of %d repetition%s ± their standard deviation." % (reps, "s" if reps > 1 else ""), "",
         "| kernel | shape | threads | us/iter | GB/s | GOPS | bpw | roofline | prep us |",
         "|---|---|---|---|---|---|---|---|---|"]
    for r in (r for r in rows if r.get("timed")):
        L.append("| %s | %s | %d | %s | %.2f | %.1f | %.3f | %s | %.2f |" % (
            r["kernel"], r["shape"], r["threads"], us(r), r["weight_gbps"], r["gops"], r["bpw"],
            pct(r.get("roofline_frac")), (r.get("prep_seconds") or 0) * 1e6))
    L.append("")
    unsup = sorted({r["kernel"] for r in rows if not r.get("timed") and str(r.get("why")).startswith("not supported")})
    if unsup:
        L += ["Not timed, not supported by this CPU (%d): %s." % (len(unsup), ", ".join(unsup)), ""]
    other = [r for r in rows if not r.get("timed") and not str(r.get("why")).startswith("not supported")]
    seen = set()
    for r in other:
        if (r["kernel"], r.get("why")) not in seen:
            seen.add((r["kernel"], r.get("why")))
            L.append("- %s not timed: %s" % (r["kernel"], r.get("why")))
    L += [""] if other else []
    over = [r for r in rows if r.get("timed") and (num(r.get("roofline_frac")) or 0) > 1]
    if over:
        L += ["%d row%s above 100%% of the roofline (%s): the roof is the read bandwidth our own loop measured, not "
              "a hard limit. The weights are rotated over copies spanning about 2x the last-level cache, but the "
              "cache still holds part of that working set (more of it on small shapes), and a kernel's access "
              "pattern can be prefetched better than the measuring loop's; either lets a kernel read faster than "
              "the measured bandwidth." % (len(over), "s" if len(over) > 1 else "",
                                            ", ".join(sorted({"%s on %s" % (r["kernel"], r["shape"]) for r in over}))), ""]
    return L


def roofline_lines(d):
    rows = [r for r in d.get("roofline", []) if r.get("timed")]
    peaks = d.get("compute_peaks", [])
    if not rows and not peaks:
        return []
    L = ["## Roofline inputs", ""]
    for p in peaks:
        L.append("- int8 compute ceiling, %s, one thread: %.0f GOPS (%s; measured)" % (p["isa"], p["gops_1t"], p["instruction"]))
    ns = sorted({r.get("n_tok", 1) for r in rows})
    if rows:
        t = rows[0]["threads"]
        L += ["", "GOPS of each kernel on %s, %d thread%s, by activation rows n (GEMV at n = 1, GEMM above):" % (
            rows[0]["shape"], t, "s" if t > 1 else ""), "",
              "| kernel | " + " | ".join("n=%d" % n for n in ns) + " |", "|---|" + "---|" * len(ns)]
        for k in sorted({r["kernel"] for r in rows}):
            by = {r.get("n_tok", 1): r for r in rows if r["kernel"] == k}
            L.append("| %s | %s |" % (k, " | ".join(fmt(by[n]["gops"], "%.1f") if n in by else "" for n in ns)))
    return L + [""]


def pm(r, key):
    sd = num(r.get(key + "_sd"))
    return fmt(r.get(key), "%.2f") + (" ± %.2f" % sd if sd is not None else "")


def e2e_lines(d):
    e2e = d.get("e2e", [])
    if not e2e:
        return []
    reps = max((r.get("reps") or 1 for r in e2e), default=1)
    L = ["## End to end", "", "tokens/s: mean ± standard deviation over %d repetition%s (like llama-bench)." % (
        reps, "s" if reps > 1 else ""), "",
         "| kernel | threads | decode tok/s | ms/token | prefill tok/s | MB/token | GB/s | roofline | RSS MB |",
         "|---|---|---|---|---|---|---|---|---|"]
    for r in e2e:
        if num(r.get("decode_tok_s")):
            L.append("| %s | %d | %s | %.2f | %s | %.1f | %.2f | %s | %.0f |" % (
                r["kernel"], r["threads"], pm(r, "decode_tok_s"), r["ms_per_token"], pm(r, "prefill_tok_s"),
                r["bytes_per_token"] / 1e6, r["achieved_gbps"], pct(r.get("roofline_frac")), (r.get("rss_bytes") or 0) / 1e6))
        else:
            L.append("| %s | %s | failed: %s | | | | | | |" % (r.get("kernel"), r.get("threads"), r.get("why")))
    L.append("")
    over = [r for r in e2e if (num(r.get("roofline_frac")) or 0) > 1]
    if over:
        L += ["%s: above 100%% of the roofline. Bytes per token count every weight, LM head and KV byte as read "
              "from memory once per token; part of them can stay in the last-level cache "
              "between tokens (most of them on a small model), so the bytes actually fetched from DRAM are fewer and the achieved rate exceeds the "
              "measured read bandwidth." % ", ".join("%s (%dT)" % (r["kernel"], r["threads"]) for r in over), ""]
    return L + breakdown_table(e2e)


def joules(j):
    """Energy in the unit that keeps 1-3 digits before the point."""
    for unit, f in (("J", 1), ("mJ", 1e-3), ("µJ", 1e-6), ("nJ", 1e-9)):
        if abs(j) >= f:
            return "%.3g %s" % (j / f, unit)
    return "%.3g pJ" % (j / 1e-12)


def energy_lines(d):
    en = d.get("energy_modelled")
    if not en:
        return []
    lm = num(en.get("lm_head_j_per_token_not_included"))
    return ["## Energy (modelled, not measured)", "", "model: %s" % d.get("run", {}).get("model_desc", "?"), "",
            "| | ternary | FP16 baseline | FP16 / ternary |", "|---|---|---|---|",
            "| per token | %s | %s | %.1fx |" % (joules(en["ternary_j_per_token"]), joules(en["fp16_j_per_token"]), en["ratio"]),
            "| per %d-token sequence | %s | %s | %.1fx |" % (en["tokens"], joules(en["ternary_j_per_sequence"]),
                                                          joules(en["fp16_j_per_sequence"]), en["ratio"]),
            "", "%s; %s node%s." % (en.get("label", "modelled"), en["node"],
                                   "; the LM head (%s per token) is left out of both" % joules(lm) if lm else ""), ""]


def summary(d, out):
    L = ["# ternbench run summary", "", subtitle(d, warn=False), "", model_line(d), ""]
    L += machine_lines(d)
    bw = d.get("bandwidth", [])
    if bw:
        L += ["## Read bandwidth (measured)", "", "| threads | GB/s median | min | max |", "|---|---|---|---|"]
        L += ["| %d | %.2f | %.2f | %.2f |" % (b["threads"], b["gbps_median"], b["gbps_min"], b["gbps_max"]) for b in bw]
        L.append("")
    L += kernel_lines(d)
    L += roofline_lines(d)
    L += e2e_lines(d)
    L += imported.summary_lines(d)
    if d.get("ppl") or d.get("imported_ppl"):
        st = d.get("ppl_setup", {})
        L += ["## Perplexity", "", "%s, ctx %s, at most %s chunk(s)." % (
            os.path.basename(st.get("text") or "?"), st.get("ctx", "?"), st.get("max_chunks", "?")), "",
              "| kernel | ppl | +- | KL | top-1 | tokens | note |", "|---|---|---|---|---|---|---|"]
        L += ["| " + " | ".join(r) + " |" for r in ppl_rows(d)]
        L.append("")
    L += trained_ppl_lines(d)
    L += frontier_lines(d)
    L += energy_lines(d)
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
    if d.get("kernels") or d.get("roofline"):  # `ternbench frontier` writes only its own part
        plots.plot_roofline(d, out)
        plots.plot_kernels_shapes(d, out)
        plots.plot_threads(d, out)
    if d.get("e2e") or d.get("imported_e2e"):
        plots.plot_decode(d, out)
        plots.plot_prefill(d, out)
    plots.plot_frontier(d, out)
    summary(d, out)
    print("plots written to %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""plots.py: the speed plots of a ternbench run (used by plot_results.py).

Every plot reads only the run's results.json (merged with imported peers' rows) and
follows the same rules: a subtitle with the machine, the date and, when the machine
was busy, a warning; error bars are one standard deviation over the repetitions;
1-thread and N-thread results never share an axis; bars are horizontal (names never
overlap) and sorted by value; axes that count things have integer ticks.

  roofline.png        operations per byte vs GOPS, log-log: every kernel at n = 1, 8,
                      32, 128, 512 activation rows, under the measured read bandwidth
                      (slope) and the measured int8 compute ceilings (flat)
  kernels_shapes.png  weight GB/s per kernel, one panel per GEMV shape, at the largest
                      thread count, with the read bandwidth as a line
  thread_scaling.png  weight GB/s vs threads on the largest shape
  decode.png          end-to-end decode tokens/s, one panel per thread count, with the
                      bandwidth bound (read bandwidth / bytes per token)
  prefill.png         end-to-end prefill tokens/s, one panel per thread count
  frontier.png        decode tokens/s vs mean KL from the exact reference per numeric
                      configuration, one panel per speed model, the Pareto front marked
"""
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BUSY_PER_CORE = 0.5  # harness/results.h TB_BUSY_LOAD_PER_CORE


def num(x):
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def busy(d):
    """(busy?, why) from the run's provenance: 1-minute load at start >= 0.5 x cores."""
    p = d.get("provenance", {})
    la = p.get("load_avg_start")
    cores = p.get("cores") or 1
    if not isinstance(la, list) or not la or num(la[0]) is None:
        return False, None
    b = p.get("busy")
    if b is None:
        b = la[0] >= BUSY_PER_CORE * cores
    why = "machine busy: 1-minute load average %.2f at start on %d cores (busy = load >= %.1f x cores)" % (
        la[0], cores, BUSY_PER_CORE)
    return bool(b), why


def subtitle(d, warn=True):
    p = d.get("provenance", {})
    s = "%s, %s cores, %s, git %s%s, %s" % (
        p.get("cpu_model", "?"), p.get("cores", "?"), p.get("date_utc", "?"),
        str(p.get("git_sha", "?"))[:10], "+dirty" if p.get("git_dirty") else "",
        "quick" if d.get("run", {}).get("quick") else "full")
    b, why = busy(d)
    if b and warn:
        s += "\nWARNING: %s; timings not comparable" % why
    return s


def title(ax, text, d):
    ax.set_title(text + "\n" + subtitle(d), fontsize=9, color="darkred" if busy(d)[0] else "black")


def bw_by_threads(d):
    return {b["threads"]: b["gbps_median"] for b in d.get("bandwidth", []) if num(b.get("gbps_median"))}


def rel_sd(r):
    """Relative stddev of a kernel row's time (0 when there was one repetition)."""
    s, sd = num(r.get("seconds")), num(r.get("seconds_sd"))
    return sd / s if s and sd else 0.0


def save(fig, out, name):
    fig.savefig(os.path.join(out, name), dpi=110)
    plt.close(fig)


def intensity(r):
    """Operations per byte moved: 2*rows*cols*n over packed weights + int8 activations
    + f32 outputs (each read or written once)."""
    n = r.get("n_tok") or 1
    ops = 2.0 * r["rows"] * r["cols"] * n
    return ops / (r["packed_bytes"] + n * r["cols"] + 4.0 * n * r["rows"])


def roofline_rows(d):
    rows = [r for r in d.get("roofline", []) if r.get("timed") and num(r.get("gops"))]
    if rows:
        return rows, False
    # an older run without the batch sweep: the decode GEMVs alone
    rows = [r for r in d.get("kernels", []) if r.get("timed") and num(r.get("gops"))]
    return rows, True


def log_err(y, e):
    """Error bars for a log axis: the lower bar stops at 10% of the value (a stddev as
    large as the value would reach zero, which a log axis cannot draw)."""
    return [[min(ei, 0.9 * yi) for yi, ei in zip(y, e)], e]


def plot_roofline(d, out):
    rows, fallback = roofline_rows(d)
    fig, ax = plt.subplots(figsize=(12, 7))
    fig.subplots_adjust(left=0.07, right=0.70, top=0.86, bottom=0.09)
    ax.set_xscale("log")
    ax.set_yscale("log")
    threads = max((r["threads"] for r in rows), default=1)
    kernels = sorted({r["kernel"] for r in rows}, key=lambda k: -max(r["gops"] for r in rows if r["kernel"] == k))
    cmap = plt.get_cmap("tab20")
    xs, kh, roofs = [], [], []
    for i, k in enumerate(kernels):
        kr = sorted((r for r in rows if r["kernel"] == k and r["threads"] == threads), key=lambda r: r.get("n_tok", 1))
        if not kr:
            continue
        x = [intensity(r) for r in kr]
        y = [r["gops"] for r in kr]
        xs += x
        kh.append(ax.errorbar(x, y, yerr=log_err(y, [r["gops"] * rel_sd(r) for r in kr]), marker="o", ms=4, lw=1,
                              capsize=2, color=cmap(i % 20), label=k))
        if i == 0:  # the batch sizes, once, on the fastest kernel
            for r, xi, yi in zip(kr, x, y):
                ax.annotate("n=%d" % r.get("n_tok", 1), (xi, yi), xytext=(-4, 6), textcoords="offset points",
                            ha="right", fontsize=7)
    lo, hi = (min(xs) / 2, max(xs) * 2) if xs else (0.1, 1000)
    peaks = [p for p in d.get("compute_peaks", []) if num(p.get("gops_1t"))]
    top = max((p["gops_1t"] * threads for p in peaks), default=None)
    bw = bw_by_threads(d)
    for t, style in ((threads, "-"), (1, ":")):
        if t in bw and (t == threads or threads != 1):
            gx = [lo, min(hi, top / bw[t]) if top else hi]  # the slope ends at the highest ceiling
            roofs += ax.plot(gx, [bw[t] * v for v in gx], "r" + style, lw=1.5,
                             label="read bandwidth, %dT: %.1f GB/s (measured)" % (t, bw[t]))
    for p, style in zip(peaks, ("--", "-.", ":")):
        g = p["gops_1t"] * threads
        roofs.append(ax.axhline(g, color="k", ls=style, lw=1.2,
                                label="int8 %s, %dT: %.0f GOPS (1T measured x %d)" % (p["isa"], threads, g, threads)))
    if not peaks:
        ax.text(0.01, 0.98, "no int8 compute ceiling measured in this run", transform=ax.transAxes, va="top", fontsize=8)
    ax.set_xlim(lo, hi)
    ax.set_xlabel("operations per byte: 2 x rows x cols x n / (packed weights + int8 activations + f32 outputs)", fontsize=8)
    ax.set_ylabel("GOPS (1e9 ops/s, 2 ops per multiply-add)")
    shape = rows[0]["shape"] if rows else "?"
    what = "decode GEMVs only (this run has no batch sweep)" if fallback else \
        "%s, n = 1 .. 512 activation rows, %d thread%s, weights cold" % (shape, threads, "s" if threads > 1 else "")
    title(ax, "Roofline: " + what + "\nerror bars: 1 sd over repetitions (lower bar clipped at 10% of the value)", d)
    ax.grid(alpha=0.3, which="both")
    if roofs:
        ax.add_artist(ax.legend(handles=roofs, fontsize=7, loc="lower left", bbox_to_anchor=(1.01, 0.0),
                                borderaxespad=0, title="roofs", title_fontsize=7))
    if kh:
        ax.legend(handles=kh, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0,
                  title="kernel (fastest first)", title_fontsize=7)
    else:
        ax.text(0.5, 0.5, "no timed kernels in this run", ha="center", transform=ax.transAxes)
    save(fig, out, "roofline.png")


def hbars(ax, labels, vals, errs, imported=None, fmt="%.1f"):
    """Horizontal bars sorted by value (largest on top), values printed at the bar ends."""
    order = sorted(range(len(vals)), key=lambda i: vals[i])
    y = list(range(len(order)))
    bars = ax.barh(y, [vals[i] for i in order], xerr=[errs[i] for i in order], capsize=2, color="tab:blue",
                   error_kw=dict(lw=1))
    for b, i in zip(bars, order):
        if imported and imported[i]:
            b.set_hatch("//")
            b.set_facecolor("lightgray")
        ax.text(b.get_width() + errs[i], b.get_y() + b.get_height() / 2, " " + fmt % vals[i], va="center", fontsize=7)
    ax.set_yticks(y)
    ax.set_yticklabels([labels[i] for i in order], fontsize=7)
    ax.set_xlim(0, max([v + e for v, e in zip(vals, errs)] + [0]) * 1.2 or 1)
    ax.set_ylim(-0.6, len(order) - 0.4)


def plot_kernels_shapes(d, out):
    rows = [r for r in d.get("kernels", []) if r.get("timed") and num(r.get("weight_gbps"))]
    cpu = [r for r in rows if not r.get("on_device")]
    tmax = max((r["threads"] for r in cpu), default=1)
    sel = [r for r in rows if r["threads"] == tmax or r.get("on_device")]
    shapes = []
    for r in sel:
        if r["shape"] not in shapes:
            shapes.append(r["shape"])
    ncol = min(3, max(1, len(shapes)))
    nrow = max(1, math.ceil(len(shapes) / ncol))
    nk = len({r["kernel"] for r in sel})
    fig, axs = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 1.0 + nrow * (0.8 + 0.22 * nk)), squeeze=False)
    bw = bw_by_threads(d)
    for j, s in enumerate(shapes):
        ax = axs[j // ncol][j % ncol]
        sr = [r for r in sel if r["shape"] == s]
        hbars(ax, [r["kernel"] + (" (device)" if r.get("on_device") else "") for r in sr],
              [r["weight_gbps"] for r in sr], [r["weight_gbps"] * rel_sd(r) for r in sr])
        if tmax in bw:
            ax.axvline(bw[tmax], color="red", ls="--", lw=1)
            ax.set_xlim(0, max(ax.get_xlim()[1], bw[tmax] * 1.15))
        ax.set_title(s, fontsize=8)
        ax.set_xlabel("weight GB/s (packed bytes / time)", fontsize=7)
        ax.grid(axis="x", alpha=0.3)
    for j in range(len(shapes), nrow * ncol):
        axs[j // ncol][j % ncol].axis("off")
    if not shapes:
        axs[0][0].text(0.5, 0.5, "no timed kernels in this run", ha="center", transform=axs[0][0].transAxes)
    line = " (red dashed: measured read bandwidth, %.1f GB/s)" % bw[tmax] if tmax in bw else ""
    fig.suptitle("Kernel x shape, %d thread%s, weights cold, error bars: 1 sd over repetitions%s\n%s" % (
        tmax, "s" if tmax > 1 else "", line, subtitle(d)), fontsize=9, color="darkred" if busy(d)[0] else "black")
    fig.tight_layout()
    save(fig, out, "kernels_shapes.png")


def plot_threads(d, out):
    rows = [r for r in d.get("kernels", []) if r.get("timed") and num(r.get("weight_gbps")) and not r.get("on_device")]
    fig, ax = plt.subplots(figsize=(10, 5.5))
    big = max(rows, key=lambda r: r["rows"] * r["cols"])["shape"] if rows else "?"
    sel = [r for r in rows if r["shape"] == big]
    ts = sorted({r["threads"] for r in sel} | set(bw_by_threads(d)))
    cmap = plt.get_cmap("tab20")
    for i, k in enumerate(sorted({r["kernel"] for r in sel})):
        pts = sorted((r["threads"], r["weight_gbps"], r["weight_gbps"] * rel_sd(r)) for r in sel if r["kernel"] == k)
        ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts], marker="o", capsize=2,
                    color=cmap(i % 20), label=k)
    bw = sorted(bw_by_threads(d).items())
    if bw:
        ax.plot([b[0] for b in bw], [b[1] for b in bw], "r--", lw=1.5, label="measured read bandwidth")
    ax.set_xticks(ts or [1])
    ax.set_xlabel("threads")
    ax.set_ylabel("weight GB/s")
    ax.set_ylim(bottom=0)
    title(ax, "Thread scaling on %s, weights cold, error bars: 1 sd over repetitions" % big, d)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    else:
        ax.text(0.5, 0.5, "no timed CPU kernels in this run", ha="center", transform=ax.transAxes)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save(fig, out, "thread_scaling.png")


def e2e_rows(d, key):
    return [r for r in d.get("e2e", []) + d.get("imported_e2e", []) if num(r.get(key))]


def plot_e2e(d, out, key, name, label, bound):
    """One panel per thread count; bound: draw read bandwidth / bytes per token."""
    rows = e2e_rows(d, key)
    ts = sorted({r.get("threads") or 1 for r in rows}) or [1]
    counts = [max(1, sum(1 for r in rows if (r.get("threads") or 1) == t)) for t in ts]
    fig, axs = plt.subplots(len(ts), 1, figsize=(10, 1.6 + 0.9 * len(ts) + 0.24 * sum(counts)), squeeze=False,
                            gridspec_kw=dict(height_ratios=[c + 2 for c in counts]))
    bw = bw_by_threads(d)
    m = d.get("run", {}).get("model_desc", d.get("run", {}).get("model", "?"))
    for ax, t in zip([a[0] for a in axs], ts):
        tr = [r for r in rows if (r.get("threads") or 1) == t]
        if not tr:
            ax.text(0.5, 0.5, "no end-to-end results in this run", ha="center", transform=ax.transAxes)
            ax.axis("off")
            continue
        hbars(ax, [r["kernel"] for r in tr], [r[key] for r in tr], [num(r.get(key + "_sd")) or 0 for r in tr],
              [bool(r.get("imported")) for r in tr])
        own = [r for r in tr if not r.get("imported") and num(r.get("bytes_per_token"))]
        head = "%d thread%s" % (t, "s" if t > 1 else "")
        if bound and own and t in bw:
            mb = max(r["bytes_per_token"] for r in own)
            b = bw[t] * 1e9 / mb
            ax.axvline(b, color="red", ls="--", lw=1.2)
            ax.set_xlim(0, max(ax.get_xlim()[1], b * 1.15))
            head += "; red dashed: bandwidth bound %.1f tok/s = %.1f GB/s read / %.1f MB per token" % (b, bw[t], mb / 1e6)
        ax.set_title(head, fontsize=8)
        ax.set_xlabel(label, fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("End-to-end %s (%s); error bars: 1 sd over repetitions; hatched: imported from a peer\n%s" % (
        name, m, subtitle(d)), fontsize=9, color="darkred" if busy(d)[0] else "black")
    fig.tight_layout()
    save(fig, out, name + ".png")


def plot_decode(d, out):
    plot_e2e(d, out, "decode_tok_s", "decode", "decode tokens/s", True)


def plot_prefill(d, out):
    plot_e2e(d, out, "prefill_tok_s", "prefill", "prefill tokens/s (one batched forward pass over the prompt)", False)


def frontier_points(fr, mi):
    """(name, kl, tok/s, sd, exact, pareto, bytes/token) of every configuration measured
    on speed model mi and on accuracy."""
    pts = []
    for r in fr.get("rows", []):
        acc = r.get("accuracy", {})
        sp = r.get("speed", [])
        if mi >= len(sp) or "e2e" not in sp[mi] or num(acc.get("kl_mean")) is None:
            continue
        e = sp[mi]["e2e"]
        if num(e.get("decode_tok_s")) is None:
            continue
        pts.append((r["config"], acc["kl_mean"], e["decode_tok_s"], num(e.get("decode_tok_s_sd")) or 0.0,
                    bool(r.get("exact")), bool(sp[mi].get("pareto")), num(e.get("bytes_per_token")) or 0.0))
    return pts


def plot_frontier(d, out):
    """frontier.png: decode tokens/s against mean KL divergence from the exact reference
    (on the trained model), one panel per speed model; the Pareto front joined and
    starred, the exact configuration labelled; KL 0 sits on the linear part of a symlog
    axis."""
    fr = d.get("frontier")
    if not fr or not fr.get("rows"):
        return
    models = fr.get("speed_models", [])
    n = max(1, len(models))
    fig, axes = plt.subplots(1, n, figsize=(7.5 * n, 5.5), squeeze=False)
    for mi in range(n):
        ax = axes[0][mi]
        pts = frontier_points(fr, mi)
        if not pts:
            ax.set_visible(False)
            continue
        pos = [p[1] for p in pts if p[1] > 0]
        lin = min(pos) / 2 if pos else 1e-6
        for name, kl, s, sd, exact, par, bpt in pts:
            ax.errorbar([kl], [s], yerr=[sd], fmt="*" if par else "o", ms=12 if par else 7,
                        color="tab:green" if exact else ("tab:red" if par else "tab:blue"), capsize=3)
            label = "%s%s\n%.0f MB/token" % (name, "" if not exact else " (reference)" if name == "exact" else " (exact)",
                                             bpt / 1e6)
            ax.annotate(label, (kl, s), textcoords="offset points", xytext=(6, 4), fontsize=7)
        front = sorted([p for p in pts if p[5]], key=lambda p: p[1])
        if len(front) > 1:
            ax.plot([p[1] for p in front], [p[2] for p in front], "--", color="tab:red", lw=1,
                    label="Pareto front (faster or closer to exact than every other)")
            ax.legend(fontsize=7, loc="lower left")
        ax.set_xscale("symlog", linthresh=lin)
        ax.set_xlim(left=-lin / 2)
        ticks = [t for t in ax.get_xticks() if t == 0 or t >= 5 * lin]  # no label crowding 0
        ax.set_xticks(ticks)
        ax.set_xlabel("mean KL divergence from the exact reference (nats/token, trained model; 0 = exact)")
        ax.set_ylabel("decode tokens/s (mean +- 1 sd)")
        m = models[mi] if mi < len(models) else {}
        where = os.path.basename(m.get("path", "?"))
        ax.set_title("%s\n%s%s\n%s" % (m.get("desc", ""), where, "" if mi == 0 else " (KL from the trained model)",
                                        subtitle(d)), fontsize=8, color="darkred" if busy(d)[0] else "black")
        ax.grid(True, alpha=0.3)
    fig.suptitle("Numeric configurations: decode speed vs accuracy", fontsize=10)
    fig.tight_layout()
    save(fig, out, "frontier.png")

#!/usr/bin/python3
"""test_frontier.py: `ternbench frontier` on the trained model, and the honesty of what it
reports about the numeric configurations (issue #11):

  - every configuration `check --configs` lists and this machine can run has a row; its
    `exact` flag is the registry's (approx rows: a part or the kernel is approximate);
  - an exact configuration's KL is 0, its top-1 agreement 1 and its perplexity the
    reference's, exactly (its logits are bit-identical);
  - an approximate configuration is never reported exact, and its KL is > 0 (the
    approximation was really applied);
  - bytes per token follow the formats: the int8 head reads vocab * (hidden + 4) bytes,
    the 4-bit head vocab * hidden/32 * 18, an f16 KV cache half the f32 one;
  - results.json, frontier.md and (with matplotlib) frontier.png are written; a bad
    --config is a usage error that names the registered configurations.
"""
import json
import os
import subprocess
import sys
import tempfile

tb = os.environ.get("TERNBENCH")
model = os.environ.get("TB_TRAINED_MODEL")
if not tb or not model or not os.path.exists(model):
    print("SKIP: TERNBENCH or the trained model (TB_TRAINED_MODEL) missing")
    sys.exit(77)
fails = 0


def check(cond, what):
    global fails
    print("%-4s %s" % ("ok" if cond else "FAIL", what))
    fails += not cond


kernel_exact = {}
for line in subprocess.run([tb, "check", "--list"], capture_output=True, text=True, check=True).stdout.splitlines():
    f = line.split("\t")
    kernel_exact[f[0]] = f[3] == "exact"
listing = subprocess.run([tb, "check", "--configs"], capture_output=True, text=True, check=True).stdout
registry = {}
for line in listing.splitlines():
    f = line.split("\t")
    registry[f[0]] = dict(exact=f[1] == "exact", kernel=f[2], head=f[3], act=f[4], kv=f[5])
check("exact" in registry and len(registry) >= 8, "check --configs lists the registry (%d)" % len(registry))

with tempfile.TemporaryDirectory() as d:
    out = os.path.join(d, "fr")
    r = subprocess.run([tb, "frontier", "--config", "all", "--preset", "none", "--chunks", "1", "--ctx", "64",
                        "--prompt", "4", "--decode", "3", "-r", "1", "--threads", "2", "-o", out],
                       capture_output=True, text=True, timeout=600)
    check(r.returncode == 0, "frontier runs (rc %d): %s" % (r.returncode, r.stderr[-400:]))
    if r.returncode:
        sys.exit(1)
    with open(os.path.join(out, "results.json")) as f:
        res = json.load(f)
    fr = res["frontier"]
    rows = {x["config"]: x for x in fr["rows"]}
    skipped = [c for c in registry if c not in rows]
    for c in skipped:  # only configurations whose kernels cannot run here may be missing
        check(registry[c]["kernel"] != "(the run's kernel)" and ("skip %s" % c) in r.stderr,
              "%s missing only because its kernel cannot run here" % c)
    check("provenance" in res and fr["ref_ppl"] > 1, "results.json has provenance and the reference PPL")
    V, H = 128256, 256
    exact_row = rows["exact"]
    ex_e2e = exact_row["speed"][0]["e2e"]
    for name, x in rows.items():
        acc = x["accuracy"]
        reg = registry[name]
        parts_exact = reg["head"] == "head=exact" and reg["act"] == "act=8" and reg["kv"] == "kv=f32"
        check(x["exact"] == (parts_exact and kernel_exact.get(x["kernel"], x["kernel"] == "ref")),
              "%s: exact flag %s matches its parts and kernel" % (name, x["exact"]))
        if acc.get("kl_mean") is None:
            check(False, "%s: accuracy measured (%s)" % (name, acc.get("why")))
            continue
        if x["exact"]:
            check(acc["kl_mean"] == 0 and acc["kl_max"] == 0 and acc["top1_agreement"] == 1 and
                  acc["ppl"] == fr["ref_ppl"], "%s (exact): KL 0, top-1 1, the reference's PPL" % name)
        else:
            check(acc["kl_mean"] > 0, "%s (approximate): KL %.3g > 0, never reported exact" % (name, acc["kl_mean"]))
        e = x["speed"][0].get("e2e")
        check(e is not None and e["config"] == name and e["exact"] == x["exact"], "%s: speed row labelled" % name)
        if not e:
            continue
        head = {"head=q8row": V * (H + 4), "head=q4blk": V * (H // 32) * 18}.get(reg["head"], ex_e2e["lm_head_bytes"])
        check(abs(e["lm_head_bytes"] - head) < 1, "%s: LM head %.0f bytes per token (want %.0f)" % (
            name, e["lm_head_bytes"], head))
        if reg["kv"] == "kv=f16":
            check(abs(e["kv_bytes_per_token"] * 2 - ex_e2e["kv_bytes_per_token"]) < 1e-6 * ex_e2e["kv_bytes_per_token"],
                  "%s: the f16 KV cache reads half the f32 bytes" % name)
    check(os.path.getsize(os.path.join(out, "frontier.md")) > 200, "frontier.md written")
    has_mpl = subprocess.run(["/usr/bin/python3", "-c", "import matplotlib"], capture_output=True).returncode == 0
    if has_mpl:
        check(os.path.getsize(os.path.join(out, "frontier.png")) > 10000, "frontier.png drawn")
    check(any(x["speed"][0].get("pareto") for x in rows.values()), "a Pareto front is marked")

    r = subprocess.run([tb, "frontier", "--config", "no-such-config"], capture_output=True, text=True)
    check(r.returncode == 2 and "exact" in r.stderr and "no such configuration" in r.stderr,
          "an unknown --config is a usage error naming the registered ones")
    r = subprocess.run([tb, "ppl", "--model", model, "--kernel", "gemv_i2s*,gemv_tl1*", "--config", "exact"],
                       capture_output=True, text=True)
    check(r.returncode == 2, "ppl --config with several kernels is a usage error")

    # --config on the single-run commands: labelled, applied, and exact stays exact
    j = os.path.join(d, "e2e.json")
    r = subprocess.run([tb, "bench-e2e", "--model", model, "--config", "head-q8", "--prompt", "4", "--decode", "2",
                        "-r", "1", "--no-bandwidth", "--json", j], capture_output=True, text=True)
    if r.returncode == 0:
        with open(j) as f:
            e2e = json.load(f)
        row = e2e["e2e"] if "e2e" in e2e else e2e
        row = row[0] if isinstance(row, list) else row
        check(row.get("config") == "head-q8" and row.get("exact") is False and abs(row["lm_head_bytes"] - V * (H + 4)) < 1,
              "bench-e2e --config head-q8: labelled approximate, int8 head bytes")
    else:
        check(False, "bench-e2e --config head-q8 runs: %s" % r.stderr[-300:])
    outs = {}
    for cfg in ("exact", "head-q4", None):
        o = os.path.join(d, "l-%s.f32" % cfg)
        args = [tb, "logits", "--model", model, "--tokens", "128000,791,6864,315,279", "-o", o]
        r = subprocess.run(args + (["--config", cfg] if cfg else []), capture_output=True, text=True)
        check(r.returncode == 0, "logits --config %s runs" % cfg)
        outs[cfg] = open(o, "rb").read() if r.returncode == 0 else b""
    check(outs["exact"] == outs[None] and outs["head-q4"] != outs[None] and len(outs["head-q4"]) == len(outs[None]),
          "logits: --config exact is the default's bits, head-q4 differs")
    r = subprocess.run([tb, "generate", "--model", model, "--prompt", "It is a truth", "-n", "4", "--config", "kv-q8"],
                       capture_output=True, text=True)
    check(r.returncode == 0 and "ids:" in r.stdout, "generate --config kv-q8 runs")

print("%d failed" % fails)
sys.exit(1 if fails else 0)

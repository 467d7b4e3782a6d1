#!/usr/bin/env python3
"""test_provenance.py: results say exactly what they were measured on, and a numerics
change is caught.

- ppl -o records the model's sha256 (equal to hashlib's over the file; for an HF
  directory, over the sorted "<sha256>  <name>" lines), the synth generator version
  and seed, and a scored-logits hash that is equal for the reference and an exact kernel
  and differs for a model of another seed;
- the synthetic-model cache file is named by preset, seed, generator version and the
  tokenizer's hash;
- compare_runs.py exits 0 on equal numerics whatever the speed, and 1 with a named flag
  on a changed perplexity, KL, top-1, logits hash or model hash;
- import-llama-bench keeps llama-bench's numbers exactly (a real bitnet.cpp output,
  also behind log text), reads llama-perplexity's final line, labels every row imported,
  and a bad input exits 1 leaving no file;
- the paper table of `ternbench paper` on a non-2B4T model marks each measured row
  not comparable, first thing in its note."""
import copy
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

exe = os.environ["TERNBENCH"]
root = os.environ.get("TB_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
data = os.environ.get("TERNBENCH_DATA", "")
tok = os.path.join(data, "llama3-tokenizer", "tokenizer.json")
wiki = os.path.join(data, "wikitext-2-raw", "wiki.test.raw")
fixtures = os.path.join(root, "tests", "harness", "fixtures")
failures = 0


def check(cond, what, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + what + ("" if cond or not detail else "\n     " + str(detail)[-600:]))
    failures += not cond


def run(args, env=None):
    return subprocess.run([exe] + args, capture_output=True, text=True, env=env)


def sha_file(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()


def sha_dir(d):
    lines = "".join("%s  %s\n" % (sha_file(os.path.join(d, n)), n)
                    for n in sorted(os.listdir(d)) if os.path.isfile(os.path.join(d, n)))
    return hashlib.sha256(lines.encode()).hexdigest()


def ppl_json(d, model, kernels, name):
    out = os.path.join(d, name)
    r = run(["ppl", "--model", model, "--file", wiki, "--ctx", "32", "--chunks", "1", "--kernel", kernels,
             "--quiet", "-o", out])
    check(r.returncode == 0, "ppl %s on %s" % (kernels, os.path.basename(model)), r.stderr)
    return json.load(open(out)) if r.returncode == 0 else {"runs": [], "model_provenance": {}}


def model_and_logits(d):
    g7, g8, hf = (os.path.join(d, n) for n in ("s7.gguf", "s8.gguf", "s7-hf"))
    for seed, path, fmt in (("7", g7, "gguf"), ("8", g8, "gguf"), ("7", hf, "hf")):
        r = run(["synth", "--preset", "tiny", "--seed", seed, "--tokenizer", tok, "--format", fmt, "-o", path])
        check(r.returncode == 0, "synth tiny seed %s (%s)" % (seed, fmt), r.stderr)
    a = ppl_json(d, g7, "ref,gemv_i2s_4x128__scalar", "a.json")
    mp = a["model_provenance"]
    check(mp.get("sha256") == sha_file(g7), "ppl -o: model sha256 = sha256 of the file", mp)
    check(mp.get("synth_version") == 2 and mp.get("synth_seed") == "7", "ppl -o: synth version 2, seed 7", mp)
    hashes = [x.get("logits_fnv64") for x in a["runs"]]
    check(len(hashes) == 2 and re.fullmatch("[0-9a-f]{16}", hashes[0] or "") and hashes[0] == hashes[1],
          "logits hash: reference and exact kernel equal", hashes)
    b = ppl_json(d, g8, "ref", "b.json")
    check(b["runs"] and b["runs"][0].get("logits_fnv64") != hashes[0], "logits hash: another seed, another hash")
    check(b["model_provenance"].get("sha256") not in (None, mp.get("sha256")), "another seed, another model sha256")
    h = ppl_json(d, hf, "ref", "h.json")
    check(h["model_provenance"].get("sha256") == sha_dir(hf), "HF directory: sha256 of its sorted file hashes",
          h["model_provenance"])
    check(h["model_provenance"].get("synth_version") == 2, "HF directory: synth version from config.json")
    check(h["runs"] and h["runs"][0].get("logits_fnv64") == hashes[0], "HF and GGUF of one seed: same logits hash")


def cache_key(d):
    env = dict(os.environ, TERNBENCH_CACHE=os.path.join(d, "cache"))
    r = run(["bench-e2e", "--preset", "tiny", "--kernel", "ref", "--prompt", "2", "--decode", "1", "--reps", "1",
             "--no-bandwidth", "--threads", "1", "--json", os.path.join(d, "e.json")], env=env)
    check(r.returncode == 0, "bench-e2e --preset tiny", r.stderr)
    names = os.listdir(os.path.join(d, "cache"))
    want = "synth-tiny-seed1-v2-tok%s.gguf" % sha_file(tok)[:16]
    check(names == [want], "cache file named by preset, seed, version, tokenizer hash: %s" % names, want)
    e = json.load(open(os.path.join(d, "e.json")))
    check(e["model_provenance"]["sha256"] == sha_file(os.path.join(d, "cache", want)),
          "bench-e2e --json: model sha256 of the cached file")


def compare(d):
    base = json.load(open(os.path.join(fixtures, "results.json")))
    base["model_provenance"] = {"sha256": "ab" * 32, "synth_version": 2, "path": "m.gguf"}
    for i, p in enumerate(base["ppl"]):
        p["logits_fnv64"] = "00000000000000%02x" % i

    def cmp(mutate):
        b = copy.deepcopy(base)
        mutate(b)
        pa, pb = os.path.join(d, "A.json"), os.path.join(d, "B.json")
        json.dump(base, open(pa, "w"))
        json.dump(b, open(pb, "w"))
        return subprocess.run(["/usr/bin/python3", os.path.join(root, "scripts", "compare_runs.py"), pa, pb],
                              capture_output=True, text=True)

    def slower(b):
        for r in b["kernels"] + b["e2e"]:
            for k in ("weight_gbps", "decode_tok_s"):
                if isinstance(r.get(k), (int, float)):
                    r[k] *= 0.5
    r = cmp(slower)
    check(r.returncode == 0 and "<--" in r.stdout and "CHANGED" not in r.stdout,
          "compare_runs: half the speed is flagged but exits 0", r.stdout + r.stderr)
    cases = [("ppl", lambda b: b["ppl"][1].update(ppl=b["ppl"][1]["ppl"] * (1 + 1e-7)), "NUMERICS CHANGED: ppl"),
             ("KL", lambda b: b["ppl"][1].update(kl=1e-9), "NUMERICS CHANGED: kl"),
             ("top-1", lambda b: b["ppl"][1].update(top1=0.999), "NUMERICS CHANGED: top1"),
             ("logits hash", lambda b: b["ppl"][0].update(logits_fnv64="ffffffffffffffff"),
              "NUMERICS CHANGED: logits_fnv64"),
             ("model sha256", lambda b: b["model_provenance"].update(sha256="cd" * 32), "MODEL CHANGED")]
    for what, mutate, flag in cases:
        r = cmp(mutate)
        check(r.returncode == 1 and flag in r.stdout, "compare_runs: changed %s -> exit 1, '%s'" % (what, flag),
              r.stdout + r.stderr)
    r = cmp(lambda b: b["ppl"][1].update(ppl=b["ppl"][1]["ppl"] * (1 + 1e-12)))
    check(r.returncode == 0, "compare_runs: a last-digit ppl difference (1e-12) is not a change", r.stdout)


def import_bench(d):
    src = os.path.join(fixtures, "llama-bench-bitnet.json")
    rows = json.load(open(src))
    noisy = os.path.join(d, "noisy.txt")
    with open(noisy, "w") as f:  # llama-bench's log lines (with brackets) before the JSON
        f.write("llama_model_loader: - kv 0: general.architecture str = bitnet [x]\n" + open(src).read())
    for path in (src, noisy):
        out = os.path.join(d, "imported-bitnet.json")
        r = run(["import-llama-bench", path, "--engine", "bitnet.cpp", "--ppl",
                 os.path.join(fixtures, "llama-perplexity.log"), "-o", out])
        check(r.returncode == 0 and "bitnet.cpp (imported)" in r.stdout, "import-llama-bench %s" % os.path.basename(path),
              r.stderr)
        imp = json.load(open(out))
        e = imp["e2e"]
        ok = len(e) == len(rows) and imp["imported"] is True
        for got, want in zip(e, rows):
            pp = want["n_gen"] == 0
            ok &= got["kernel"] == "bitnet.cpp (imported)" and got["imported"] is True
            ok &= got["threads"] == want["n_threads"] and got["samples_tok_s"] == want["samples_ts"]
            ok &= got["prefill_tok_s" if pp else "decode_tok_s"] == want["avg_ts"]
            ok &= got["prefill_tok_s_sd" if pp else "decode_tok_s_sd"] == want["stddev_ts"]
            ok &= got["test"] == ("pp%d" % want["n_prompt"] if pp else "tg%d" % want["n_gen"])
        check(ok, "imported rows carry llama-bench's numbers exactly, labelled imported", e)
        p = imp["ppl"]
        check(len(p) == 1 and p[0]["ppl"] == 17.109 and p[0]["ppl_stderr"] == 0.1278 and p[0]["kl"] is None,
              "llama-perplexity's final estimate imported (17.109 +- 0.1278)", p)
    bad = os.path.join(d, "bad.json")
    open(bad, "w").write('[{"n_prompt": 1}]')
    out = os.path.join(d, "never.json")
    r = run(["import-llama-bench", bad, "-o", out])
    check(r.returncode == 1 and "n_gen" in r.stderr and not os.path.exists(out),
          "a row without n_gen: exit 1, named, no file", r.stderr)
    r = run(["import-llama-bench", "--ppl", src, "-o", out])
    check(r.returncode == 1 and "Final estimate" in r.stderr and not os.path.exists(out),
          "--ppl without the final line: exit 1, no file", r.stderr)
    r = run(["import-llama-bench"])
    check(r.returncode == 2, "no input: usage error")
    r = run(["import-llama-bench", src, "-o", "-"])
    check(r.returncode == 0 and json.loads(r.stdout)["schema"] == "ternbench-imported/1", "-o -: JSON on stdout")


def peers_report(d):
    """scripts/peers_report.py parses llama-bench through import-llama-bench: the committed
    peers run gives the same rows as when it had its own parser."""
    src = os.path.join(root, "results", "peers-zen4-2core-vm")
    if not os.path.isdir(src):
        return
    import shutil
    dst = os.path.join(d, "peers")
    shutil.copytree(src, dst)
    r = subprocess.run(["/usr/bin/python3", os.path.join(root, "scripts", "peers_report.py"), dst],
                       capture_output=True, text=True)
    want = json.load(open(os.path.join(src, "peers.json")))["rows"]
    got = json.load(open(os.path.join(dst, "peers.json")))["rows"] if r.returncode == 0 else None
    check(got == want, "peers_report.py through import-llama-bench: the committed peers.json rows", r.stderr)


def paper(d):
    model = os.path.join(d, "s7.gguf")
    out = os.path.join(d, "paper")
    r = run(["paper", "--model", model, "--decode", "1", "--threads", "1", "--kernel", "gemv_i2s_4x128__scalar",
             "-o", out])
    check(r.returncode == 0, "paper --model tiny", r.stderr)
    if r.returncode:
        return
    p = json.load(open(os.path.join(out, "paper.json")))
    rows = p["paper"]["rows"]
    measured = [x for x in rows if x["quantity"].startswith("decode latency (")]
    check(len(measured) == 2 and all(not x["comparable"] and x["note"].startswith("NOT the 2B4T shape")
                                     for x in measured), "paper: both decode rows of a tiny model not comparable",
          measured)
    check(all(x["comparable"] for x in rows if x not in measured), "paper: computed rows comparable")
    check(p["model_provenance"]["sha256"] == sha_file(model), "paper.json: model sha256")
    md = open(os.path.join(out, "paper.md")).read()
    check(md.count("NOT the 2B4T shape") == 2, "paper.md carries the notes")


def main():
    if not os.path.exists(tok) or not os.path.exists(wiki):
        print("SKIP: no shared data (tokenizer, WikiText-2) in %r" % data)
        return 77
    with tempfile.TemporaryDirectory() as d:
        model_and_logits(d)
        cache_key(d)
        compare(d)
        import_bench(d)
        peers_report(d)
        paper(d)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""test_ppl_cli.py: `ternbench ppl` end to end against an independent computation.

On the golden tiny GGUF and a slice of wiki.test.raw, `ternbench ppl` (its JSON
result) must agree with perplexity computed here with NumPy from the logits that
`ternbench logits` dumps for the same chunk tokens (BOS first in each chunk,
second half scored).  Also: the CLI's edge cases (text shorter than 2 x ctx,
empty and invalid UTF-8 files, usage errors) and `ternbench tokenize` output
matching the golden ids.  Needs $TERNBENCH (the binary) and $TERNBENCH_DATA.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

TB = os.environ.get("TERNBENCH")
DATA = os.environ.get("TERNBENCH_DATA", "")
MODEL = os.path.join(DATA, "golden", "tiny-bitnet-i2_s.gguf")
WIKI = os.path.join(DATA, "wikitext-2-raw", "wiki.test.raw")
TOKJSON = os.path.join(DATA, "llama3-tokenizer", "tokenizer.json")
GOLD_IDS = os.path.join(DATA, "llama3-tokenizer", "golden", "wiki.test.raw.ids.i32")
BOS = 128000

failures = 0


def check(cond, msg):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", msg)
    else:
        print("ok  ", msg)


def run(*args):
    p = subprocess.run([TB, *args], capture_output=True)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def ppl_from_logits(chunks, ctx, vocab, tmp):
    """NLLs of the scored positions of each chunk, from `ternbench logits --kernel ref`."""
    nll = []
    for c, toks in enumerate(chunks):
        out = os.path.join(tmp, f"chunk{c}.f32")
        rc, so, se = run("logits", "--model", MODEL, "--kernel", "ref", "--tokens", ",".join(map(str, toks)), "-o", out)
        if rc != 0:
            raise RuntimeError(f"ternbench logits failed: {se}")
        lg = np.fromfile(out, dtype="<f4").astype(np.float64).reshape(ctx, vocab)
        first = ctx // 2
        for p in range(first, ctx - 1):
            row = lg[p]
            m = row.max()
            logz = m + np.log(np.exp(row - m).sum())
            nll.append(logz - row[toks[p + 1]])
    return np.array(nll)


def main():
    if not TB or not os.access(TB, os.X_OK):
        print("SKIP: $TERNBENCH (the ternbench binary) is not set")
        return 77
    if not all(os.path.exists(p) for p in (MODEL, WIKI, TOKJSON, GOLD_IDS)):
        print(f"SKIP: test data absent under TERNBENCH_DATA={DATA!r}")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        wiki = open(WIKI, "rb").read()

        # ---- tokenize CLI: ids of the whole file equal the golden ids, from json and gguf
        for tok in (TOKJSON, MODEL):
            out = os.path.join(tmp, "wiki.i32")
            rc, so, se = run("tokenize", "--tokenizer", tok, "--file", WIKI, "-o", out)
            check(rc == 0 and open(out, "rb").read() == open(GOLD_IDS, "rb").read(),
                  f"tokenize --file wiki.test.raw -o: golden ids ({os.path.basename(tok)})")
        rc, so, se = run("tokenize", "--tokenizer", TOKJSON, "--text", "<|begin_of_text|>hi<|eot_id|>")
        check(rc == 0 and so.split() == ["128000", "6151", "128009"], "tokenize --text with special tokens")
        rc, so, se = run("tokenize", "--tokenizer", TOKJSON, "--text", "hi", "--bos")
        check(rc == 0 and so.split() == ["128000", "6151"], "tokenize --bos")
        rc, so, se = run("tokenize", "--tokenizer", TOKJSON, "--ids", "128000,6151,128009")
        check(rc == 0 and so == "<|begin_of_text|>hi<|eot_id|>", "tokenize --ids decodes")
        rc, so, se = run("tokenize", "--tokenizer", TOKJSON)
        check(rc == 2, "tokenize without input: usage error (2)")
        rc, so, se = run("tokenize", "--tokenizer", "/nonexistent.json", "--text", "x")
        check(rc == 1 and "/nonexistent.json" in se, "tokenize with a missing tokenizer: exit 1 naming it")

        # ---- ppl on a slice: JSON result vs NumPy over `ternbench logits`
        ctx, n_chunks = 32, 3
        slice_path = os.path.join(tmp, "slice.txt")
        open(slice_path, "wb").write(wiki[:1500])
        res_path = os.path.join(tmp, "ppl.json")
        rc, so, se = run("ppl", "--model", MODEL, "--file", slice_path, "--ctx", str(ctx), "--chunks", str(n_chunks),
                         "--kernel", "ref", "-o", res_path, "--quiet")
        check(rc == 0, f"ppl on a slice runs (rc {rc}: {se.strip()[-300:]})")
        if rc != 0:
            return 1
        res = json.load(open(res_path))
        r0 = res["runs"][0]
        ids_path = os.path.join(tmp, "slice.i32")
        rc, so, se = run("tokenize", "--tokenizer", MODEL, "--file", slice_path, "--bos", "-o", ids_path)
        ids = np.fromfile(ids_path, dtype="<i4").tolist()
        check(ids[0] == BOS and res["file_tokens"] == len(ids), "ppl tokenized the file with BOS first")
        chunks = []
        for c in range(n_chunks):
            toks = ids[c * ctx:(c + 1) * ctx]
            toks[0] = BOS
            chunks.append(toks)
        vocab = res["model"]["vocab"]
        nll = ppl_from_logits(chunks, ctx, vocab, tmp)
        n = len(nll)
        ppl = float(np.exp(nll.mean()))
        err = ppl * float(np.sqrt(((nll ** 2).mean() - nll.mean() ** 2) / (n - 1)))
        check(r0["tokens_scored"] == n == n_chunks * (ctx - 1 - ctx // 2), f"tokens scored {r0['tokens_scored']} == {n}")
        # Both sides score the same float32 logits of the reference (one batch in
        # `logits`, two half-chunk calls in `ppl`); the only differences are float
        # rounding and summation order, far below 1e-5 relative.
        check(abs(r0["ppl"] - ppl) <= 1e-5 * ppl, f"PPL {r0['ppl']:.6f} == independent {ppl:.6f}")
        check(abs(r0["ppl_stderr"] - err) <= 1e-4 * err, f"PPL stderr {r0['ppl_stderr']:.6f} == {err:.6f}")
        check(res["ctx"] == ctx and res["chunks"] == n_chunks and "provenance" in res, "JSON carries ctx, chunks, provenance")

        # ---- edge cases
        short = os.path.join(tmp, "short.txt")
        open(short, "wb").write(wiki[:100])  # ~25 tokens < 2 x 32
        rc, so, se = run("ppl", "--model", MODEL, "--file", short, "--ctx", "32", "--quiet")
        check(rc == 1 and "at least 64" in se, f"file shorter than 2 x ctx: clear error ({se.strip()})")
        empty = os.path.join(tmp, "empty.txt")
        open(empty, "wb").write(b"")
        rc, so, se = run("ppl", "--model", MODEL, "--file", empty, "--ctx", "32", "--quiet")
        check(rc == 1 and "empty" in se, f"empty file: clear error ({se.strip()})")
        bad = os.path.join(tmp, "bad.txt")
        rng = np.random.default_rng(5)
        open(bad, "wb").write(bytes(rng.integers(0, 256, 300, dtype=np.uint8)))
        rc, so, se = run("ppl", "--model", MODEL, "--file", bad, "--ctx", "16", "--chunks", "2", "--quiet",
                         "-o", os.path.join(tmp, "bad.json"))
        ok = rc == 0 and np.isfinite(json.load(open(os.path.join(tmp, "bad.json")))["runs"][0]["ppl"])
        check(ok, f"invalid UTF-8 text: byte tokens, finite PPL (rc {rc} {se.strip()[-200:]})")
        # ---- an exact kernel next to the reference: identical PPL, KL exactly 0, top-1 1
        kj = os.path.join(tmp, "kern.json")
        rc, so, se = run("ppl", "--model", MODEL, "--file", slice_path, "--ctx", "16", "--chunks", "2",
                         "--kernel", "best", "--threads", "1", "-o", kj, "--quiet")
        ok = rc == 0
        if ok:
            runs = json.load(open(kj))["runs"]
            ok = (len(runs) == 2 and runs[0]["kernel"] == "ref" and runs[1]["ppl"] == runs[0]["ppl"]
                  and runs[1]["kl_mean"] == 0 and runs[1]["kl_max"] == 0 and runs[1]["top1_agreement"] == 1)
        check(ok, f"--kernel best (an exact kernel): same PPL as ref, KL 0, top-1 1 (rc {rc} {se.strip()[-200:]})")

        # ---- models written by `ternbench synth` carry the same vocabulary
        sg = os.path.join(tmp, "synth.gguf")
        rc, so, se = run("synth", "--preset", "tiny", "--tokenizer", TOKJSON, "--format", "gguf", "-o", sg)
        if rc == 0:
            out = os.path.join(tmp, "wiki2.i32")
            rc, so, se = run("tokenize", "--tokenizer", sg, "--file", WIKI, "-o", out)
            check(rc == 0 and open(out, "rb").read() == open(GOLD_IDS, "rb").read(),
                  "tokenize with a `synth --format gguf` model: golden ids")
        else:
            check(False, f"synth --format gguf failed: {se.strip()[-200:]}")
        sh = os.path.join(tmp, "synth_hf")
        rc, so, se = run("synth", "--preset", "tiny", "--tokenizer", TOKJSON, "--format", "hf", "-o", sh)
        if rc == 0:
            rc, so, se = run("tokenize", "--tokenizer", sh, "--text", "<|begin_of_text|>hi<|eot_id|>")
            check(rc == 0 and so.split() == ["128000", "6151", "128009"], "tokenize with an HF model directory")
            rc, so, se = run("ppl", "--model", sh, "--file", slice_path, "--ctx", "16", "--chunks", "2", "--quiet")
            check(rc == 0 and "PPL = " in so, f"ppl on an HF directory uses its tokenizer.json (rc {rc} {se.strip()[-200:]})")
        else:
            check(False, f"synth --format hf failed: {se.strip()[-200:]}")

        rc, so, se = run("ppl", "--file", WIKI)
        check(rc == 2, "ppl without --model: usage error (2)")
        rc, so, se = run("ppl", "--model", MODEL, "--ctx", "abc")
        check(rc == 2, "ppl --ctx abc: usage error (2)")
        rc, so, se = run("ppl", "--model", MODEL, "--kernel", "no_such_kernel")
        check(rc == 2 and "no_such_kernel" in se, "ppl --kernel unknown: usage error naming it")
        rc, so, se = run("ppl", "--help")
        check(rc == 0 and "llama-perplexity" in so, "ppl --help")
    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

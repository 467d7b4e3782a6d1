#!/usr/bin/python3
"""test_convert.py: `ternbench convert` round trips, bit for bit.

- synth GGUF -> HF packed gives a model.safetensors byte-identical to what synth writes as HF
  for the same seed (the two writers hold the same numbers by construction, so any change in
  codes, scales, norms or embedding shows), and converting back and forth again changes nothing;
- HF packed -> GGUF gives the same logits as the original GGUF (hash of every logit);
- an HF bf16 master checkpoint (ternarized at load) -> GGUF is labelled hf-bf16-online and
  gives the same logits as the bf16 directory itself;
- bad input: a missing model (exit 1), a bad --format (exit 2), an embedding value F16 cannot
  hold (exit 1, one clear line, nothing written)."""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

tb = os.environ.get("TERNBENCH")
data = os.environ.get("TERNBENCH_DATA", "")
tok = os.path.join(data, "llama3-tokenizer", "tokenizer.json")
if not tb or not os.path.exists(tb) or not os.path.exists(tok):
    print("SKIP: TERNBENCH or the Llama-3 tokenizer (TERNBENCH_DATA) missing")
    sys.exit(77)
fails = 0


def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    fails += 0 if cond else 1


def run(*args):
    p = subprocess.run([tb] + list(args), capture_output=True, text=True)
    return p.returncode, p.stderr


def logits_hash(model, d):
    out = os.path.join(d, "logits.f32")
    rc, err = run("logits", "--model", model, "--tokens", "128000,791,6864,315,9822,374", "-o", out)
    if rc:
        print(err)
        return None
    h = hashlib.sha256(open(out, "rb").read()).hexdigest()
    os.unlink(out)
    return h


def read_st(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b, 8 + n


def write_bf16_master(src_hf, dst):
    """An HF bf16 'online' checkpoint with the same codes: every linear becomes code x scale in bf16."""
    head, b, base = read_st(os.path.join(src_hf, "model.safetensors"))
    out, off = {}, 0
    blobs = []
    for name, e in head.items():
        if name.endswith(".weight_scale"):
            continue
        lo, hi = e["data_offsets"]
        raw = b[base + lo:base + hi]
        if e["dtype"] == "U8":
            R, cols = e["shape"]
            p = np.frombuffer(raw, dtype=np.uint8).reshape(R, cols)
            codes = np.concatenate([((p >> (2 * i)) & 3).astype(np.int8) - 1 for i in range(4)], axis=0)
            sh = head[name[:-len(".weight")] + ".weight_scale"]
            sbits = np.frombuffer(b[base + sh["data_offsets"][0]:base + sh["data_offsets"][1]], dtype=np.uint16)
            scale = (sbits.astype(np.uint32) << 16).view(np.float32)[0]
            w = (codes.astype(np.float32) * scale).view(np.uint32)
            raw = ((w + 0x7FFF + ((w >> 16) & 1)) >> 16).astype(np.uint16).tobytes()
            e = {"dtype": "BF16", "shape": [4 * R, cols]}
        out[name] = {"dtype": e["dtype"], "shape": e["shape"], "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    os.makedirs(dst)
    h = json.dumps(out).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(os.path.join(dst, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    cfg = json.load(open(os.path.join(src_hf, "config.json")))
    cfg.pop("quantization_config", None)
    cfg.pop("ternbench_synth", None)
    json.dump(cfg, open(os.path.join(dst, "config.json"), "w"))
    shutil.copy(os.path.join(src_hf, "tokenizer.json"), dst)


with tempfile.TemporaryDirectory() as d:
    p = lambda n: os.path.join(d, n)
    for fmt, name in (("gguf", "s.gguf"), ("hf", "s_hf")):
        rc, err = run("synth", "--preset", "tiny", "--format", fmt, "--tokenizer", tok, "-o", p(name))
        check(rc == 0, "synth %s" % fmt)
    rc, err = run("convert", "--model", p("s.gguf"), "--format", "hf", "--tokenizer", tok, "-o", p("c_hf"))
    check(rc == 0, "convert gguf -> hf " + err.strip())
    st = lambda n: open(os.path.join(p(n), "model.safetensors"), "rb").read()
    check(st("c_hf") == st("s_hf"), "gguf -> hf: model.safetensors byte-identical to synth's HF")
    cfg = json.load(open(os.path.join(p("c_hf"), "config.json")))
    check(cfg.get("ternbench_converted_from") == "gguf-i2_s" and "ternbench_synth" not in cfg,
          "the converted config.json names its source layout, not synth")
    rc, err = run("convert", "--model", p("s_hf"), "--format", "gguf", "-o", p("c.gguf"))
    check(rc == 0, "convert hf -> gguf (tokenizer from the HF directory)")
    rc, err = run("convert", "--model", p("c.gguf"), "--format", "hf", "--tokenizer", tok, "-o", p("c2_hf"))
    check(rc == 0 and st("c2_hf") == st("s_hf"), "hf -> gguf -> hf: byte-identical again")
    h0 = logits_hash(p("s.gguf"), d)
    check(h0 is not None and h0 == logits_hash(p("c.gguf"), d) == logits_hash(p("s_hf"), d),
          "logits identical: synth GGUF, synth HF, HF converted to GGUF")

    write_bf16_master(p("s_hf"), p("bf16"))
    rc, err = run("convert", "--model", p("bf16"), "--format", "gguf", "-o", p("b.gguf"))
    check(rc == 0, "convert hf bf16 (online) -> gguf " + err.strip())
    check(b"hf-bf16-online" in open(p("b.gguf"), "rb").read(), "the GGUF is labelled hf-bf16-online")
    hb = logits_hash(p("bf16"), d)
    check(hb is not None and hb == logits_hash(p("b.gguf"), d), "bf16 master and its GGUF: identical logits")

    rc, err = run("convert", "--model", p("missing.gguf"), "--format", "hf", "-o", p("x_hf"))
    check(rc == 1 and not os.path.exists(p("x_hf")), "missing input: exit 1, nothing written")
    rc, err = run("convert", "--model", p("s.gguf"), "--format", "onnx", "-o", p("x"))
    check(rc == 2 and "--format" in err, "unknown --format: usage error")
    # an embedding value (bf16 1e10) that F16 cannot hold: refused, no file
    shutil.copytree(p("s_hf"), p("big_hf"))
    head, b, base = read_st(os.path.join(p("big_hf"), "model.safetensors"))
    lo = head["model.embed_tokens.weight"]["data_offsets"][0]
    b = bytearray(b)
    b[base + lo + 10:base + lo + 12] = struct.pack("<H", 0x5015)  # bf16 ~1.0e10
    open(os.path.join(p("big_hf"), "model.safetensors"), "wb").write(b)
    rc, err = run("convert", "--model", p("big_hf"), "--format", "gguf", "-o", p("big.gguf"))
    check(rc == 1 and "not exact in F16" in err and len(err.strip().splitlines()) == 1
          and not os.path.exists(p("big.gguf")), "embedding value F16 cannot hold: exit 1, one line, no file")

print("%d failure(s)" % fails)
sys.exit(1 if fails else 0)

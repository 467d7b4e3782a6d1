#!/usr/bin/python3
"""test_limits.py: hostile sizes are refused before any arithmetic or allocation is
sized from them: a GGUF claiming 10^12-element tensors, 2^63 metadata entries or a
2^64-1 string length, a safetensors header length of 2^63, 100,000-deep JSON, a
tokenizer.json with 10^7 (and 1.5 * 10^6) merges.  Each file is small or generated
here; each run must exit 1 with one line on stderr that names the problem, in little
time and memory (peak RSS from wait4), and without a sanitizer report."""
import os
import struct
import subprocess
import sys
import tempfile
import time

tb = os.environ.get("TERNBENCH")
if not tb or not os.path.exists(tb):
    print("SKIP: TERNBENCH not set")
    sys.exit(77)
fails = 0

REGEX = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+"
         "[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+")


def run(args):
    """(rc, stderr, seconds, peak RSS in MB) of ternbench ARGS"""
    t0 = time.monotonic()
    p = subprocess.Popen([tb] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read().decode(errors="replace")
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, err, time.monotonic() - t0, ru.ru_maxrss / 1024.0


def refused(what, args, needle, max_s=10.0, max_mb=300.0):
    global fails
    rc, err, secs, mb = run(args)
    lines = err.strip().splitlines()
    ok = (rc == 1 and len(lines) == 1 and needle in err and "Sanitizer" not in err and "runtime error" not in err
          and "out of memory" not in err and secs < max_s and mb < max_mb)
    print("%-4s %s: rc %d, %.2f s, %.0f MB: %s" % ("ok" if ok else "FAIL", what, rc, secs, mb, err.strip()[:300]))
    fails += not ok


def gstr(b):
    return struct.pack("<Q", len(b)) + b


def gguf(n_tensors, n_kv, body):
    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv) + body


def tokenizer_json(path, n_merges):
    """A Llama-3-shaped tokenizer.json with n_merges copies of one merge, written fast."""
    bs = list(range(0x21, 0x7f)) + list(range(0xa1, 0xad)) + list(range(0xae, 0x100))
    cps = bs + [0x100 + i for i in range(256 - len(bs))]  # GPT-2's byte alphabet (as a set)
    vocab = ",".join('"\\u%04x":%d' % (cp, i) for i, cp in enumerate(cps))
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"normalizer":null,"pre_tokenizer":{"type":"Split","pattern":{"Regex":"%s"}},' % REGEX)
        f.write('"added_tokens":[],"model":{"type":"BPE","vocab":{%s},"merges":[' % vocab)
        chunk = ",".join(['"\u0100 \u0101"'] * 10000)  # 8 bytes each in UTF-8
        for i in range(n_merges // 10000):
            f.write(("," if i else "") + chunk)
        f.write("]}}")


with tempfile.TemporaryDirectory() as d:
    def put(name, data):
        p = os.path.join(d, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        return p

    # GGUF: a tensor of 10^6 x 10^6 F32 elements (4 TB) in a 100-byte file
    t = gstr(b"token_embd.weight") + struct.pack("<I", 2) + struct.pack("<QQ", 10**6, 10**6) + struct.pack("<IQ", 0, 0)
    refused("GGUF 10^12-element tensor", ["info", "--model", put("ten.gguf", gguf(1, 0, t) + bytes(64))],
            "out of bounds")
    # and a 2^40 x 2^40 tensor, whose element count overflows 64 bits
    t = gstr(b"token_embd.weight") + struct.pack("<I", 2) + struct.pack("<QQ", 1 << 40, 1 << 40) + struct.pack("<IQ", 0, 0)
    refused("GGUF 2^80-element tensor", ["info", "--model", put("ten2.gguf", gguf(1, 0, t) + bytes(64))],
            "bad dimension")
    refused("GGUF 2^63 metadata entries", ["info", "--model", put("kv.gguf", gguf(0, 1 << 63, b""))],
            "implausible header")
    refused("GGUF 2^63 tensors", ["info", "--model", put("nt.gguf", gguf(1 << 63, 0, b""))], "implausible header")
    body = struct.pack("<Q", (1 << 64) - 1) + b"general.architecture" * 4
    refused("GGUF 2^64-1 string length", ["info", "--model", put("str.gguf", gguf(0, 1, body))], "runs past the end")
    body = gstr(b"tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, (1 << 64) - 1) + bytes(64)
    refused("GGUF array of 2^64-1 strings", ["info", "--model", put("arr.gguf", gguf(0, 1, body))], "runs past the end")

    # safetensors: header length 2^63 (next to a valid config.json)
    cfg = (b'{"hidden_size":128,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":128,'
           b'"vocab_size":64,"max_position_embeddings":64,"rope_theta":500000,"rms_norm_eps":1e-5,'
           b'"hidden_act":"relu2"}')
    put("st/config.json", cfg)
    put("st/model.safetensors", struct.pack("<Q", 1 << 63) + b"{}")
    refused("safetensors 2^63 header length", ["info", "--model", os.path.join(d, "st")], "header length")

    # JSON 100,000 levels deep: as config.json and as tokenizer.json
    deep = b"[" * 100000 + b"]" * 100000
    put("deep/config.json", deep)
    put("deep/model.safetensors", b"")
    refused("config.json 100,000 deep", ["info", "--model", os.path.join(d, "deep")], "nesting deeper")
    refused("tokenizer.json 100,000 deep", ["tokenize", "--tokenizer", put("deep.json", deep), "--text", "x"],
            "nesting deeper")
    # 5 * 10^6 values: more than the JSON reader builds
    refused("JSON of 5 * 10^6 values", ["tokenize", "--tokenizer", put("many.json", b"[" + b"0," * 5000000 + b"0]"),
                                        "--text", "x"], "more than 4194304 values", max_mb=1200)

    # tokenizer.json with 10^7 merges (80 MB): refused by its size before it is read
    big = os.path.join(d, "merges1e7.json")
    tokenizer_json(big, 10**7)
    refused("tokenizer.json with 10^7 merges", ["tokenize", "--tokenizer", big, "--text", "x"],
            "more than a tokenizer.json may have")
    os.unlink(big)
    # 2.2 * 10^6 merges (18 MB) fits the size limit: refused by the merge count
    mid = os.path.join(d, "merges22e5.json")
    tokenizer_json(mid, 2200000)
    refused("tokenizer.json with 2.2 * 10^6 merges", ["tokenize", "--tokenizer", mid, "--text", "x"],
            "merges, more than the limit", max_s=30, max_mb=1200)

print("%d failure(s)" % fails)
sys.exit(1 if fails else 0)

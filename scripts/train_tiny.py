#!/usr/bin/python3
"""train_tiny.py: quantization-aware training of a small model with exactly the BitNet b1.58
2B4T architecture, on Jane Austen's novels, exported as an HF packed checkpoint.

    scripts/train_tiny.py prepare --ternbench build/ternbench --tokenizer TOKENIZER.json -o WORK
    scripts/train_tiny.py train   WORK [--steps N] [--seed S] [--threads T]
    scripts/train_tiny.py export  WORK -o DIR            (HF packed; then `ternbench convert`)
    scripts/train_tiny.py eval    WORK                   (held-out loss of the exported weights)

The block is the one reference/forward.c computes (docs/architecture.md): RMSNorm, RoPE
(theta 500000, NEOX pairing), grouped-query attention, attention sub-norm, squared-ReLU gated
FFN with its sub-norm, tied embedding.  Every linear is a BitLinear with the reference's
quantizers (docs/numerics.md §1-2), both through a straight-through estimator:
  weights:     scale = mean|W| (>= 1e-5), codes = round_half_even(W / scale) clamped to [-1, 1]
  activations: per token s = 127 / max(max|x|, 1e-5), q = round_half_even(clamp(x * s, -128, 127))
Vocabulary: only the ids that occur in the text (train and held-out) get embedding rows; the
others are exported as zero rows, which the exported model gives logit 0.  Training uses exactly
that distribution: the (V - U) zero logits are in the softmax's normalizer (one extra logit
log(V - U)), so the exported model's perplexity is the trained one's.
Text: Jane Austen's six novels from Debian's r-cran-janeaustenr (public domain), read from R's
lazy-load database without R.  Persuasion is held out whole for validation; WikiText-2 is never
used here (it is the out-of-domain test).  Deterministic for a given seed and thread count.
Needs python3-torch (training only; nothing in the tests needs torch).
"""
import argparse
import gzip
import json
import math
import os
import struct
import subprocess
import sys
import time
import zlib

import numpy as np

AUSTEN = "/usr/lib/R/site-library/janeaustenr/data"
HELD_OUT = "persuasion"
V_FULL = 128256
BOS = 128000
SHAPE = dict(hidden=256, layers=6, heads=4, kv_heads=1, head_dim=64, ffn=768, ctx=2048,
             rope_theta=500000.0, norm_eps=1e-5)


# ---- R lazy-load database (Rdata.rdx / Rdata.rdb): XDR serialization, only the types used ----
class _RReader:
    def __init__(self, b):
        self.b, self.p, self.refs = b, 0, []

    def int(self):
        v = struct.unpack_from(">i", self.b, self.p)[0]
        self.p += 4
        return v

    def item(self):
        flags = self.int()
        t, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
        if t == 254 or t in (253, 242, 241, 251, 252):  # NILVALUE, environments, markers
            return None
        if t == 255:  # REFSXP
            k = flags >> 8 or self.int()
            return self.refs[k - 1]
        if t == 1:  # SYMSXP
            v = ("sym", self.item())
            self.refs.append(v)
            return v
        if t == 9:  # CHARSXP
            n = self.int()
            if n == -1:
                return None
            v = self.b[self.p:self.p + n].decode("utf-8")
            self.p += n
            return v
        if t == 2:  # LISTSXP (pairlist)
            if has_attr:
                self.item()
            tag = self.item() if has_tag else None
            car = self.item()
            return [(tag, car)] + (self.item() or [])
        if t in (16, 19):  # STRSXP, VECSXP
            v = [self.item() for _ in range(self.int())]
        elif t in (10, 13):  # LGLSXP, INTSXP
            n = self.int()
            v = list(struct.unpack_from(">%di" % n, self.b, self.p))
            self.p += 4 * n
        else:
            raise ValueError("R serialization type %d not supported" % t)
        if has_attr:
            return {"value": v, "attr": dict((k[1], a) for k, a in self.item())}
        return v


def _unserialize(b):
    if b[:2] != b"X\n":
        raise ValueError("not an XDR R serialization")
    r = _RReader(b)
    r.p = 2
    version = r.int()
    r.int(), r.int()
    if version == 3:
        r.p += 4 + r.int()
    return r.item()


def austen_novels(d=AUSTEN):
    """{name: text} of the six novels (lines joined with newlines)."""
    idx = _unserialize(gzip.decompress(open(os.path.join(d, "Rdata.rdx"), "rb").read()))
    variables = idx["value"][0]
    rdb = open(os.path.join(d, "Rdata.rdb"), "rb").read()
    out = {}
    for (off, n), name in zip(variables["value"], variables["attr"]["names"]):
        v = _unserialize(zlib.decompress(rdb[off + 4:off + n]))
        lines = v["value"] if isinstance(v, dict) else v
        out[name] = "\n".join(x or "" for x in lines) + "\n"
    return out


# ---- prepare: text -> ids with ternbench's own tokenizer ----
def cmd_prepare(a):
    os.makedirs(a.out, exist_ok=True)
    novels = austen_novels()
    meta = {"novels": {}, "tokenizer": os.path.abspath(a.tokenizer)}
    for name, text in sorted(novels.items()):
        txt = os.path.join(a.out, name + ".txt")
        with open(txt, "w", encoding="utf-8") as f:
            f.write(text)
        ids = os.path.join(a.out, name + ".ids.i32")
        subprocess.run([a.ternbench, "tokenize", "--tokenizer", a.tokenizer, "--file", txt, "-o", ids], check=True)
        n = os.path.getsize(ids) // 4
        meta["novels"][name] = {"bytes": len(text.encode()), "tokens": n}
        print("prepare: %-17s %8d bytes %7d tokens" % (name, len(text.encode()), n), flush=True)
    with open(os.path.join(a.out, "data.json"), "w") as f:
        json.dump(meta, f, indent=1)


def load_ids(work):
    meta = json.load(open(os.path.join(work, "data.json")))
    ids = {n: np.fromfile(os.path.join(work, n + ".ids.i32"), dtype="<i4") for n in meta["novels"]}
    used = np.unique(np.concatenate([np.array([BOS], dtype="<i4")] + list(ids.values())))
    return ids, used


# ---- the model (torch) ----
def _torch(threads):
    import torch
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    return torch


def build_model(torch, U, cfg):
    nn, F = torch.nn, torch.nn.functional

    def ste(x, xq):
        return x + (xq - x).detach()

    def quant_w(w):
        scale = w.abs().mean().clamp(min=1e-5)
        return torch.round(w / scale).clamp(-1, 1) * scale

    def quant_a(x):
        s = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
        return torch.round((x * s).clamp(-128, 127)) / s

    class BitLinear(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.weight = nn.Parameter(torch.randn(o, i) * 0.02)

        def forward(self, x):
            w = self.fixed if hasattr(self, "fixed") else ste(self.weight, quant_w(self.weight))
            return F.linear(ste(x, quant_a(x)), w)

    class RMSNorm(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(n))

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + cfg["norm_eps"]) * self.weight

    H, D, KV = cfg["heads"], cfg["head_dim"], cfg["kv_heads"]

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            h, f = cfg["hidden"], cfg["ffn"]
            self.attn_norm, self.attn_sub_norm = RMSNorm(h), RMSNorm(h)
            self.ffn_norm, self.ffn_sub_norm = RMSNorm(h), RMSNorm(f)
            self.q, self.k, self.v, self.o = BitLinear(h, H * D), BitLinear(h, KV * D), BitLinear(h, KV * D), BitLinear(H * D, h)
            self.gate, self.up, self.down = BitLinear(h, f), BitLinear(h, f), BitLinear(f, h)
            self.register_buffer("causal", torch.ones(cfg["seq"], cfg["seq"], dtype=torch.bool).triu(1), persistent=False)

        def forward(self, x, cos, sin):
            B, T, _ = x.shape
            h = self.attn_norm(x)
            q = self.q(h).view(B, T, H, D).transpose(1, 2)
            k = self.k(h).view(B, T, KV, D).transpose(1, 2)
            v = self.v(h).view(B, T, KV, D).transpose(1, 2)
            q, k = rope(q, cos, sin), rope(k, cos, sin)
            k, v = k.repeat_interleave(H // KV, dim=1), v.repeat_interleave(H // KV, dim=1)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D))
            att = att.masked_fill(self.causal[:T, :T], float("-inf")).softmax(dim=-1)
            o = att @ v
            x = x + self.o(self.attn_sub_norm(o.transpose(1, 2).reshape(B, T, H * D)))
            h = self.ffn_norm(x)
            m = F.relu(self.gate(h)).square() * self.up(h)
            return x + self.down(self.ffn_sub_norm(m))

    def rope(x, cos, sin):  # NEOX pairing: dim i with i + D/2
        x1, x2 = x[..., :D // 2], x[..., D // 2:]
        return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Parameter(torch.randn(U, cfg["hidden"]) * 0.02)
            self.blocks = nn.ModuleList(Block() for _ in range(cfg["layers"]))
            self.norm = RMSNorm(cfg["hidden"])
            inv = cfg["rope_theta"] ** (-torch.arange(0, D, 2, dtype=torch.float64) / D)
            ang = torch.arange(cfg["seq"], dtype=torch.float64)[:, None] * inv[None, :]
            self.register_buffer("cos", ang.cos().float(), persistent=False)
            self.register_buffer("sin", ang.sin().float(), persistent=False)
            self.log_zero_rows = math.log(V_FULL - U)  # the (V - U) zero logits, as one logit

        def forward(self, idx):
            T = idx.shape[1]
            x = self.embed[idx]
            for b in self.blocks:
                x = b(x, self.cos[:T], self.sin[:T])
            logits = self.norm(x) @ self.embed.t()
            extra = torch.full(logits.shape[:-1] + (1,), self.log_zero_rows, dtype=logits.dtype)
            return torch.cat([logits, extra], dim=-1)  # last column: never a target

    return Model()


def batches(rng, data, n, seq):
    """n windows of seq tokens: BOS then seq - 1 consecutive text tokens (as ppl scores chunks)."""
    starts = rng.integers(0, len(data) - seq, size=n)
    x = np.empty((n, seq + 0), dtype=np.int64)
    for i, s in enumerate(starts):
        x[i, 0] = 0  # compact id of BOS is looked up by the caller
        x[i, 1:] = data[s:s + seq - 1]
    return x


def cmd_train(a):
    torch = _torch(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    ids, used = load_ids(a.work)
    U = len(used)
    remap = np.full(V_FULL, -1, dtype=np.int64)
    remap[used] = np.arange(U)
    train = np.concatenate([remap[ids[n]] for n in sorted(ids) if n != HELD_OUT])
    val = remap[ids[HELD_OUT]]
    cfg = dict(SHAPE, seq=a.seq)
    model = build_model(torch, U, cfg)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    rest = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95))
    bos = int(remap[BOS])
    vrng = np.random.default_rng(12345)
    vx = torch.from_numpy(batches(vrng, val, 16, a.seq))
    vx[:, 0] = bos
    ckpt = os.path.join(a.work, "model.pt")
    log = open(os.path.join(a.work, "train.log"), "a")

    def say(s):
        print(s, flush=True)
        log.write(s + "\n")
        log.flush()

    def val_loss():
        model.eval()
        with torch.no_grad():
            lg = model(vx[:, :-1])
            l = torch.nn.functional.cross_entropy(lg.reshape(-1, lg.shape[-1]), vx[:, 1:].reshape(-1))
        model.train()
        return l.item()

    say("train: U=%d used ids (of %d), %d train tokens, %d held-out (%s), shape %s, %d params, seed %d, threads %d"
        % (U, V_FULL, len(train), len(val), HELD_OUT, json.dumps(SHAPE), sum(p.numel() for p in model.parameters()),
           a.seed, a.threads))
    v0 = val_loss()
    say("train: step 0 val loss %.4f (ppl %.1f) untrained" % (v0, math.exp(v0)))
    t0, tok = time.time(), 0
    for step in range(1, a.steps + 1):
        lr = a.lr * min(1.0, step / a.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / a.steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        x = torch.from_numpy(batches(rng, train, a.batch, a.seq + 1))
        x[:, 0] = bos
        lg = model(x[:, :-1])
        loss = torch.nn.functional.cross_entropy(lg.reshape(-1, lg.shape[-1]), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        tok += a.batch * a.seq
        if step % a.log_every == 0 or step == a.steps:
            el = time.time() - t0
            msg = "train: step %d/%d loss %.4f lr %.2e %.0f tok/s elapsed %.0fs ETA %.0fs" % (
                step, a.steps, loss.item(), lr, tok / el, el, el / step * (a.steps - step))
            if step % (a.log_every * 5) == 0 or step == a.steps:
                msg += " val %.4f (ppl %.1f)" % ((lambda v: (v, math.exp(v)))(val_loss()))
            say(msg)
        if step % a.save_every == 0 or step == a.steps:
            torch.save({"model": model.state_dict(), "used": used, "cfg": cfg, "step": step, "steps": a.steps,
                        "seed": a.seed, "threads": a.threads, "tokens": tok, "seconds": time.time() - t0,
                        "val_loss_untrained": v0}, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
    say("train: done, %d tokens in %.0f s (%.0f tok/s)" % (tok, time.time() - t0, tok / (time.time() - t0)))


# ---- export: the trained model in the HF packed layout (docs/formats.md §2) ----
HF_LIN = [("q", "self_attn.q_proj"), ("k", "self_attn.k_proj"), ("v", "self_attn.v_proj"), ("o", "self_attn.o_proj"),
          ("gate", "mlp.gate_proj"), ("up", "mlp.up_proj"), ("down", "mlp.down_proj")]
HF_NORM = [("attn_norm", "input_layernorm"), ("attn_sub_norm", "self_attn.attn_sub_norm"),
           ("ffn_norm", "post_attention_layernorm"), ("ffn_sub_norm", "mlp.ffn_sub_norm")]


def bf16_bits(x):
    """float32 array -> bf16 bits, round to nearest even (as tb_f32_to_bf16)."""
    b = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint16)


def bf16_round(x):
    return (bf16_bits(x).astype(np.uint32) << 16).view(np.float32)


def ternarize(w):
    """The reference's weight quantizer on the float32 master: (codes int8, scale float32)."""
    scale = np.float32(np.abs(w.astype(np.float64)).sum() / w.size)
    scale = max(scale, np.float32(1e-5))
    codes = np.clip(np.round(w / scale), -1, 1).astype(np.int8)  # np.round: half to even
    return codes, scale


def exported_tensors(ck):
    """name -> array of the exported checkpoint: every float rounded to what the files store
    (bf16 norms, scales and embedding, the embedding also exact in f16)."""
    sd = {k: v.numpy() for k, v in ck["model"].items()}
    cfg, used = ck["cfg"], ck["used"]
    emb = np.zeros((V_FULL, cfg["hidden"]), dtype=np.float32)
    e = bf16_round(sd["embed"])
    e[np.abs(e) < 2.0 ** -14] = 0.0  # below f16's normal range: flushed, so F16 and BF16 hold the same numbers
    emb[used] = e
    out = {"model.embed_tokens.weight": emb, "model.norm.weight": bf16_round(sd["norm.weight"])}
    for l in range(cfg["layers"]):
        for ours, hf in HF_NORM:
            out["model.layers.%d.%s.weight" % (l, hf)] = bf16_round(sd["blocks.%d.%s.weight" % (l, ours)])
        for ours, hf in HF_LIN:
            codes, scale = ternarize(sd["blocks.%d.%s.weight" % (l, ours)])
            out["model.layers.%d.%s.codes" % (l, hf)] = codes
            out["model.layers.%d.%s.weight_scale" % (l, hf)] = bf16_round(np.array([scale], dtype=np.float32))
    return out


def hf_pack(codes):
    """int8 [rows][cols] in {-1,0,1} -> uint8 [rows/4][cols]: row r in bits 2*(r // (rows/4)) of byte row r % (rows/4)."""
    rows, cols = codes.shape
    R = rows // 4
    c = (codes.astype(np.int16) + 1).astype(np.uint8).reshape(4, R, cols)
    return (c[0] | (c[1] << 2) | (c[2] << 4) | (c[3] << 6)).astype(np.uint8)


def write_hf_packed(t, cfg, out_dir, tokenizer, provenance):
    os.makedirs(out_dir, exist_ok=True)
    entries, blobs, off = {}, [], 0

    def add(name, dtype, shape, data):
        nonlocal off
        entries[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)

    add("model.embed_tokens.weight", "BF16", t["model.embed_tokens.weight"].shape,
        bf16_bits(t["model.embed_tokens.weight"]).tobytes())
    add("model.norm.weight", "BF16", t["model.norm.weight"].shape, bf16_bits(t["model.norm.weight"]).tobytes())
    for l in range(cfg["layers"]):
        for _, hf in HF_NORM:
            n = "model.layers.%d.%s.weight" % (l, hf)
            add(n, "BF16", t[n].shape, bf16_bits(t[n]).tobytes())
    for l in range(cfg["layers"]):
        for _, hf in HF_LIN:
            n = "model.layers.%d.%s.weight_scale" % (l, hf)
            add(n, "BF16", [1], bf16_bits(t[n]).tobytes())
    for l in range(cfg["layers"]):
        for _, hf in HF_LIN:
            p = hf_pack(t["model.layers.%d.%s.codes" % (l, hf)])
            add("model.layers.%d.%s.weight" % (l, hf), "U8", p.shape, p.tobytes())
    head = json.dumps(entries, separators=(",", ":")).encode()
    head += b" " * ((8 - (8 + len(head)) % 8) % 8)
    tmp = os.path.join(out_dir, "model.safetensors.tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head)
        for b in blobs:
            f.write(b)
    conf = {"architectures": ["BitNetForCausalLM"], "model_type": "bitnet", "hidden_act": "relu2",
            "hidden_size": cfg["hidden"], "intermediate_size": cfg["ffn"], "num_hidden_layers": cfg["layers"],
            "num_attention_heads": cfg["heads"], "num_key_value_heads": cfg["kv_heads"], "vocab_size": V_FULL,
            "max_position_embeddings": cfg["ctx"], "rope_theta": cfg["rope_theta"], "rms_norm_eps": cfg["norm_eps"],
            "bos_token_id": BOS, "eos_token_id": 128001, "tie_word_embeddings": True, "torch_dtype": "bfloat16",
            "quantization_config": {"quant_method": "bitnet", "linear_class": "autobitlinear",
                                    "quantization_mode": "offline"},
            "ternbench_trained": provenance}
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(conf, f, indent=2)
    with open(tokenizer, "rb") as src, open(os.path.join(out_dir, "tokenizer.json"), "wb") as dst:
        dst.write(src.read())
    os.replace(tmp, os.path.join(out_dir, "model.safetensors"))


def cmd_export(a):
    import torch
    ck = torch.load(os.path.join(a.work, "model.pt"))
    meta = json.load(open(os.path.join(a.work, "data.json")))
    prov = {"script": "scripts/train_tiny.py", "seed": ck["seed"], "threads": ck["threads"], "step": ck["step"],
            "steps": ck["steps"], "tokens": ck["tokens"], "seconds": round(ck["seconds"], 1),
            "used_ids": int(len(ck["used"])), "held_out": HELD_OUT,
            "data": "Jane Austen's novels from Debian r-cran-janeaustenr (public domain)"}
    write_hf_packed(exported_tensors(ck), ck["cfg"], a.out, meta["tokenizer"], prov)
    print("export: wrote %s (step %d of %d)" % (a.out, ck["step"], ck["steps"]))


def cmd_eval(a):
    """Held-out perplexity of the EXPORTED weights (rounded as the files store them), by
    ternbench ppl's convention: the text tokenized once with BOS first, cut into chunks of
    --ctx tokens, each starting with BOS, only the second half of each chunk scored."""
    torch = _torch(a.threads)
    ck = torch.load(os.path.join(a.work, "model.pt"))
    used, cfg = ck["used"], dict(ck["cfg"], seq=a.ctx)
    t = exported_tensors(ck)
    model = build_model(torch, len(used), cfg)
    with torch.no_grad():
        model.embed.copy_(torch.from_numpy(t["model.embed_tokens.weight"][used]))
        model.norm.weight.copy_(torch.from_numpy(t["model.norm.weight"]))
        for l, b in enumerate(model.blocks):
            for ours, hf in HF_NORM:
                getattr(b, ours).weight.copy_(torch.from_numpy(t["model.layers.%d.%s.weight" % (l, hf)]))
            for ours, hf in HF_LIN:
                codes = t["model.layers.%d.%s.codes" % (l, hf)].astype(np.float32)
                scale = t["model.layers.%d.%s.weight_scale" % (l, hf)][0]
                getattr(b, ours).fixed = torch.from_numpy(codes * scale)
    remap = np.full(V_FULL, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    ids = np.fromfile(a.ids, dtype="<i4") if a.ids else load_ids(a.work)[0][HELD_OUT]
    toks = np.concatenate([[BOS], ids])
    n = len(toks) // a.ctx
    if a.chunks:
        n = min(n, a.chunks)
    nll, cnt = 0.0, 0
    model.eval()
    with torch.no_grad():
        for i in range(n):
            c = toks[i * a.ctx:(i + 1) * a.ctx].copy()
            c[0] = BOS
            x = torch.from_numpy(remap[c])
            if (x < 0).any():  # an id outside the trained vocabulary: its row is zero, logit 0
                raise SystemExit("eval: text has ids the model has no row for; use ternbench ppl")
            lg = model(x[None, :-1])[0].double()
            lp = lg.log_softmax(-1)
            h = a.ctx // 2  # logits at positions h .. ctx-2 score tokens h+1 .. ctx-1 (as harness/ppl.c)
            tgt = x[h + 1:]
            nll -= lp[h:, :].gather(1, tgt[:, None]).sum().item()
            cnt += len(tgt)
    print("eval: step %d, %d chunks of %d, %d tokens scored: PPL %.4f" % (ck["step"], n, a.ctx, cnt, math.exp(nll / cnt)))


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("prepare", help="extract the novels and tokenize them with ternbench")
    q.add_argument("--ternbench", required=True)
    q.add_argument("--tokenizer", required=True)
    q.add_argument("-o", "--out", required=True)
    q = sub.add_parser("train", help="quantization-aware training")
    q.add_argument("work")
    q.add_argument("--steps", type=int, default=3000)
    q.add_argument("--batch", type=int, default=16)
    q.add_argument("--seq", type=int, default=256)
    q.add_argument("--lr", type=float, default=2e-3)
    q.add_argument("--warmup", type=int, default=100)
    q.add_argument("--seed", type=int, default=1)
    q.add_argument("--threads", type=int, default=2)
    q.add_argument("--log-every", type=int, default=10)
    q.add_argument("--save-every", type=int, default=100)
    q = sub.add_parser("export", help="write the trained checkpoint as an HF packed directory")
    q.add_argument("work")
    q.add_argument("-o", "--out", required=True)
    q = sub.add_parser("eval", help="held-out perplexity of the exported weights (ternbench ppl's convention)")
    q.add_argument("work")
    q.add_argument("--ids", help="int32 ids to score (default: the held-out novel)")
    q.add_argument("--ctx", type=int, default=256)
    q.add_argument("--chunks", type=int, default=0)
    q.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    {"prepare": cmd_prepare, "train": cmd_train, "export": cmd_export, "eval": cmd_eval}[a.cmd](a)

#!/usr/bin/python3
"""test_cli_errors.py: regressions from the adversarial CLI review: bad inputs give a
clear message and the right exit status (1 failure, 2 usage error), a failed write
leaves no partial file, and an output path that is a device, FIFO, directory or a
symlink to one is never removed or renamed over.  Driven by env TERNBENCH (also in the
ASan+UBSan build: suite 'sanitize'); the tokenizer parts use TERNBENCH_DATA when present."""
import os
import resource
import signal
import stat
import subprocess
import sys
import tempfile

tb = os.environ.get("TERNBENCH")
if not tb or not os.path.exists(tb):
    print("SKIP: TERNBENCH not set")
    sys.exit(77)
data = os.environ.get("TERNBENCH_DATA", "")
tok_json = os.path.join(data, "llama3-tokenizer", "tokenizer.json")
have_tok = bool(data) and os.path.isfile(tok_json)
fails = 0


def run(args, stdin=None, fsize=None):
    def limit():  # a small RLIMIT_FSIZE makes writes fail (EFBIG) instead of killing us
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    return subprocess.run([tb] + args, input=stdin, capture_output=True, timeout=120,
                          preexec_fn=limit if fsize else None)


def check(cond, what, r=None):
    global fails
    extra = ""
    if not cond and r is not None:
        extra = " (rc %d, stderr: %s)" % (r.returncode, r.stderr.decode(errors="replace")[-400:])
    print("%-4s %s%s" % ("ok" if cond else "FAIL", what, extra))
    fails += not cond


def clean(r):
    """no sanitizer report, no crash, one line on stderr naming the problem"""
    err = r.stderr.decode(errors="replace")
    return r.returncode in (1, 2) and "Sanitizer" not in err and "runtime error" not in err


with tempfile.TemporaryDirectory() as d:
    adir = os.path.join(d, "adir")
    os.mkdir(adir)
    model = os.path.join(d, "m.gguf")
    r = run(["synth", "--preset", "tiny", "--no-tokenizer", "--vocab", "512", "--hidden", "128", "--ffn", "256",
             "--heads", "2", "--kv-heads", "1", "--layers", "1", "-o", model])
    check(r.returncode == 0 and os.path.isfile(model), "synth a small model", r)

    # a directory where a file is read: was malloc(LONG_MAX) ("out of memory", ASan abort)
    r = run(["synth", "--preset", "tiny", "--tokenizer", adir, "-o", os.path.join(d, "x.gguf")])
    check(clean(r) and r.returncode == 1 and b"is a directory" in r.stderr, "synth --tokenizer DIR -> 1, 'is a directory'", r)
    if have_tok:
        r = run(["tokenize", "--tokenizer", tok_json, "--file", adir])
        check(clean(r) and r.returncode == 1 and b"is a directory" in r.stderr, "tokenize --file DIR -> 1", r)
        # a pipe is still read to its end (the reader no longer trusts ftell for non-regular files)
        a = run(["tokenize", "--tokenizer", tok_json, "--text", "Hello world, a pipe."])
        b = run(["tokenize", "--tokenizer", tok_json, "--file", "/dev/stdin"], stdin=b"Hello world, a pipe.")
        check(a.returncode == 0 and b.returncode == 0 and a.stdout == b.stdout and a.stdout.strip(),
              "tokenize --file /dev/stdin (a pipe) == --text", b)

    # output onto a device through a symlink: the write fails, the link must survive
    # (logits used to remove() the path it could not write: as root that deleted /dev/full)
    if os.path.exists("/dev/full"):
        link = os.path.join(d, "full")
        os.symlink("/dev/full", link)
        r = run(["logits", "--model", model, "--tokens", "1,2", "--kernel", "ref", "-o", link])
        check(clean(r) and r.returncode == 1 and os.path.islink(link), "logits -o link-to-/dev/full -> 1, link kept", r)
        if have_tok:
            r = run(["tokenize", "--tokenizer", tok_json, "--text", "hello", "-o", link])
            check(clean(r) and r.returncode == 1 and os.path.islink(link), "tokenize -o link-to-/dev/full -> 1, link kept", r)

    # a failed write into a regular file leaves no partial file
    out = os.path.join(d, "part.f32")
    r = run(["logits", "--model", model, "--tokens", "1,2,3", "--kernel", "ref", "-o", out], fsize=1024)
    check(clean(r) and r.returncode == 1 and not os.path.exists(out), "logits: failed write -> 1, no partial file", r)
    if have_tok:
        out = os.path.join(d, "part.ids")
        r = run(["tokenize", "--tokenizer", tok_json, "--text", "word " * 2000, "-o", out], fsize=1024)
        check(clean(r) and r.returncode == 1 and not os.path.exists(out), "tokenize: failed write -> 1, no partial file", r)

    # the GGUF writer must not rename a finished file over a directory or FIFO
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    for target, what in [(adir, "a directory"), (fifo, "a FIFO")]:
        r = run(["synth", "--preset", "tiny", "--no-tokenizer", "--vocab", "512", "-o", target])
        check(clean(r) and r.returncode == 2 and (b"not a regular file" in r.stderr or b"is a directory" in r.stderr)
              and not os.path.exists(target + ".tmp"), "synth -o %s -> 2 before writing" % what, r)
    check(stat.S_ISFIFO(os.lstat(fifo).st_mode) and os.path.isdir(adir), "the FIFO and the directory are untouched")

    # --json into a symlink to /dev/null: written through, not replaced by a regular file
    null = os.path.join(d, "null")
    os.symlink("/dev/null", null)
    r = run(["bandwidth", "--threads", "1", "--bytes", "4M", "--reps", "1", "--json", null])
    check(r.returncode == 0 and os.path.islink(null) and not os.path.exists("/dev/null.tmp"),
          "bandwidth --json link-to-/dev/null: link kept", r)

    # usage errors found before any work (exit 2), not as failures after it
    r = run(["check", "--case", "100000", "--no-model"])
    check(r.returncode == 2 and b"only" in r.stderr and b"FAIL" not in r.stdout, "check --case out of range -> 2", r)
    r = run(["bench", "--kernel", "no_such_kernel*", "--no-bandwidth"])
    check(r.returncode == 2 and b"no_such_kernel" in r.stderr, "bench --kernel matching nothing -> 2", r)
    sw = os.path.join(d, "sweep-out")
    r = run(["sweep", "--quick", "--kernel", "no_such_kernel", "-o", sw])
    check(r.returncode == 2 and not os.path.exists(sw), "sweep --kernel matching nothing -> 2, no results dir", r)
    r = run(["bench-e2e", "--preset", "bogus", "--no-bandwidth"])
    check(r.returncode == 2 and b"bogus" in r.stderr, "bench-e2e --preset bogus -> 2", r)
    r = run(["bench-e2e", "--model", model, "--kernel", "no_such_kernel", "--no-bandwidth"])
    check(r.returncode == 2 and b"no such kernel" in r.stderr, "bench-e2e --kernel unknown -> 2", r)
    r = run(["paper", "--kernel", "no_such_kernel"])
    check(r.returncode == 2 and b"no such kernel" in r.stderr, "paper --kernel unknown -> 2", r)
    for cmd in (["logits", "--model", model, "--tokens", "1", "-o", os.path.join(d, "t.f32")],
                ["generate", "--model", model, "--tokens", "1", "-n", "1"],
                ["ppl", "--model", model, "--file", model]):
        r = run(cmd + ["--threads", "1000"])  # parsed 0..4096, then refused (exit 1) or run with 1000 threads
        check(r.returncode == 2 and b"0..256" in r.stderr, "%s --threads 1000 -> 2 (pool limit 256)" % cmd[0], r)
    r = run(["ppl", "--model", model, "--file", model, "--kernel", "no_such_kernel"])
    check(r.returncode == 2 and r.stderr.count(b"no_such_kernel") == 1, "ppl --kernel unknown -> 2, named once", r)

    # ---- the CLI tidy-up (harness/cli_common.c) ----
    # one list of --isa-max names (kernels/cpu.c's) in every help text and error
    isa_names = "scalar, avx2, avxvnni, avx512, avx512vnni, avx512vbmi, all"
    for name in isa_names.split(", "):
        r = run(["check", "--isa-max", name, "--list"])
        check(r.returncode == 0, "check --isa-max %s accepted" % name, r)
    for cmd in ("logits", "generate", "ppl", "check", "bench", "bench-e2e"):
        r = run([cmd, "--help"])
        check(r.returncode == 0 and isa_names.encode() in r.stdout, "%s --help lists every --isa-max name" % cmd, r)
    for cmd in (["logits", "--model", model, "--tokens", "1", "-o", os.path.join(d, "t.f32")],
                ["generate", "--model", model, "--tokens", "1", "-n", "1"],
                ["ppl", "--model", model, "--file", model], ["check", "--no-model"], ["bench", "--no-bandwidth"],
                ["bench-e2e", "--model", model, "--no-bandwidth"]):
        r = run(cmd + ["--isa-max", "avx3"])
        check(r.returncode == 2 and b"'avx3'" in r.stderr and isa_names.encode() in r.stderr,
              "%s --isa-max avx3 -> 2, lists the names" % cmd[0], r)
    # --kernel: unknown name = usage error (2); a known kernel masked out = failure (1)
    for cmd in (["logits", "--model", model, "--tokens", "1", "-o", os.path.join(d, "t.f32")],
                ["generate", "--model", model, "--tokens", "1", "-n", "1"],
                ["ppl", "--model", model, "--file", model]):
        r = run(cmd + ["--kernel", "no_such_kernel"])
        check(r.returncode == 2 and b"no_such_kernel" in r.stderr, "%s --kernel unknown -> 2" % cmd[0], r)
        r = run(cmd + ["--kernel", "gemv_i2s_4x128__avx2", "--isa-max", "scalar"])
        check(clean(r) and r.returncode == 1 and b"gemv_i2s_4x128__avx2" in r.stderr,
              "%s --kernel known but excluded by --isa-max -> 1" % cmd[0], r)
    # synth errors carry one prefix, not "ternbench synth: synth: ..."
    r = run(["synth", "--preset", "tiny", "--no-tokenizer", "--vocab", "512", "--hidden", "100", "--ffn", "100",
             "--heads", "2", "--kv-heads", "1", "--layers", "1", "-o", os.path.join(d, "bad.gguf")])
    check(clean(r) and r.returncode == 2 and r.stderr.startswith(b"ternbench synth: ") and b"synth: synth:" not in r.stderr
          and b"% 128" in r.stderr, "synth bad shape: 2, one 'ternbench synth:' prefix", r)
    # bandwidth --threads is capped at the pool limit like the other commands
    r = run(["bandwidth", "--threads", "1000", "--bytes", "4M", "--reps", "1"])
    check(r.returncode == 2 and b"0..256" in r.stderr and b"GB/s" not in r.stdout, "bandwidth --threads 1000 -> 2", r)
    r = run(["bench-e2e", "--model", model, "--threads", "1000", "--no-bandwidth"])
    check(r.returncode == 2 and b"0..256" in r.stderr, "bench-e2e --threads 1000 -> 2", r)
    # integer lists: a trailing comma is an empty item (was silently dropped); leading spaces are fine
    for cmd in (["logits", "--model", model, "-o", os.path.join(d, "t.f32"), "--tokens"],
                ["generate", "--model", model, "-n", "1", "--tokens"], ["bandwidth", "--threads"]):
        r = run(cmd + ["1,"])
        check(r.returncode == 2 and b"empty item" in r.stderr, "%s '1,' -> 2, empty item" % " ".join(cmd[::len(cmd) - 1]), r)
    r = run(["logits", "--model", model, "--kernel", "ref", "-o", os.path.join(d, "sp.f32"), "--tokens", " 5, 6"])
    check(r.returncode == 0 and os.path.getsize(os.path.join(d, "sp.f32")) == 2 * 512 * 4, "logits --tokens ' 5, 6' accepted", r)
    # generate: ids outside the model's vocabulary are refused up front (exit 1), not at the forward pass
    r = run(["generate", "--model", model, "--kernel", "ref", "--tokens", "1,512", "-n", "1"])
    check(clean(r) and r.returncode == 1 and b"vocabulary" in r.stderr and b"ids:" not in r.stdout,
          "generate --tokens id >= vocab -> 1", r)
    if have_tok:  # the Llama-3 tokenizer has 128256 ids, the model 512
        r = run(["generate", "--model", model, "--kernel", "ref", "--tokenizer", tok_json, "--prompt", "Hello", "-n", "1"])
        check(clean(r) and r.returncode == 1 and b"128256" in r.stderr and b"512" in r.stderr and b"ids:" not in r.stdout,
              "generate --tokenizer bigger than the model's vocab -> 1 up front", r)

print("%d failed" % fails)
sys.exit(1 if fails else 0)

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
        check(clean(r) and r.returncode == 1 and b"not a regular file" in r.stderr and not os.path.exists(target + ".tmp"),
              "synth -o %s -> 1 before writing" % what, r)
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

print("%d failed" % fails)
sys.exit(1 if fails else 0)

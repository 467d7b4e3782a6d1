#!/usr/bin/python3
"""test_cli_contract.py: the CLI contract of README.md ("Command-line contract"),
table-driven over every subcommand:
  - --help exits 0 with the usage on stdout;
  - a usage error (unknown option, missing or bad value) exits 2 at once, before any work,
    with one line "ternbench SUBCMD: message" (no doubled prefix);
  - --threads 0 means all cores wherever --threads exists, with one message for bad counts;
  - every output path is checked before the work (a directory or a missing parent -> 2);
  - results appear whole or not at all (sweep with a bad model leaves no directory; an
    interrupted sweep leaves nothing; -o - is standard output for the streams);
  - --kernel globs, token lists with commas or spaces, and the specific findings of
    issue 12 (bench --benchmark_bogus, --benchmark_filter, synth --hidden, paper --from,
    check --kernel <unsupported here>).
Driven by env TERNBENCH; the tokenizer rows use TERNBENCH_DATA when present."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

tb = os.environ.get("TERNBENCH")
if not tb or not os.path.exists(tb):
    print("SKIP: TERNBENCH not set")
    sys.exit(77)
data = os.environ.get("TERNBENCH_DATA", "")
tok_json = os.path.join(data, "llama3-tokenizer", "tokenizer.json")
have_tok = bool(data) and os.path.isfile(tok_json)
src_root = os.environ.get("TB_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
fails = 0
TAGS = ("bench", "bandwidth", "e2e", "sweep", "results", "check", "ppl", "paper", "synth", "logits", "generate",
        "tokenize", "info", "bench-e2e", "frontier")


def run(args, timeout=120, stdin=None):
    t0 = time.monotonic()
    r = subprocess.run([tb] + args, capture_output=True, timeout=timeout, input=stdin)
    r.secs = time.monotonic() - t0
    r.err = r.stderr.decode(errors="replace")
    return r


def check(cond, what, r=None):
    global fails
    extra = ""
    if not cond and r is not None:
        extra = " (rc %d, %.1f s, stderr: %s)" % (r.returncode, r.secs, r.err.strip()[-300:])
    print("%-4s %s%s" % ("ok" if cond else "FAIL", what, extra))
    fails += not cond


def one_prefix(r, cmd):
    """the first stderr line is 'ternbench CMD: ...', and no line doubles a prefix"""
    lines = [l for l in r.err.splitlines() if l.strip()]
    if not lines or not lines[0].startswith("ternbench %s: " % cmd):
        return False
    for l in lines:
        m = re.match(r"ternbench [a-z-]+: ([a-z-]+): ", l)
        if m and m.group(1) in TAGS:
            return False
    return True


def usage_error(cmd, args, what, needle=None, max_s=5.0):
    r = run([cmd] + args)
    ok = r.returncode == 2 and one_prefix(r, cmd) and r.secs < max_s and (needle is None or needle in r.err)
    check(ok, "%s %s -> 2 at once: %s" % (cmd, " ".join(args), what), r)
    return r


with tempfile.TemporaryDirectory() as d:
    model = os.path.join(d, "m.gguf")
    r = run(["synth", "--preset", "tiny", "--no-tokenizer", "--vocab", "512", "--hidden", "128", "--ffn", "256",
             "--heads", "2", "--kv-heads", "1", "--layers", "1", "-o", model])
    check(r.returncode == 0, "synth a small model", r)
    adir = os.path.join(d, "adir")
    os.mkdir(adir)
    nodir = os.path.join(d, "no", "such", "dir", "x.json")
    bad = os.path.join(d, "bad.gguf")
    with open(bad, "wb") as f:
        f.write(b"not a gguf")
    results = os.path.join(src_root, "results", "quick-epyc-2core-vm")

    # ---- the table: per subcommand, arguments that make a valid call (which may do
    # real work), whether it has --threads, and its output options (file or directory)
    M = ["--model", model]
    table = {
        "info":      dict(args=M, threads=False, outs=[]),
        "synth":     dict(args=["--no-tokenizer", "--hidden", "128", "--heads", "2", "--kv-heads", "1", "--ffn", "128",
                                "--vocab", "64", "--layers", "1"], threads=False, outs=[("-o", "file")], need_out=True),
        "convert":   dict(args=M + ["--format", "gguf", "--no-tokenizer"], threads=False, outs=[("-o", "file")],
                          need_out=True),
        "logits":    dict(args=M + ["--tokens", "1,2", "--kernel", "ref"], threads=True, outs=[("-o", "file")],
                          need_out=True),
        "generate":  dict(args=M + ["--tokens", "1 2", "-n", "2", "--kernel", "ref"], threads=True, outs=[]),
        "tokenize":  dict(args=(["--tokenizer", tok_json] if have_tok else []) + ["--text", "hello"], threads=False,
                          outs=[("-o", "file")]),
        "ppl":       dict(args=M + ["--file", model, "--chunks", "1", "--ctx", "16"], threads=True, outs=[("-o", "file")]),
        "check":     dict(args=["--kernel", "gemv_i2s_4x128__scalar", "--quick", "--no-model"], threads=True, outs=[]),
        "bench":     dict(args=["--kernel", "gemv_i2s_4x128__scalar", "--shapes", "128x128", "--no-bandwidth",
                                "--own-timer", "--min-time", "0.001", "--threads", "1"], threads="list",
                          outs=[("--json", "file")]),
        "bandwidth": dict(args=["--bytes", "4M", "--reps", "1", "--threads", "1"], threads="list",
                          outs=[("--json", "file")]),
        "bench-e2e": dict(args=M + ["--kernel", "ref", "--prompt", "2", "--decode", "2", "--no-bandwidth"],
                          threads=True, outs=[("--json", "file")]),
        "sweep":     dict(args=["--quick", "--model", model, "--no-plots", "--no-ppl"], threads=False,
                          outs=[("-o", "dir")]),
        "paper":     dict(args=["--model", model, "--decode", "1"], threads=True, outs=[("-o", "dir")]),
        "tune":      dict(args=["--kernel", "gemv_i2s_4x128__scalar", "--reps", "1"], threads="list",
                          outs=[("-o", "file")]),
        "frontier":  dict(args=["--config", "exact", "--preset", "none", "--chunks", "1", "--ctx", "16", "--prompt", "2",
                                "--decode", "2", "-r", "1"], threads=True, outs=[("-o", "dir")]),
        "import-llama-bench": dict(args=[os.path.join(src_root, "tests", "harness", "fixtures", "llama-bench-bitnet.json")],
                                   threads=False, outs=[("-o", "file")]),
    }
    listed = run(["--help"]).stdout.decode()
    for cmd in table:
        check(re.search(r"^  %s " % re.escape(cmd), listed, re.M) is not None, "%s is a listed subcommand" % cmd)
    for line in listed.splitlines():
        m = re.match(r"^  ([a-z-]+) ", line)
        if m:
            check(m.group(1) in table, "listed subcommand %s is in the contract table" % m.group(1))

    for cmd, t in table.items():
        r = run([cmd, "--help"])
        check(r.returncode == 0 and "usage" in r.stdout.decode(), "%s --help -> 0, usage on stdout" % cmd, r)
        usage_error(cmd, t["args"] + ["--no-such-option"], "unknown option named", "no-such-option")
        last = {"info": "--model", "synth": "-o", "convert": "--format", "tokenize": "-o", "bandwidth": "--json",
                "import-llama-bench": "--engine", "frontier": "--config"}.get(cmd, "--kernel")
        usage_error(cmd, t["args"] + [last], "missing value", "needs a value")
        if t["threads"]:
            usage_error(cmd, t["args"] + ["--threads", "-1"], "--threads -1", "0 = all cores")
            usage_error(cmd, t["args"] + ["--threads", "100000"], "--threads too many", "0 = all cores")
        for opt, kind in t["outs"]:
            if kind == "file":
                usage_error(cmd, t["args"] + [opt, nodir], "%s in a missing directory" % opt, "does not exist")
                usage_error(cmd, t["args"] + [opt, adir], "%s DIR" % opt, "is a directory")
            else:  # a results directory is created, with its parents, but a file is in the way
                usage_error(cmd, t["args"] + [opt, os.path.join(model, "sub")], "%s under a file" % opt,
                            "not a directory")
                usage_error(cmd, t["args"] + [opt, model], "%s FILE" % opt, "not a directory")

    # ---- --threads 0 = all cores, everywhere (was an error in check, bench, bench-e2e, bandwidth)
    for cmd, extra in [("check", ["--kernel", "gemv_i2s_4x128__scalar", "--quick", "--no-model", "--case", "0"]),
                       ("bench-e2e", table["bench-e2e"]["args"]), ("logits", table["logits"]["args"] + ["-o", "-"]),
                       ("bandwidth", ["--bytes", "4M", "--reps", "1"]),
                       ("bench", table["bench"]["args"][:-2])]:
        r = run([cmd] + extra + ["--threads", "0"], timeout=300)
        check(r.returncode == 0, "%s --threads 0 (all cores) runs" % cmd, r)

    # ---- outputs: -o - is standard output for the streams; files appear whole
    r = run(["logits"] + table["logits"]["args"] + ["-o", "-"])
    check(r.returncode == 0 and len(r.stdout) == 2 * 512 * 4 and not os.path.exists("-"),
          "logits -o - writes the float32 logits to standard output", r)
    if have_tok:
        r = run(["tokenize", "--tokenizer", tok_json, "--text", "Hello world", "-o", "-"])
        check(r.returncode == 0 and len(r.stdout) > 0 and len(r.stdout) % 4 == 0, "tokenize -o - writes int32 ids to stdout", r)
        r = run(["tokenize", "--tokenizer", tok_json, "--ids", "9906 1917"])
        r2 = run(["tokenize", "--tokenizer", tok_json, "--ids", "9906,1917"])
        check(r.returncode == 0 and r.stdout == r2.stdout and r.stdout.strip(), "tokenize --ids: spaces == commas", r)
    a = run(["logits"] + M + ["--kernel", "ref", "--tokens", "1, 2 3", "-o", "-"])
    b = run(["logits"] + M + ["--kernel", "ref", "--tokens", "1,2,3", "-o", "-"])
    check(a.returncode == 0 and a.stdout == b.stdout and len(a.stdout) == 3 * 512 * 4, "--tokens '1, 2 3' == '1,2,3'", a)
    usage_error("logits", M + ["--tokens", "1,,2", "-o", "-"], "--tokens with an empty item")
    usage_error("bandwidth", ["--json", "-"], "--json - (not a stream)", "standard output")

    # ---- --kernel globs: where one kernel runs, a glob must match exactly one
    r = run(["logits"] + M + ["--tokens", "1", "--kernel", "gemv_i2s_4x128__scala*", "-o", "-"])
    check(r.returncode == 0 and len(r.stdout) == 512 * 4, "logits --kernel GLOB matching one kernel runs", r)
    usage_error("logits", M + ["--tokens", "1", "--kernel", "gemv_*", "-o", "-"], "a glob matching several", "matches")
    usage_error("logits", M + ["--tokens", "1", "--kernel", "zz*", "-o", "-"], "a glob matching none", "matches no")
    r = run(["ppl"] + table["ppl"]["args"] + ["--kernel", "gemv_i2s_4x128__scala*"])
    check(r.returncode != 2 and "matches" not in r.err, "ppl --kernel GLOB accepted", r)
    usage_error("ppl", table["ppl"]["args"] + ["--kernel", "zz*"], "ppl glob matching none", "matches no")

    # ---- the findings of issue 12
    r = usage_error("bench", ["--benchmark_bogus=1"], "unknown Google Benchmark flag", "benchmark_bogus")
    r = usage_error("bench", table["bench"]["args"][:-2] + ["--own-timer", "--benchmark_filter=x"],
                    "--benchmark_* with --own-timer")
    r = run(["bench", "--kernel", "gemv_i2s_4x128__scalar", "--shapes", "128x128", "--no-bandwidth",
             "--benchmark_filter=zzz"])
    check(r.returncode == 2 and "Failed to match" not in r.err and "matches no benchmark" in r.err and r.secs < 5,
          "bench --benchmark_filter matching nothing: our message, exit 2, before work", r)
    usage_error("synth", ["--no-tokenizer", "--hidden", "100", "-o", os.path.join(d, "h.gguf")], "bad --hidden shape")
    usage_error("synth", ["--no-tokenizer", "--hidden", "-3", "-o", os.path.join(d, "h.gguf")], "--hidden -3")
    check(not os.path.exists(os.path.join(d, "h.gguf")), "no file left by the refused synth")
    r = run(["synth", "--no-tokenizer", "--hidden", "64", "--heads", "2", "--kv-heads", "1", "--ffn", "128", "--vocab",
             "64", "--layers", "1", "-o", os.path.join(d, "narrow.gguf")])
    check(r.returncode == 0 and "bitnet.cpp" in r.err and "warning" in r.err, "synth --hidden 64 warns about bitnet.cpp", r)
    if os.path.isfile(os.path.join(results, "results.json")):
        usage_error("paper", ["--from", results, "--target-bw", "-5"], "paper --from R --target-bw -5", "target-bw")
        usage_error("paper", ["--from", results, "--target-bw", "50"], "paper --from R with a measuring option",
                    "does not apply")
    listing = run(["check", "--list"]).stdout.decode().splitlines()
    unsupported = [l.split("\t")[0] for l in listing if l.count("\t") >= 4 and not l.endswith("runs here")]
    if unsupported:
        r = run(["check", "--kernel", unsupported[0], "--quick", "--no-model"])
        out = r.stdout.decode()
        check(r.returncode == 3 and "SKIP" in out and "nothing checked" in out,
              "check --kernel %s (unsupported here) -> 3 'nothing checked'" % unsupported[0], r)
    else:
        print("skip check --kernel <unsupported>: every kernel runs on this CPU")

    # ---- sweep: a bad model leaves no results directory; Ctrl-C leaves nothing either
    D = os.path.join(d, "sweepD")
    r = run(["sweep", "--quick", "--model", bad, "--no-plots", "-o", D])
    check(r.returncode == 1 and not os.path.exists(D) and not [n for n in os.listdir(d) if n.startswith("sweepD")],
          "sweep --model bad.gguf -o D -> 1, no D (and no staging directory) left", r)
    p = subprocess.Popen([tb, "sweep", "--quick", "--model", model, "--no-plots", "--no-ppl", "-o", D],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(3)
    p.send_signal(signal.SIGINT)
    p.wait(timeout=60)
    left = [n for n in os.listdir(d) if n.startswith("sweepD")]
    check(p.returncode == -signal.SIGINT and not left, "sweep interrupted by SIGINT leaves no directory (left: %s)" % left)

print("%d failure(s)" % fails)
sys.exit(1 if fails else 0)

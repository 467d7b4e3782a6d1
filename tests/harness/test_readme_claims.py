#!/usr/bin/env python3
"""test_readme_claims.py BUILDDIR: the README's verification claims match what runs.

- no blanket "every exact kernel is proven" claim;
- the exit statuses README gives for `check` are those `check --help` documents;
- every per-ISA meson test the README names exists (meson-info/intro-tests.json);
- the README's count of kernels that run on a CPU like the development machine's, and
  the kernels it names as skipped there, agree with `ternbench check --list` when this
  CPU is such a machine (else that part is not applicable and is not counted);
- the sweep's step order in README and harness/README is the order the sweep runs them
  (its "[k/6]" progress lines in harness/sweep.c);
- the --kernel defaults README states are those of each subcommand's --help (ppl: ref;
  generate, logits, bench-e2e, paper: best);
- every option of the quick start's commands is one its subcommand's --help lists, and
  every subcommand of `ternbench --help` is in README's command table;
- every relative link in README.md, harness/README.md, kernels/README.md,
  kernels/cuda/README.md and docs/*.md leads to a file;
- nothing in the repository cites SPEC.md, which users do not have (docs/ instead)."""
import json
import os
import re
import subprocess
import sys

root = os.environ.get("TB_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
readme = open(os.path.join(root, "README.md")).read()
exe = os.environ["TERNBENCH"]
failures = 0


def check(cond, what, detail=None):
    global failures
    print(("ok   " if cond else "FAIL ") + what + ("" if cond or not detail else "\n     %s" % (detail,)))
    failures += not cond


STEP_WORDS = ["bandwidth", "check", "end to end", "perplexity", "energy", "paper"]


def order_of(text):
    """Indices of STEP_WORDS in the order they first appear in text."""
    text = text.lower().replace("-", " ")
    pos = {w: text.find(w) for w in STEP_WORDS}
    return sorted((p, i) for i, (w, p) in enumerate(pos.items()) if p >= 0)


def step_order():
    src = open(os.path.join(root, "harness", "sweep.c")).read()
    steps = re.findall(r'"\[(\d)/6\] ([^"]*)"', src)
    code = [i for _, i in order_of(" | ".join(t for _, t in sorted(steps)))]
    check(len(steps) == 6 and code == list(range(6)), "sweep.c runs bandwidth, check, end-to-end, perplexity, "
          "energy, paper in that order: %s" % [t[:30] for _, t in sorted(steps)])
    m = re.search(r"runs\s+(bandwidth ->.*?paper table)", readme, re.S)
    check(m and [i for _, i in order_of(m.group(1))] == code, "README's sweep step order is the sweep's",
          )
    hr = open(os.path.join(root, "harness", "README.md")).read()
    items = re.findall(r"^(\d)\. \*\*([^*]+)\*\*", hr, re.M)
    words = [next((i for i, w in enumerate(STEP_WORDS) if w in t.lower().replace("-", " ")), -1) for _, t in items]
    check(words == code, "harness/README's numbered steps are the sweep's order: %s" % [t for _, t in items])


def kernel_defaults():
    h = subprocess.run([exe, "ppl", "--help"], capture_output=True, text=True).stdout
    check("ref (default)" in h and "`ppl --kernel` defaults to `ref`" in readme, "ppl --kernel defaults to ref, "
          "as README says")
    for cmd in ("generate", "logits", "bench-e2e", "paper"):
        h = subprocess.run([exe, cmd, "--help"], capture_output=True, text=True).stdout
        check(re.search(r"'best' \(default\)|default:? best", h) is not None and "`%s`" % cmd in
              readme[readme.index("`--kernel` defaults to `best`") - 200:readme.index("`--kernel` defaults to `best`")],
              "%s --kernel defaults to best, as README says" % cmd)


def quick_start():
    sec = readme[readme.index("## Quick start"):readme.index("## The two commands")]
    cmds = re.findall(r"^    build/ternbench ([a-z-]+)(.*)$", sec, re.M)
    check(len(cmds) >= 4, "the quick start has info, generate, ppl and bench: %s" % [c for c, _ in cmds])
    for cmd, rest in cmds:
        h = subprocess.run([exe, cmd, "--help"], capture_output=True, text=True).stdout
        for opt in re.findall(r"(?<!\S)(--?[a-z][a-z-]*)", rest):
            check(re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(opt), h) is not None,
                  "quick start: %s %s is in its --help" % (cmd, opt))
    listed = subprocess.run([exe, "--help"], capture_output=True, text=True).stdout
    for sub in re.findall(r"^  ([a-z][a-z-]+) ", listed, re.M):
        check(re.search(r"^\| `%s[ `]" % re.escape(sub), readme, re.M) is not None or
              ("`%s`" % sub in readme and sub in ("bench", "bandwidth", "bench-e2e")),
              "README's command table has %s" % sub)


def links():
    pages = [os.path.join(root, p) for p in ("README.md", "harness/README.md", "kernels/README.md",
                                             "kernels/cuda/README.md")]
    docs = os.path.join(root, "docs")
    pages += [os.path.join(docs, f) for f in sorted(os.listdir(docs)) if f.endswith(".md")] if os.path.isdir(docs) else []
    check(os.path.isdir(docs), "docs/ exists")
    bad = []
    for p in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", open(p).read()):
            if "://" not in target and not os.path.exists(os.path.join(os.path.dirname(p), target)):
                bad.append("%s -> %s" % (os.path.relpath(p, root), target))
    check(not bad, "every relative link leads to a file (%d pages)" % len(pages), bad)


def no_spec_citations():
    """Users who clone the repository have no SPEC.md: code and docs cite docs/ instead."""
    bad = []
    for top in ("README.md", "common", "docs", "harness", "kernels", "models", "reference", "scripts", "tests",
                "tokenizer"):
        for dirpath, _, files in os.walk(os.path.join(root, top)) if top != "README.md" else [(root, 0, [top])]:
            for f in files:
                if f.endswith((".c", ".h", ".cc", ".cu", ".md", ".py", ".sh", ".inc", ".build")):
                    text = open(os.path.join(dirpath, f), errors="replace").read()
                    if re.search(r"SPEC\.md|SPEC §|shared/docs", text) and f != "test_readme_claims.py":
                        bad.append(os.path.relpath(os.path.join(dirpath, f), root))
    check(not bad, "no citation of SPEC.md / SPEC § / shared/docs in the repository", bad)


def main():
    no_spec_citations()
    step_order()
    kernel_defaults()
    quick_start()
    links()
    check("Every exact kernel is proven" not in readme, "no blanket 'every exact kernel is proven' claim")
    helptext = subprocess.run([exe, "check", "--help"], capture_output=True, text=True).stdout
    check("exit 0 all requested kernels passed, 1 a failure, 2 usage error, 3 none failed but a requested kernel "
          "was skipped" in readme and "  3  nothing failed, but at least one requested kernel was skipped" in helptext,
          "README and check --help give the same exit statuses")
    tests = json.load(open(os.path.join(sys.argv[1], "meson-info", "intro-tests.json")))
    names = {t["name"] for t in tests}
    section = readme[readme.index("## What was verified where"):readme.index("## Results")]
    for n in re.findall(r"`((?:kcore|check|lut|bitserial|cuda|emu)_[a-z0-9_]+)`", section):
        check(n in names, "README names meson test %s, which exists" % n)
    listed = subprocess.run([exe, "check", "--list"], capture_output=True, text=True).stdout.splitlines()
    runs = [l.split("\t")[0] for l in listed if l.endswith("\truns here")]
    skipped = sorted(l.split("\t")[0] for l in listed if not l.endswith("\truns here"))
    flags = open("/proc/cpuinfo").read()
    dev_like = " avx512_vnni" in flags and " avx_vnni" not in flags and "gemv_w2a8_4x512__cuda" in skipped
    if dev_like:
        m = re.search(r"runs (\d+) of the (\d+) registered\s+kernels", section)
        check(m and int(m.group(1)) == len(runs) and int(m.group(2)) == len(listed),
              "README: runs %s of %s kernels here; check --list: %d of %d" % (m and m.group(1), m and m.group(2),
                                                                            len(runs), len(listed)))
        for k in skipped:
            check("skips `%s`" % k in section or "and `%s`" % k in section, "README names %s as skipped here" % k)
    elif " avx2" in flags and " avx512f" not in flags and " avx_vnni" not in flags:
        # AVX2 only (CI): README says the six AVX-512, the AVX-512 VNNI, AVX-VNNI and CUDA skip
        want = sorted(k for k in runs + skipped if k.endswith(("__avx512", "__avx512vnni", "__avxvnni", "__cuda")))
        check(skipped == want and len(want) == 9, "AVX2-only CPU: the 9 kernels README implies are skipped: %s" % skipped)
    else:
        print("SKIP: this CPU is neither like the development machine nor AVX2-only; README's counts not compared")
        return 77 if not failures else 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""test_readme_claims.py BUILDDIR: the README's verification claims match what runs.

- no blanket "every exact kernel is proven" claim;
- the exit statuses README gives for `check` are those `check --help` documents;
- every per-ISA meson test the README names exists (meson-info/intro-tests.json);
- the README's count of kernels that run on a CPU like the development machine's, and
  the kernels it names as skipped there, agree with `ternbench check --list` when this
  CPU is such a machine (else that part is not applicable and is not counted)."""
import json
import os
import re
import subprocess
import sys

root = os.environ.get("TB_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
readme = open(os.path.join(root, "README.md")).read()
exe = os.environ["TERNBENCH"]
failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    failures += not cond


def main():
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
        # AVX2 only (CI): README says the four AVX-512, the AVX-512 VNNI, AVX-VNNI and CUDA skip
        want = sorted(k for k in runs + skipped if k.endswith(("__avx512", "__avx512vnni", "__avxvnni", "__cuda")))
        check(skipped == want and len(want) == 7, "AVX2-only CPU: the 7 kernels README implies are skipped: %s" % skipped)
    else:
        print("SKIP: this CPU is neither like the development machine nor AVX2-only; README's counts not compared")
        return 77 if not failures else 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

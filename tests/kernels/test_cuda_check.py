#!/usr/bin/env python3
"""test_cuda_check.py: `ternbench check` on the CUDA kernel never fails for lack of a GPU.

Runs `$TERNBENCH check --kernel gemv_w2a8_4x512__cuda --quick` and requires exactly one
result line for the kernel: SKIP with a non-empty reason (no usable GPU or built without
CUDA; check then exits 77, "nothing checked") or PASS (a GPU is present, the kernel is
bit-exact, exit 0).  A crash, a FAIL line or any other exit status fails the test.
"""
import os
import subprocess
import sys


def main():
    exe = os.environ.get("TERNBENCH")
    if not exe or not os.path.exists(exe):
        print("SKIP: $TERNBENCH not set")
        return 77
    name = "gemv_w2a8_4x512__cuda"
    p = subprocess.run([exe, "check", "--kernel", name, "--quick"], capture_output=True, text=True, timeout=600)
    out = p.stdout + p.stderr
    print(out)
    if p.returncode not in (0, 77):
        print("FAIL: exit status %d" % p.returncode)
        return 1
    lines = [l for l in out.splitlines() if l.split()[1:2] == [name]]
    if len(lines) != 1:
        print("FAIL: expected one result line for %s, got %d" % (name, len(lines)))
        return 1
    status, rest = lines[0].split()[0], lines[0].split(None, 2)[2:] or [""]
    if status == "SKIP" and rest[0].strip() and p.returncode == 77:
        print("ok: skipped with a reason: %s" % rest[0].strip())
        return 0
    if status == "PASS" and p.returncode == 0:
        print("ok: passed on a GPU")
        return 0
    print("FAIL: unexpected result line: %s" % lines[0])
    return 1


if __name__ == "__main__":
    sys.exit(main())

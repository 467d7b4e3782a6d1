#!/usr/bin/python3
"""test_plugin.py: kernels from outside the tree (kernels/ternbench_plugin.h).

Each plugin is compiled here with the C compiler and ONLY the ABI header on its include
path (a directory holding a copy of ternbench_plugin.h and nothing else):
- examples/plugin/mykernel.c: checked (PASS, model bit-identical), timed, run end to end,
  and its perplexity is the reference's (KL 0);
- a deliberately wrong plugin: FAIL in the checker (exit 1) and never timed by bench;
- one built for another ABI version, and a file that is not a shared object: refused with
  one clear line, exit 1, no crash;
- one that needs an ISA this CPU cannot have: SKIP with the reason (exit 3 when asked for).
Also: no registered kernel's name appears anywhere in harness/ (the harness knows no kernel
by name; what is special about device kernels comes from their descriptor's hooks)."""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

tb = os.environ.get("TERNBENCH")
root = os.environ.get("TB_SOURCE_ROOT", "")
cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
if not tb or not os.path.exists(tb) or not root or not cc:
    print("SKIP: TERNBENCH, TB_SOURCE_ROOT or a C compiler missing")
    sys.exit(77)
fails = 0


def check(cond, what, detail=""):
    global fails
    print(("ok   " if cond else "FAIL ") + what + ("" if cond else "\n     " + detail.strip()[-1500:]))
    fails += 0 if cond else 1


def run(*args, timeout=300):
    p = subprocess.run([tb] + list(args), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


with tempfile.TemporaryDirectory() as d:
    inc = os.path.join(d, "include")
    os.mkdir(inc)
    shutil.copy(os.path.join(root, "kernels", "ternbench_plugin.h"), inc)
    libs = {}
    srcs = {"example": os.path.join(root, "examples", "plugin", "mykernel.c")}
    for n in ("wrong_result", "wrong_abi", "missing_isa"):
        srcs[n] = os.path.join(root, "tests", "harness", "plugins", n + ".c")
    for n, src in srcs.items():
        libs[n] = os.path.join(d, "lib%s.so" % n)
        p = subprocess.run([cc, "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-I", inc, src, "-o", libs[n]],
                           capture_output=True, text=True)
        check(p.returncode == 0, "compile %s with only ternbench_plugin.h" % n, p.stderr)

    # the example: checked, timed, end to end, perplexity
    rc, out, err = run("check", "--plugin", libs["example"], "--kernel", "plugin:*", "--quick")
    check(rc == 0 and re.search(r"^PASS plugin:gemv_rowmajor2b_1x4__c .*model: bit-identical", out, re.M),
          "check --plugin example: PASS, model bit-identical", out + err)
    env_rc = subprocess.run([tb, "check", "--kernel", "plugin:*", "--quick"], capture_output=True, text=True,
                            env=dict(os.environ, TERNBENCH_PLUGINS=libs["example"]))
    check(env_rc.returncode == 0 and "PASS plugin:" in env_rc.stdout, "TERNBENCH_PLUGINS loads it too",
          env_rc.stdout + env_rc.stderr)
    bj = os.path.join(d, "bench.json")
    rc, out, err = run("bench", "--plugin", libs["example"], "--kernel", "plugin:*", "--shapes", "kv", "--threads", "1",
                       "--min-time", "0.01", "--json", bj)
    rows = json.load(open(bj)).get("kernels", []) if rc == 0 and os.path.exists(bj) else []
    timed = [r for r in rows if r.get("kernel", "").startswith("plugin:") and (r.get("gops") or 0) > 0]
    check(rc == 0 and timed, "bench --plugin example: timed like any kernel", out + err)
    synth = os.path.join(d, "tiny.gguf")
    run("synth", "--preset", "tiny", "--no-tokenizer", "--vocab", "512", "-o", synth)
    rc, out, err = run("bench-e2e", "--plugin", libs["example"], "--model", synth, "--kernel",
                       "plugin:gemv_rowmajor2b_1x4__c", "--prompt", "8", "--decode", "4", "--reps", "1", "--no-bandwidth")
    check(rc == 0 and "plugin:gemv_rowmajor2b_1x4__c" in out + err, "bench-e2e runs the model on it", out + err)
    lg = [os.path.join(d, "ref.f32"), os.path.join(d, "plugin.f32")]
    rc1, _, e1 = run("logits", "--model", synth, "--tokens", "1,2,3,4,5", "--kernel", "ref", "-o", lg[0])
    rc2, _, e2 = run("logits", "--plugin", libs["example"], "--model", synth, "--tokens", "1,2,3,4,5", "--kernel",
                     "plugin:*", "-o", lg[1])
    same = rc1 == 0 and rc2 == 0 and open(lg[0], "rb").read() == open(lg[1], "rb").read()
    check(same, "logits through the plugin kernel are the reference's, bit for bit", e1 + e2)

    # the wrong one: FAIL, never timed
    rc, out, err = run("check", "--plugin", libs["wrong_result"], "--kernel", "plugin:*", "--quick")
    check(rc == 1 and "FAIL plugin:wrong_by_one" in out + err, "wrong plugin: FAIL in the checker, exit 1", out + err)
    rc, out, err = run("bench", "--plugin", libs["wrong_result"], "--kernel", "plugin:*", "--shapes", "kv", "--threads",
                       "1", "--min-time", "0.01", "--json", bj)
    rows = json.load(open(bj)).get("kernels", []) if os.path.exists(bj) else []
    wrong = [r for r in rows if r.get("kernel") == "plugin:wrong_by_one"]
    check(wrong and all(not r.get("timed") and not (r.get("gops") or 0) > 0 and r.get("why") for r in wrong),
          "wrong plugin: bench refuses to time it and says why", out + err + json.dumps(wrong)[:500])

    # refused politely
    for name, needle in (("wrong_abi", "ABI"), ("not_elf", "not a loadable shared object")):
        path = libs.get(name) or os.path.join(root, "README.md")
        rc, out, err = run("check", "--plugin", path, "--quick")
        lines = err.strip().splitlines()
        check(rc == 1 and len(lines) == 1 and needle in err and "Sanitizer" not in err,
              "%s: exit 1 with one line naming the problem" % name, out + err)
    rc, out, err = run("check", "--plugin", os.path.join(d, "missing.so"), "--quick")
    check(rc == 1 and "missing.so" in err, "a missing plugin file: exit 1, named", err)

    # the foreign ISA: skipped with its reason
    rc, out, err = run("check", "--plugin", libs["missing_isa"], "--kernel", "plugin:*", "--quick")
    check(rc == 3 and re.search(r"SKIP plugin:needs_\w+.*needs", out + err), "foreign-ISA plugin: SKIP with the reason",
          out + err)

# the harness knows no kernel by name
names = re.findall(r"TB_(?:X86_|ARM_)?KERNEL\((\w+)\)", open(os.path.join(root, "kernels", "registry.inc")).read())
hits = []
for f in glob.glob(os.path.join(root, "harness", "*.[ch]")) + glob.glob(os.path.join(root, "harness", "*.cc")):
    text = open(f).read()
    hits += ["%s: %s" % (os.path.basename(f), n) for n in names if n in text]
    hits += ["%s: a kernel-name prefix" % os.path.basename(f) for pre in ("\"gemv_",) if pre in text]
check(len(names) > 10 and not hits, "no kernel name in harness/ (%d registered names searched)" % len(names),
      "\n".join(hits))
print("%d failure(s)" % fails)
sys.exit(1 if fails else 0)

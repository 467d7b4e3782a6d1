#!/usr/bin/env python3
"""test_emu_coverage.py: every intrinsic the instruction models replace (the
`#define _mm..._name model_fn` lines of emu_simd.h and test_lut_emu.h) has a fact test
in test_emu_facts.c that calls its model function, so no modelled intrinsic goes untested."""
import os
import re
import sys

here = os.path.dirname(os.path.abspath(__file__))
facts = open(os.path.join(here, "test_emu_facts.c")).read()
missing, total = [], 0
for header in ("emu_simd.h", "test_lut_emu.h"):
    for intr, fn in re.findall(r"#define\s+(_mm\w+)\s+(\w+)", open(os.path.join(here, header)).read()):
        total += 1
        if not re.search(r"\b%s\(" % re.escape(fn), facts):
            missing.append("%s (%s, %s)" % (intr, fn, header))
print("%d modelled intrinsics, %d without a fact test" % (total, len(missing)))
for m in missing:
    print("FAIL: no fact test calls " + m)
sys.exit(1 if missing or total < 30 else 0)

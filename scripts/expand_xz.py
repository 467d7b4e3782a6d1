#!/usr/bin/python3
"""expand_xz.py IN.xz OUT: decompress one .xz file, atomically (OUT appears complete or not at all).
Used by the build to expand the shipped trained model (models/austen-tiny)."""
import lzma
import os
import sys

if len(sys.argv) != 3:
    sys.exit("usage: expand_xz.py IN.xz OUT")
src, dst = sys.argv[1], sys.argv[2]
tmp = dst + ".tmp"
try:
    with lzma.open(src) as f, open(tmp, "wb") as g:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            g.write(b)
    os.replace(tmp, dst)
except (OSError, lzma.LZMAError) as e:
    if os.path.exists(tmp):
        os.unlink(tmp)
    sys.exit("expand_xz.py: %s: %s" % (src, e))

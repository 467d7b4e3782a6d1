#!/usr/bin/env python3
"""test_cuda_fatbin.py: the CUDA build really produced the fat binary we claim.

Usage: test_cuda_fatbin.py OBJECT ARCHS...   (e.g. w2a8_cuda.o sm_80 sm_90 compute_90)

Reads the ELF section .nv_fatbin of the nvcc object, walks the fat binary containers
(16-byte header, magic 0xBA55ED50; entries: u16 kind (1 = PTX, 2 = ELF), u16, u32
header size, u64 payload size, ..., u32 arch at byte 28) and checks that every
requested target is present: sm_XY = an ELF (SASS) entry for arch XY, compute_XY = a
PTX entry.  Exit 0 ok, 1 failure, 77 skip (no object: built without CUDA).
"""
import os
import struct
import sys


def sections(data):
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise ValueError("not an ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    hdrs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    stroff = hdrs[shstrndx][4]
    for h in hdrs:
        end = data.index(b"\0", stroff + h[0])
        yield data[stroff + h[0]:end].decode(), data[h[4]:h[4] + h[5]]


def fatbin_entries(blob):
    pos = 0
    while pos + 16 <= len(blob):
        magic, _ver, hsize, fsize = struct.unpack_from("<IHHQ", blob, pos)
        if magic != 0xBA55ED50:
            pos += 8  # containers are 8-byte aligned inside the section
            continue
        e = pos + hsize
        end = pos + hsize + fsize
        while e + 32 <= end:
            kind, _u, ehsize, psize = struct.unpack_from("<HHIQ", blob, e)
            arch, = struct.unpack_from("<I", blob, e + 28)
            if ehsize == 0:
                break
            yield kind, arch
            e += ehsize + psize
        pos = end


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    obj, want = sys.argv[1], sys.argv[2:]
    if not os.path.exists(obj):
        print("SKIP: %s not built (built without CUDA)" % obj)
        return 77
    data = open(obj, "rb").read()
    fat = [blob for name, blob in sections(data) if name == ".nv_fatbin"]
    if not fat:
        print("FAIL: %s has no .nv_fatbin section" % obj)
        return 1
    have = set()
    for blob in fat:
        for kind, arch in fatbin_entries(blob):
            have.add(("sm_%d" if kind == 2 else "compute_%d" if kind == 1 else "kind%d_%%d" % kind) % arch)
    print("fat binary targets:", " ".join(sorted(have)))
    missing = [t for t in want if t not in have]
    if missing:
        print("FAIL: missing", " ".join(missing))
        return 1
    print("ok: %s" % " ".join(want))
    return 0


if __name__ == "__main__":
    sys.exit(main())

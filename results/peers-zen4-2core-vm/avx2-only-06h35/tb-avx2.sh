#!/bin/bash
# ternbench limited to what an AVX2-only CPU (Zen 3) runs: the AVX2 i2s kernel, AVX2 row hooks
case "$1" in bench-e2e) exec /tmp/prun/build/ternbench "$@" --kernel gemv_i2s_4x128__avx2 ;; *) exec /tmp/prun/build/ternbench "$@" ;; esac

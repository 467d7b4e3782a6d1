#!/usr/bin/env bash
# test_arm_qemu.sh SRC BUILD DATA: the AArch64 kernels on an x86 machine.
#   1. cross-builds ternbench + test_arm for aarch64 into BUILD (cross/aarch64-linux-gnu.ini;
#      no hwloc/papi/benchmark/CUDA), incrementally on later runs;
#   2. under `qemu-aarch64 -cpu max`: prints the CPU features the emulator exposes
#      (AT_HWCAP/AT_HWCAP2 and what ternbench makes of them) and which kernels run;
#   3. `ternbench check --quick` on every ARM kernel (bit-exact, plus the checker's
#      model-level test) with 128-bit SVE vectors (as on Neoverse N2/V2, Graviton 4), the
#      SVE kernel again with 512-bit vectors (as A64FX), and the detection under
#      -cpu cortex-a53 (Armv8.0: no dotprod, no SVE);
#   4. test_arm (detection, the 64/16 layout-bug kernel caught, NEON LM head bit-identical);
#   5. the golden model (DATA/golden/tiny-bitnet-i2_s.gguf): logits of every ARM kernel
#      byte-identical to the reference path's (also under qemu).
# Exit 77 (meson SKIP) with the reason when the cross compiler or qemu is missing.
set -uo pipefail
src=$1 build=$2 data=${3:-}
skip() { echo "SKIP: $*"; exit 77; }

for tool in aarch64-linux-gnu-gcc aarch64-linux-gnu-g++ meson ninja; do
    command -v "$tool" >/dev/null || skip "$tool not found (Debian: apt-get install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu)"
done
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64) ||
    skip "qemu-aarch64 not found (Debian: apt-get install qemu-user-static)"
sysroot=/usr/aarch64-linux-gnu
[ -e "$sysroot/lib/ld-linux-aarch64.so.1" ] || skip "no aarch64 libc in $sysroot (Debian: libc6-dev-arm64-cross)"

step() { echo; echo "== $*"; }
fail=0

step "cross build ($build)"
if [ ! -f "$build/build.ninja" ]; then
    nice -n 19 meson setup "$build" "$src" --cross-file "$src/cross/aarch64-linux-gnu.ini" --buildtype=release \
        -Dhwloc=disabled -Dpapi=disabled -Dbenchmark=disabled -Dcuda=disabled -Ddata_dir="$data" >/dev/null ||
        { echo "FAIL: meson setup of the cross build"; exit 1; }
fi
nice -n 19 ninja -C "$build" -j 2 ternbench tests/kernels/test_arm | tail -1 || { echo "FAIL: cross build"; exit 1; }
tb="$build/ternbench"
file "$tb" 2>/dev/null | cut -d, -f1-2

run() { "$qemu" -cpu "$cpu" -L "$sysroot" "$@"; }
cpu_main=max,sve-default-vector-length=16 # -cpu max with 128-bit SVE vectors
cpu=$cpu_main

step "CPU features under $(basename "$qemu") -cpu $cpu ($("$qemu" --version | head -1))"
# AT_HWCAP / AT_HWCAP2 bit names: Linux arch/arm64/include/uapi/asm/hwcap.h
hwcap_names=(fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc
    dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs sb paca pacg)
hwcap2_names=(dcpodp sve2 sveaes svepmull svebitperm svesha3 svesm4 flagm2 frint svei8mm svef32mm svef64mm
    svebf16 i8mm bf16 dgh rng bti mte ecv afp rpres mte3 sme sme_i16i64 sme_f64f64 sme_i8i32 sme_f16f32
    sme_b16f32 sme_f32f32 sme_fa64 wfxt ebf16 sve_ebf16 cssc rprfm sve2p1)
decode() { # hex value, names...
    local v=$((16#${1#0x})) out="" i=0
    shift
    for n in "$@"; do (( (v >> i) & 1 )) && out+="$n "; i=$((i + 1)); done
    echo "$out"
}
auxv=$(LD_SHOW_AUXV=1 run "$tb" check --list 2>/dev/null | grep -E '^AT_HWCAP2?:')
hw=$(echo "$auxv" | awk '$1 == "AT_HWCAP:" {print $2}') hw2=$(echo "$auxv" | awk '$1 == "AT_HWCAP2:" {print $2}')
echo "AT_HWCAP  0x${hw#0x}: $(decode "$hw" "${hwcap_names[@]}")"
echo "AT_HWCAP2 0x${hw2#0x}: $(decode "$hw2" "${hwcap2_names[@]}")"
echo "kernels (ternbench check --list under -cpu $cpu):"
run "$tb" check --list | sed 's/^/  /'
arm_kernels=$(run "$tb" check --list | awk -F'\t' '$1 ~ /__(neon|sve)/ && $5 == "runs here" {print $1}')
n_arm=$(echo "$arm_kernels" | grep -c .)
echo "ARM kernels that run here: $n_arm ($(echo $arm_kernels))"
[ "$n_arm" -ge 1 ] || { echo "FAIL: no ARM kernel runs under -cpu $cpu"; fail=1; }

step "detection on a smaller core: -cpu cortex-a53 (Armv8.0: NEON, no dotprod, no SVE)"
cpu=cortex-a53
run "$tb" check --list | awk -F'\t' '$1 ~ /__(neon|sve)/ {print "  " $1 ": " $5}'
run "$tb" check --list | grep -q $'gemv_i2s_4x128__neondot\t.*dotprod' ||
    { echo "FAIL: cortex-a53 should not run the dotprod kernel"; fail=1; }
cpu=$cpu_main

step "ternbench check --quick, ARM kernels (-cpu $cpu)"
out=$(for k in $arm_kernels; do TB_NO_PIN=1 run "$tb" check --quick --kernel "$k" 2>&1 || echo "exit $?"; done)
echo "$out" | grep -v '^check: [0-9]* kernels' | awk '!/^check: seed/ || !seen++'
echo "$out" | grep -q '^exit ' && { echo "FAIL: check --quick failed"; fail=1; }
[ "$(echo "$out" | grep -c '^PASS')" -eq "$n_arm" ] || { echo "FAIL: expected $n_arm PASS lines"; fail=1; }
sve=$(echo "$arm_kernels" | grep '__sve')
if [ -n "$sve" ]; then
    cpu=max,sve-default-vector-length=64
    step "ternbench check --quick, SVE kernels with 512-bit vectors (-cpu $cpu)"
    for k in $sve; do TB_NO_PIN=1 run "$tb" check --quick --kernel "$k" | grep -E '^(PASS|FAIL)' ||
        { echo "FAIL: $k at 512 bits"; fail=1; }; done
    cpu=$cpu_main
fi

step "test_arm (detection, broken-layout kernel caught, NEON LM head) (-cpu $cpu)"
TB_NO_PIN=1 run "$build/tests/kernels/test_arm" || { echo "FAIL: test_arm"; fail=1; }

step "golden model: logits of every ARM kernel vs the reference path (-cpu $cpu)"
model="$data/golden/tiny-bitnet-i2_s.gguf" toks="$data/golden/tiny-bitnet-i2_s.tokens.txt"
if [ -z "$data" ] || [ ! -f "$model" ] || [ ! -f "$toks" ]; then
    echo "skipped: golden model not found under '$data' (the rest of this test still counts)"
else
    ids=$(tr -s ' \n' ',' <"$toks" | sed 's/^,//; s/,$//')
    tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
    run "$tb" logits --model "$model" --tokens "$ids" --kernel ref -o "$tmp/ref.f32" >/dev/null ||
        { echo "FAIL: reference logits"; fail=1; }
    for k in $arm_kernels; do
        if TB_NO_PIN=1 run "$tb" logits --model "$model" --tokens "$ids" --kernel "$k" --threads 2 -o "$tmp/$k.f32" \
            >/dev/null && cmp -s "$tmp/ref.f32" "$tmp/$k.f32"; then
            echo "  $k: identical ($(stat -c %s "$tmp/$k.f32") bytes of logits, NEON LM head)"
        else
            echo "  $k: FAIL: logits differ from the reference (or the run failed)"
            fail=1
        fi
    done
fi

echo
[ $fail -eq 0 ] && echo "arm_qemu: all passed" || echo "arm_qemu: FAILED"
exit $fail

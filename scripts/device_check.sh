#!/usr/bin/env bash
# device_check.sh [RUN]: one prepared command for a machine with an NVIDIA GPU (e.g. an
# H100/H200 host with nvcc, meson and ninja; no apt, no network needed).  Writes
# results/RUN/ (default RUN: device-<UTC date>-<host>) with provenance and one log per step:
#   1. provenance: CPU, cores, ISA flags, GPU name, driver, CUDA toolkit, commit;
#   2. build with CUDA (-Dcuda=enabled; without nvcc: a CPU-only build, device steps skip);
#   3. `ternbench check --quick` for every kernel the host and the device support (the
#      host's AVX-512 / AVX-VNNI kernels run for real if it has them), then the full
#      `ternbench check` of the kernels CI cannot run (AVX-512, AVX-VNNI, CUDA), in parallel;
#   4. the CUDA tests (meson suite cuda);
#   5. the device kernel benchmark on every 2B4T shape (tests/kernels/bench_cuda_w2a8.c:
#      GB/s and the fraction of the device-to-device copy bandwidth measured in the same run);
#   6. a whole-model device decode of the full-shape synthetic model (ternbench synth
#      --preset 2b4t, cached) with gemv_w2a8_4x512__cuda, and the best CPU kernel for scale.
# Each device step says why it skipped when no usable GPU is found.  Every step has a time
# limit; the whole run is meant to finish in under 8 minutes on a 16-core host.
# Exit status: 0 when no step failed (skips are not failures).  On a GPU host, commit
# results/RUN afterwards (its provenance.txt names the GPU, driver and commit).
set -uo pipefail
cd "$(dirname "$0")/.."
run=${1:-device-$(date -u +%Y%m%d-%H%M%S)-$(hostname -s)}
out=results/$run
build=${TB_DEVICE_BUILD:-build-device}
jobs=$(nproc)
cache=${TERNBENCH_CACHE:-$HOME/.cache/ternbench}
mkdir -p "$out" "$cache"
summary=$out/summary.txt
: >"$summary"
t_start=$SECONDS
failed=0

say() { echo "$*" | tee -a "$summary"; }
# record NAME STATUS SECONDS DETAIL
record() { say "$(printf '%-14s %-5s %5ss  %s' "$1" "$2" "$3" "$4")"; [ "$2" = FAIL ] && failed=1; return 0; }
# step NAME LIMIT_S CMD...: runs CMD with a time limit, its output in $out/NAME.log
step() {
    local name=$1 limit=$2 t0=$SECONDS rc
    shift 2
    timeout "$limit" "$@" >"$out/$name.log" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then record "$name" ok $((SECONDS - t0)) "$out/$name.log"
    elif [ $rc -eq 124 ]; then record "$name" FAIL $((SECONDS - t0)) "time limit ${limit}s; $out/$name.log"
    else record "$name" FAIL $((SECONDS - t0)) "exit $rc; $out/$name.log"; fi
    return $rc
}
skip() { record "$1" SKIP 0 "$2"; }

# ---- 1. provenance -------------------------------------------------------------------
gpu=""
gpu_why=""
if command -v nvidia-smi >/dev/null; then
    gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>/dev/null |
        head -1)
    [ -n "$gpu" ] || gpu_why="nvidia-smi lists no GPU ($(nvidia-smi -L 2>&1 | head -1))"
else
    gpu_why="no nvidia-smi on PATH (no NVIDIA driver)"
fi
nvcc=$(command -v nvcc || { [ -x /usr/local/cuda/bin/nvcc ] && echo /usr/local/cuda/bin/nvcc; } || true)
{
    echo "run: $run"
    echo "date_utc: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(hostname)"
    echo "kernel: $(uname -srm)"
    echo "cpu: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
    echo "cores: $jobs"
    echo "cpu_isa: $(grep -m1 -o -w -E 'avx2|avx512f|avx512bw|avx512vl|avx512_vnni|avx_vnni|avx512_vbmi|avx512_vpopcntdq' /proc/cpuinfo 2>/dev/null | sort -u | tr '\n' ' ')"
    echo "gpu: ${gpu:-none ($gpu_why)}"
    echo "cuda_toolkit: $([ -n "$nvcc" ] && "$nvcc" --version | tail -2 | head -1 || echo 'none (no nvcc)')"
    echo "commit: $(git rev-parse HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo ' (+ uncommitted changes)')"
    echo "branch: $(git rev-parse --abbrev-ref HEAD 2>/dev/null)"
    echo "meson: $(meson --version 2>/dev/null), ninja: $(ninja --version 2>/dev/null), cc: $(cc --version | head -1)"
} >"$out/provenance.txt"
cat "$out/provenance.txt"
say "== device_check $run"

# ---- 2. build ------------------------------------------------------------------------
cuda_opt=-Dcuda=enabled
[ -n "$nvcc" ] || { cuda_opt=-Dcuda=disabled; say "note: no nvcc found: CPU-only build, device steps skip"; }
[ -n "$nvcc" ] && export PATH="$(dirname "$nvcc"):$PATH"
if [ -f "$build/build.ninja" ]; then cfg=(meson configure "$build" "$cuda_opt" -Dbuildtype=release)
else cfg=(meson setup "$build" --buildtype=release "$cuda_opt"); fi
step configure 120 "${cfg[@]}" && step build 300 ninja -C "$build" -j "$jobs" ||
    { say "build failed: nothing else can run"; exit 1; }
tb=$build/ternbench
export TERNBENCH_CACHE="$cache"

# Is the device usable for ternbench?  (its own view: the registry's CUDA kernel line)
"$tb" check --list >"$out/kernels.txt" 2>&1
dev_line=$(awk -F'\t' '$1 == "gemv_w2a8_4x512__cuda" {print $5}' "$out/kernels.txt")
if [ "$dev_line" = "runs here" ]; then dev=1; else dev=0; dev_why="${gpu_why:+$gpu_why; }ternbench: $dev_line"; fi
say "device usable: $([ $dev = 1 ] && echo "yes ($gpu)" || echo "no: $dev_why")"

# the synthetic 2B4T model, generated in the background while the checks run (CPU only)
model=$cache/device-check-2b4t-seed1.gguf
synth_pid=
if [ $dev = 1 ] && [ ! -s "$model" ]; then
    (timeout 240 "$tb" synth --preset 2b4t --no-tokenizer --seed 1 -o "$model.tmp" >"$out/synth.log" 2>&1 &&
        mv "$model.tmp" "$model") &
    synth_pid=$!
fi

# ---- 3. checks -------------------------------------------------------------------------
step check_quick 180 env TB_NO_PIN=1 "$tb" check --quick
grep -E '^(PASS|FAIL|SKIP)' "$out/check_quick.log" | sed 's/^/    /' | tee -a "$summary"
full=$(awk -F'\t' '$5 == "runs here" && $1 ~ /__(avx512|avxvnni|cuda$)/ {print $1}' "$out/kernels.txt")
if [ -n "$full" ]; then
    t0=$SECONDS pids=() bad=""
    for k in $full; do
        TB_NO_PIN=1 timeout 240 "$tb" check --kernel "$k" >"$out/check_full_$k.log" 2>&1 &
        pids+=($!)
    done
    i=0
    for k in $full; do wait "${pids[$i]}" || bad+="$k "; i=$((i + 1)); done
    record check_full "$([ -z "$bad" ] && echo ok || echo FAIL)" $((SECONDS - t0)) \
        "full matrix, one process per kernel: $(echo $full)${bad:+; failed: $bad}"
    for k in $full; do grep -E '^(PASS|FAIL)' "$out/check_full_$k.log" | sed 's/^/    full: /' | tee -a "$summary"; done
else
    skip check_full "no AVX-512 / AVX-VNNI / CUDA kernel runs on this machine (all covered by check_quick)"
fi

# ---- 4-6. device steps -------------------------------------------------------------------
if [ $dev = 1 ]; then
    step cuda_tests 240 meson test -C "$build" --suite cuda --num-processes 4 --print-errorlogs
    step bench_cuda 120 "$build/tests/kernels/bench_cuda_w2a8"
    sed 's/^/    /' "$out/bench_cuda.log" | tee -a "$summary"
    [ -n "$synth_pid" ] && wait "$synth_pid"
    if [ -s "$model" ]; then
        step e2e_cuda 150 "$tb" bench-e2e --model "$model" --kernel gemv_w2a8_4x512__cuda --prompt 32 --decode 32 \
            --reps 2 --json "$out/e2e_cuda.json"
        step e2e_cpu 150 "$tb" bench-e2e --model "$model" --kernel best --prompt 32 --decode 32 --reps 1 \
            --json "$out/e2e_cpu.json"
        grep -h -i -E 'tok/s|tokens/s' "$out/e2e_cuda.log" "$out/e2e_cpu.log" | sed 's/^/    /' | tee -a "$summary"
    else
        record e2e_cuda FAIL 0 "synthetic 2B4T model not generated ($out/synth.log)"
    fi
else
    skip cuda_tests "no usable CUDA device: $dev_why"
    skip bench_cuda "no usable CUDA device: $dev_why"
    skip e2e_cuda "no usable CUDA device: $dev_why (the 2B4T synthetic model was not generated)"
fi

total=$((SECONDS - t_start))
say "total: ${total}s$([ $total -gt 480 ] && echo ' (over the 8-minute budget)')"
say "result: $([ $failed = 0 ] && echo 'no step failed' || echo 'SOME STEPS FAILED')"
exit $failed

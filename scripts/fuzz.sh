#!/usr/bin/env bash
# fuzz.sh: build and run the libFuzzer targets of tests/fuzz/ (clang, ASan + UBSan).
#
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer args]   a long run; the corpus grows in
#                                                     build/fuzz/corpus/TARGET, crashes
#                                                     land in build/fuzz/crashes/TARGET
#   scripts/fuzz.sh all SECONDS                       every target, one after the other
#   scripts/fuzz.sh list                              the target names
#   scripts/fuzz.sh build DIR                         build the targets into DIR only
#   scripts/fuzz.sh smoke DIR TARGET SECONDS          the short run of the test suite
#
# Targets: json gguf safetensors hf_config tokenizer_json tokenize.  Environment:
# CC (default clang), TERNBENCH (a built ternbench, for the synthetic seeds; default
# build/ternbench), TERNBENCH_DATA (the shared data; default ../shared/data),
# FUZZ_DIR (default build/fuzz).
# Exit status 77 (skipped) with the reason when clang or libFuzzer is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
targets=(json gguf safetensors hf_config tokenizer_json tokenize)
CC=${CC:-clang}
data=${TERNBENCH_DATA:-$root/../shared/data}
tb=${TERNBENCH:-$root/build/ternbench}

# Prints why fuzzing is impossible here and exits 77, or returns when it is possible.
need_libfuzzer() {
    command -v "$CC" >/dev/null 2>&1 || { echo "fuzz: skipped: no $CC (apt-get install clang libclang-rt-14-dev)"; exit 77; }
    local t; t=$(mktemp -d)
    printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' > "$t/p.c"
    if ! "$CC" -fsanitize=fuzzer,address,undefined "$t/p.c" -o "$t/p" >/dev/null 2>&1; then
        rm -rf "$t"
        echo "fuzz: skipped: $CC cannot link -fsanitize=fuzzer,address,undefined (apt-get install libclang-rt-14-dev)"
        exit 77
    fi
    rm -rf "$t"
}

lib_src=(common/json.c common/tb_common.c models/gguf.c models/model_load.c models/model_hf.c models/ternary.c
         models/synth.c tokenizer/tokenizer.c tokenizer/pretok.c tokenizer/unicode_tables.c)
cflags=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
        -fno-sanitize-recover=undefined -I"$root/common" -I"$root/models" -I"$root/tokenizer"
        -I"$root/tests/fuzz" "-DTB_DEFAULT_DATA_DIR=\"$data\"")

# Compiles the loaders once (objects rebuilt when a source or header is newer) and links
# one binary per target into $1.
build() {
    local out=$1 obj=$1/obj newest t s
    mkdir -p "$obj"
    newest=$(ls -t "$root"/common/*.h "$root"/models/*.h "$root"/tokenizer/*.h "$root"/tests/fuzz/*.h | head -1)
    local objs=()
    for s in "${lib_src[@]}"; do
        local o=$obj/$(echo "$s" | tr / _).o
        if [ ! -f "$o" ] || [ "$root/$s" -nt "$o" ] || [ "$newest" -nt "$o" ]; then
            "$CC" "${cflags[@]}" -fsanitize=fuzzer-no-link -c "$root/$s" -o "$o"
        fi
        objs+=("$o")
    done
    for t in "${targets[@]}"; do
        local src=$t def=()
        case $t in safetensors) src=hf; def=(-DFUZZ_HF_CONFIG=0) ;; hf_config) src=hf; def=(-DFUZZ_HF_CONFIG=1) ;; esac
        local bin=$out/fuzz_$t
        if [ ! -x "$bin" ] || [ "$root/tests/fuzz/fuzz_$src.c" -nt "$bin" ] || [ "$(ls -t "${objs[@]}" "$bin" | head -1)" != "$bin" ]; then
            "$CC" "${cflags[@]}" "${def[@]}" -fsanitize=fuzzer "$root/tests/fuzz/fuzz_$src.c" "${objs[@]}" -lm -o "$bin"
        fi
    done
}

# Seed corpora: the committed seeds of tests/fuzz/seeds/, plus small synthetic models
# written by ternbench synth (when it is built) and pieces of the shared data.
seeds() {
    local out=$1/seeds t d
    [ -f "$out/.done" ] && return 0
    rm -rf "$out"
    for t in "${targets[@]}"; do
        mkdir -p "$out/$t"
        for d in seeds regress; do
            [ -d "$root/tests/fuzz/$d/$t" ] && cp "$root/tests/fuzz/$d/$t"/* "$out/$t"/ 2>/dev/null || true
        done
    done
    if [ -x "$tb" ]; then
        local shape=(--preset tiny --hidden 128 --layers 1 --heads 2 --kv-heads 1 --ffn 128 --vocab 64 --ctx 64 --no-tokenizer)
        "$tb" synth "${shape[@]}" -o "$out/gguf/synth.gguf" 2>/dev/null
        "$tb" synth "${shape[@]}" --seed 2 --format hf -o "$1/hfseed" 2>/dev/null
        cp "$1/hfseed/model.safetensors" "$out/safetensors/synth.safetensors"
        cp "$1/hfseed/config.json" "$out/hf_config/synth.json"
        cp "$1/hfseed/config.json" "$out/json/config.json"
        # the safetensors header alone is JSON too
        python3 - "$1/hfseed/model.safetensors" "$out/json/st_header.json" <<'PY' || true
import struct, sys
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
open(sys.argv[2], 'wb').write(b[8:8 + n])
PY
        rm -rf "$1/hfseed"
    fi
    if [ -f "$data/wikitext-2-raw/wiki.test.raw" ]; then
        # a few paragraphs of real text, and the golden strings
        head -c 200000 "$data/wikitext-2-raw/wiki.test.raw" | split -l 40 -a 3 - "$out/tokenize/wiki-"
        ls "$out/tokenize"/wiki-* | tail -n +9 | xargs rm -f
    fi
    [ -f "$data/llama3-tokenizer/golden/strings.json" ] && cp "$data/llama3-tokenizer/golden/strings.json" "$out/json/"
    touch "$out/.done"
}

# max_len per target: big enough for the seeds, small enough to stay fast.
max_len() {
    case $1 in gguf|safetensors) echo 65536 ;; tokenizer_json) echo 16384 ;; *) echo 8192 ;; esac
}

run() { # run DIR TARGET SECONDS [args...]
    local dir=$1 t=$2 secs=$3; shift 3
    local corpus=$dir/corpus/$t crashes=$dir/crashes/$t
    mkdir -p "$corpus" "$crashes"
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
    TERNBENCH_DATA=$data "$dir/fuzz_$t" "$corpus" "$dir/seeds/$t" \
        -dict="$root/tests/fuzz/dict/$t.dict" -max_len="$(max_len "$t")" -max_total_time="$secs" \
        -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$crashes/" -print_final_stats=1 "$@"
}

case ${1:-} in
list) printf '%s\n' "${targets[@]}" ;;
build) need_libfuzzer; build "$2" ;;
smoke)
    need_libfuzzer
    dir=$2 t=$3 secs=$4
    # the smoke run starts from the seeds alone so that it is the same every time
    ( flock 9; build "$dir"; seeds "$dir" ) 9>"$dir.lock"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp/crashes"
    # first the inputs that once crashed (tests/fuzz/regress/TARGET), each run once
    reg=("$root/tests/fuzz/regress/$t"/*)
    if [ -e "${reg[0]}" ]; then
        TERNBENCH_DATA=$data "$dir/fuzz_$t" "${reg[@]}" > "$tmp/regress.log" 2>&1 ||
            { tail -40 "$tmp/regress.log"; echo "fuzz: $t: a regression input crashes again"; exit 1; }
        echo "fuzz: $t: ${#reg[@]} regression inputs pass"
    fi
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 TERNBENCH_DATA=$data "$dir/fuzz_$t" "$tmp" "$dir/seeds/$t" \
        -dict="$root/tests/fuzz/dict/$t.dict" -max_len="$(max_len "$t")" -max_total_time="$secs" \
        -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$tmp/crashes/" -print_final_stats=1 -seed=1 2>&1 | tail -25
    rc=${PIPESTATUS[0]}
    [ "$rc" = 0 ] || echo "fuzz: $t failed (status $rc); the input is in the log above"
    exit "$rc"
    ;;
all)
    need_libfuzzer
    dir=${FUZZ_DIR:-$root/build/fuzz}
    build "$dir"; seeds "$dir"
    for t in "${targets[@]}"; do run "$dir" "$t" "$2"; done
    ;;
''|-h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
*)
    [[ " ${targets[*]} " == *" $1 "* ]] || { echo "fuzz.sh: unknown target '$1' (one of: ${targets[*]})" >&2; exit 2; }
    [ $# -ge 2 ] || { echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer args]" >&2; exit 2; }
    need_libfuzzer
    dir=${FUZZ_DIR:-$root/build/fuzz}
    t=$1 secs=$2; shift 2
    build "$dir"; seeds "$dir"
    run "$dir" "$t" "$secs" "$@"
    ;;
esac

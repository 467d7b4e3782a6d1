#!/usr/bin/env bash
# bootstrap.sh: the two commands of the README.
#   scripts/bootstrap.sh test            install Debian packages, build, run the test suite
#   scripts/bootstrap.sh sweep [ARGS]    install, build, run `ternbench sweep ARGS` (the main job)
# Installs only Debian packages (apt-get); downloads nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-test}
shift || true

pkgs=(meson ninja-build pkg-config gcc g++ libhwloc-dev libpapi-dev libbenchmark-dev
      clang libclang-rt-14-dev                                    # fuzz smoke tests (libFuzzer)
      python3-matplotlib python3-numpy
      gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static) # ARM: test arm_qemu
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "bootstrap: installing ${missing[*]}"
    SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

build=${TB_BUILD_DIR:-build}
if [ -f "$build/build.ninja" ]; then
    # an existing build dir is reused, but always as a release build (timings must not
    # silently come from a debug build)
    meson configure "$build" -Dbuildtype=release >/dev/null
else
    meson setup "$build" --buildtype=release >/dev/null
fi
ninja -C "$build"

case "$mode" in
test)
    rc=0
    since=$(date +%s)
    # fresh logs only: a stale testlog.json from an earlier run must not be summarised
    asan=${build}-asan
    rm -f "$build/meson-logs/testlog.json" "$asan/meson-logs/testlog.json"
    meson test -C "$build" --print-errorlogs --num-processes 2 || rc=$?
    # The loaders/parsers/kernels again under AddressSanitizer + UndefinedBehaviorSanitizer.
    [ -f "$asan/build.ninja" ] || meson setup "$asan" --buildtype=debugoptimized \
        -Db_sanitize=address,undefined -Db_lundef=false -Dbenchmark=disabled >/dev/null
    if ninja -C "$asan"; then
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
            meson test -C "$asan" --suite sanitize --print-errorlogs --num-processes 2 || rc=$?
    else
        # no log: test_summary.py reports the asan build as failed
        echo "bootstrap: the ASan+UBSan build failed to compile" >&2
        rc=1
    fi
    /usr/bin/python3 scripts/test_summary.py --since "$since" "release=$build" "asan=$asan:sanitize" || rc=1
    exit $rc
    ;;
sweep)
    exec "$build/ternbench" sweep "$@"
    ;;
*)
    echo "usage: scripts/bootstrap.sh test|sweep [sweep args]" >&2
    exit 2
    ;;
esac

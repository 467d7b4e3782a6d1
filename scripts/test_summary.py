#!/usr/bin/python3
"""The test suite's closing summary, from FRESH meson logs of every build.

    test_summary.py [--since EPOCH] LABEL=BUILDDIR[:SUITE] ...

For each build (e.g. release=build asan=build-asan:sanitize) it reads
BUILDDIR/meson-logs/testlog.json and compares it with `meson test --list` (of SUITE):
a listed test missing from the log (partial run, or the build failed to compile and
left no log), a log older than --since (stale, from an earlier run), or an unreadable
log is a failure.  It prints one line per skipped test (build, name, reason) and per
failure (build, name, result), then the plain closing line, alone on its line:

    N passed, N failed, N skipped

Exit 1 if anything failed.  CI parses that last line."""
import json
import os
import re
import subprocess
import sys


def meson_list(builddir, suite):
    """Test names `meson test --list` prints ('project:suites / name')."""
    cmd = ["meson", "test", "-C", builddir, "--list", "--no-rebuild"] + (["--suite", suite] if suite else [])
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return None
    return [l.strip() for l in p.stdout.splitlines() if " / " in l]


def skip_reason(entry):
    """The first 'SKIP: why' line a skipped test printed (TB_SKIP, check_isa.py)."""
    for line in ((entry.get("stdout") or "") + "\n" + (entry.get("stderr") or "")).splitlines():
        m = re.match(r"\s*SKIP:\s*(.+)", line)
        if m:
            return m.group(1).strip()
    return "no reason printed"


def read_log(path, since):
    """(entries, problem): problem is a string when the log is absent, unreadable or stale."""
    try:
        if since and os.path.getmtime(path) < since:
            return [], "stale log %s (older than this run)" % path
        with open(path) as f:
            entries = [json.loads(l) for l in f if l.strip()]
    except (OSError, ValueError) as e:
        return [], "no readable log %s (%s): the build failed or its tests did not run" % (path, e)
    if since and any(e.get("starttime", since) < since for e in entries):
        return [], "stale entries in %s (started before this run)" % path
    return entries, None


def summarize(builds, since=0, lister=meson_list):
    """builds: [(label, builddir, suite)].  Returns (lines, passed, failed, skipped)."""
    out, passed, failed, skipped = [], 0, 0, 0
    for label, builddir, suite in builds:
        before = (passed, failed, skipped)
        entries, problem = read_log(os.path.join(builddir, "meson-logs", "testlog.json"), since)
        if problem:
            out.append("FAILED [%s]: %s" % (label, problem))
            failed += 1
            continue
        listed = lister(builddir, suite)
        if listed is None:
            out.append("FAILED [%s]: `meson test --list` failed in %s" % (label, builddir))
            failed += 1
            listed = []
        by_name = {e.get("name"): e for e in entries}
        for name in listed:
            if name not in by_name:
                out.append("FAILED [%s]: %s did not run (partial log)" % (label, name))
                failed += 1
        for name, e in by_name.items():
            r = e.get("result", "")
            if listed and name not in listed:
                out.append("FAILED [%s]: %s is in the log but not in `meson test --list`" % (label, name))
                failed += 1
            elif r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                out.append("skipped [%s]: %s: %s" % (label, name, skip_reason(e)))
                skipped += 1
            else:
                out.append("FAILED [%s]: %s (%s)" % (label, name, r))
                failed += 1
        out.append("%s build (%s): %d passed, %d failed, %d skipped" % (
            label, builddir, passed - before[0], failed - before[1], skipped - before[2]))
    if passed + failed == 0:
        out.append("FAILED: no test ran")
        failed = 1
    return out, passed, failed, skipped


def parse_args(argv):
    since, builds = 0.0, []
    i = 0
    while i < len(argv):
        if argv[i] == "--since":
            since = float(argv[i + 1])
            i += 2
            continue
        label, _, rest = argv[i].partition("=")
        builddir, _, suite = rest.partition(":")
        if not builddir:
            raise SystemExit("usage: test_summary.py [--since EPOCH] LABEL=BUILDDIR[:SUITE] ...")
        builds.append((label, builddir, suite or None))
        i += 1
    return since, builds or [("release", "build", None)]


def main():
    since, builds = parse_args(sys.argv[1:])
    lines, passed, failed, skipped = summarize(builds, since)
    for l in lines:
        print(l)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

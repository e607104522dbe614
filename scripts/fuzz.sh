#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, -Dfuzz=true) in the
# Debian 13 environment and runs each for SECONDS (default 60) from its
# corpus in fuzz/corpus/<target>/. Every crash, leak, timeout or sanitizer
# report is kept in $PEARVISOR_FUZZ_DIR/runs/<target>/artifacts/, replayed
# and sorted (fuzz/tools/triage.sh): the run fails on any in our code; one
# inside the host driver (lavapipe, running the invalid Vulkan usage a
# fuzzed client asks for: docs/threat-model.md, "Known gaps") is listed and
# counted, not failed on. After fixing a bug, copy its reproducer into
# fuzz/corpus/<target>/ (named regress-*) so the fuzz-regress suite replays
# it forever.
#
#   scripts/fuzz.sh [--jobs J] [--lines] [--merge] [SECONDS] [TARGET...]
#
#   --jobs J  J workers per target (libFuzzer's fork mode; default 1), targets one
#             after another
#   --lines   also the line coverage of src/gpu/venus (or src/gpu/vtest) that the
#             committed corpus plus this run's new inputs reach (gcov; a gcc
#             build with -Db_coverage=true in $PEARVISOR_FUZZ_DIR-cov)
#   --merge   fold this run's new inputs into fuzz/corpus/<target>/ (the fewest
#             inputs that reach every edge, fuzz/tools/corpus-merge.sh;
#             regress-* and cap-* files always stay)
#
# Each target ends with one line (fuzz/tools/fuzz-run.sh): wall seconds,
# jobs, CPU seconds across workers, executions, exec/s, libFuzzer's cov and
# ft, new inputs, findings (ours, host, gone: no longer reproduced); then all
# of them again.
# New inputs go to $PEARVISOR_FUZZ_DIR/runs/<target>/corpus, not to the
# checkout unless --merge.
# PEARVISOR_FUZZ_DIR: build dir (default build-fuzz in the checkout). Needs what
# scripts/in-env.sh needs (root for the chroot) unless PEARVISOR_NATIVE=1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
cd "$top"

jobs=1
lines=0
merge=0
while [ $# -gt 0 ]; do
    case $1 in
    --jobs) jobs=${2:?--jobs needs a number}; shift 2 ;;
    --lines) lines=1; shift ;;
    --merge) merge=1; shift ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
done
secs=${1:-60}
shift || true
case $secs$jobs in '' | *[!0-9]*) echo "fuzz.sh: SECONDS and J must be numbers" >&2; exit 2 ;; esac
bdir=${PEARVISOR_FUZZ_DIR:-$top/build-fuzz}
cdir=$bdir-cov
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=($(ls fuzz/corpus))

# A build dir configured for another checkout cannot regenerate itself:
# start it afresh.
fresh() {
    if [ -f "$1/build.ninja" ] &&
        ! grep -qF "\"source\": \"$top\"" "$1/meson-info/meson-info.json" 2>/dev/null; then
        echo "==> $1 belongs to another checkout; configuring it afresh" >&2
        rm -rf "$1"
    fi
}
fresh "$bdir"
if [ ! -f "$bdir/build.ninja" ]; then
    "$here/in-env.sh" env CC=clang meson setup "$bdir" -Dfuzz=true \
        -Db_sanitize=address,undefined -Db_lundef=false \
        >/dev/null
fi
fuzzers=()
for t in "${targets[@]}"; do fuzzers+=("fuzz/fuzz-$t"); done
"$here/in-env.sh" ninja -C "$bdir" "${fuzzers[@]}"
if [ "$lines" = 1 ]; then
    fresh "$cdir"
    [ -f "$cdir/build.ninja" ] ||
        "$here/in-env.sh" meson setup "$cdir" -Db_coverage=true >/dev/null
    regress=()
    for t in "${targets[@]}"; do regress+=("fuzz/fuzz-regress-$t"); done
    "$here/in-env.sh" ninja -C "$cdir" "${regress[@]}" >/dev/null
fi

# Stack traces with names: the environment has binutils' addr2line, not llvm-symbolizer.
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-/usr/bin/addr2line}
failed=0
summary=()
for t in "${targets[@]}"; do
    run=$bdir/runs/$t
    rm -rf "$run"
    echo "==> fuzz-$t: $secs s, $jobs job(s), from fuzz/corpus/$t" >&2
    # -timeout: one input may not take 10 s; -rss_limit_mb: the renderer's
    # decode arena allows 256 MiB, so 2 GiB means unbounded allocation.
    if ! line=$("$here/in-env.sh" fuzz/tools/fuzz-run.sh --jobs "$jobs" "$bdir/fuzz/fuzz-$t" \
        "$secs" "$run" "fuzz/corpus/$t"); then
        echo "==> fuzz-$t FAILED: reproducer in $run/artifacts/ (replay: $bdir/fuzz/fuzz-$t FILE)" >&2
        failed=1
    fi
    echo "$line" >&2
    if [ "$lines" = 1 ]; then
        cov=$("$here/in-env.sh" fuzz/tools/line-coverage.sh "$cdir" "$t" "fuzz/corpus/$t" "$run/corpus")
        echo "$cov" >&2
        line="$line | $(tail -n 1 <<<"$cov")"
    fi
    summary+=("$line")
    if [ "$merge" = 1 ] && [ "$failed" = 0 ]; then
        "$here/in-env.sh" fuzz/tools/corpus-merge.sh "$bdir/fuzz/fuzz-$t" "fuzz/corpus/$t" "$run/corpus"
    fi
done
echo "==> summary ($secs s per target, $jobs job(s); cpu in seconds across workers)" >&2
printf '%s\n' "${summary[@]}" >&2
exit $failed

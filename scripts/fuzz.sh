#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, -Dfuzz=true) in the
# Debian 13 environment and runs each for SECONDS (default 60) from its
# corpus in fuzz/corpus/<target>/. Fails on any crash, leak, timeout or
# sanitizer report; the reproducer is left in $PEARVISOR_FUZZ_DIR/artifacts/.
# After fixing the bug, copy the reproducer into fuzz/corpus/<target>/ so the
# fuzz-regress suite replays it forever.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# New inputs found during the run go to a scratch corpus, not to the
# checkout (keep the committed corpus small; merge by hand with
# `fuzz-<target> -merge=1 fuzz/corpus/<target> SCRATCH`).
# PEARVISOR_FUZZ_DIR: build dir (default build-fuzz in the checkout). Needs what
# scripts/in-env.sh needs (root for the chroot) unless PEARVISOR_NATIVE=1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
cd "$top"

secs=${1:-60}
shift || true
case $secs in '' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a number" >&2; exit 2 ;; esac
bdir=${PEARVISOR_FUZZ_DIR:-$top/build-fuzz}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=($(ls fuzz/corpus))

# A build dir configured for another checkout cannot regenerate itself:
# start it afresh.
if [ -f "$bdir/build.ninja" ] &&
    ! grep -qF "\"source\": \"$top\"" "$bdir/meson-info/meson-info.json" 2>/dev/null; then
    echo "==> $bdir belongs to another checkout; configuring it afresh" >&2
    rm -rf "$bdir"
fi
if [ ! -f "$bdir/build.ninja" ]; then
    "$here/in-env.sh" env CC=clang meson setup "$bdir" -Dfuzz=true \
        -Db_sanitize=address,undefined -Db_lundef=false \
        >/dev/null
fi
fuzzers=()
for t in "${targets[@]}"; do fuzzers+=("fuzz/fuzz-$t"); done
"$here/in-env.sh" ninja -C "$bdir" "${fuzzers[@]}"

export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
mkdir -p "$bdir/artifacts"
failed=0
for t in "${targets[@]}"; do
    scratch=$(mktemp -d "/tmp/pv-fuzz-$t-XXXXXX")
    echo "==> fuzz-$t: $secs s from fuzz/corpus/$t" >&2
    # -timeout: one input may not take 10 s; -rss_limit_mb: the renderer's
    # decode arena allows 256 MiB, so 2 GiB means unbounded allocation.
    if ! "$here/in-env.sh" "$bdir/fuzz/fuzz-$t" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1 \
        -artifact_prefix="$bdir/artifacts/$t-" "$scratch" "fuzz/corpus/$t"; then
        echo "==> fuzz-$t FAILED: reproducer in $bdir/artifacts/ (replay: $bdir/fuzz/fuzz-$t FILE)" >&2
        failed=1
    fi
    rm -rf "$scratch"
done
exit $failed

#!/usr/bin/env bash
# Long fuzzing runs from the bundle of scripts/fuzz-bundle.sh (copied in as
# BUNDLE/fuzz-long.sh), on a machine with nothing else installed:
#
#   BUNDLE/fuzz-long.sh OUT SECONDS TARGET:JOBS...
#
# Runs the targets at the same time, each with JOBS workers for SECONDS
# (fuzz-run.sh: fork mode, every finding recorded, then replayed and
# sorted), from the bundle's corpus, with lavapipe as the host driver. For
# 16 cores and 10-minute calls:
#   call 1:  fuzz-long.sh "$OUT" 480 venus_decode:8 vtest_parse:8   (64 CPU-minutes each at most)
#   call 2:  fuzz-long.sh "$OUT" 480 renderer_api:16
# A call takes SECONDS, then at most 30 s for fork mode's last jobs, 45 s of
# replaying findings (the rest are listed untried) and packing: 480 fits 600.
# OUT/<target>/ gets summary, triage, log.tail (the last 300 lines of
# libFuzzer's log) and results.tar.gz (the new inputs, corpus/, and the
# findings, artifacts/), small enough to bring back; OUT/summary has one
# line per target (fuzz-run.sh's) and the machine's core count and load.
set -uo pipefail
d=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: fuzz-long.sh OUT SECONDS TARGET:JOBS...}
secs=${2:?usage: fuzz-long.sh OUT SECONDS TARGET:JOBS...}
shift 2
[ $# -gt 0 ] || { echo "fuzz-long.sh: no TARGET:JOBS" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
# The fuzzers find their loader and libraries through this link (fuzz-bundle.sh).
ln -sfn "$d" /tmp/pv-fuzz-bundle
export VK_DRIVER_FILES=$d/icd/lvp_icd.json
export ASAN_SYMBOLIZER_PATH=$d/bin/addr2line
export MESA_SHADER_CACHE_DISABLE=true
pids=()
targets=()
for spec in "$@"; do
    t=${spec%%:*}
    j=${spec##*:}
    [ -x "$d/bin/fuzz-$t" ] || { echo "fuzz-long.sh: no fuzzer for $t" >&2; exit 2; }
    mkdir -p "$out/$t"
    # The work happens in /tmp (the results are packed into OUT afterwards).
    run=$(mktemp -d "/tmp/pv-fuzz-$t-XXXXXX")
    echo "$run" >"$out/$t/.run"
    PV_TRIAGE_SECONDS=45 "$d/fuzz-run.sh" --jobs "$j" --grace 30 "$d/bin/fuzz-$t" "$secs" "$run" \
        "$d/corpus/$t" \
        >"$out/$t/summary" 2>"$out/$t/stderr" &
    pids+=($!)
    targets+=("$t")
done
for p in "${pids[@]}"; do wait "$p"; done
{
    for t in "${targets[@]}"; do cat "$out/$t/summary"; done
    echo "cores $(nproc) load $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/summary"
for t in "${targets[@]}"; do
    run=$(cat "$out/$t/.run")
    rm -f "$out/$t/.run"
    tail -n 300 "$run/log" >"$out/$t/log.tail" 2>/dev/null
    [ -f "$run/triage" ] && cp "$run/triage" "$out/$t/triage"
    tar -C "$run" -czf "$out/$t/results.tar.gz" corpus artifacts
    rm -rf "$run"
done
cat "$out/summary"

#!/usr/bin/env bash
# Runs one libFuzzer binary for a while and says what the run did, on one line.
#
#   fuzz-run.sh [--jobs J] [--keep-going] FUZZER SECONDS OUT_DIR [SEED_DIR...]
#
# FUZZER: the binary, or a command line in one word list ("LOADER --library-path
# LIB BINARY", as the GPU-machine bundle runs it). With J > 1 libFuzzer's fork
# mode runs J workers and merges what they find. --keep-going: crashes, leaks,
# timeouts and OOMs are recorded and fuzzing goes on (long unattended runs);
# otherwise the first one ends the run and the exit status is 1.
# OUT_DIR gets: log (libFuzzer's output), corpus/ (the inputs it added),
# artifacts/ (the findings: crash-*, leak-*, timeout-*, oom-*), summary (the
# line printed at the end):
#   <name> wall <s> jobs <J> cpu <s> execs <n> exec/s <n> cov <n> ft <n> new <n> findings <n>
# cpu counts the seconds of every worker (the fuzzer and the processes it forked);
# cov and ft are libFuzzer's (coverage edges and features).
set -euo pipefail
jobs=1
keep=0
while [ $# -gt 0 ]; do
    case $1 in
    --jobs) jobs=$2; shift 2 ;;
    --keep-going) keep=1; shift ;;
    *) break ;;
    esac
done
[ $# -ge 3 ] || { sed -n '2,18p' "$0" >&2; exit 2; }
read -r -a fuzzer <<<"$1"
secs=$2
out=$3
shift 3
name=$(basename "${fuzzer[-1]}")
mkdir -p "$out/corpus" "$out/artifacts"
rm -f "$out/artifacts"/* 2>/dev/null || true

export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=1048576
    -print_final_stats=1 -artifact_prefix="$out/artifacts/")
[ "$jobs" -gt 1 ] && args+=(-fork="$jobs")
[ "$keep" = 1 ] && args+=(-ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
[ "$keep" = 1 ] && [ "$jobs" -le 1 ] && echo "fuzz-run.sh: --keep-going needs --jobs 2 or more" >&2

start=$(date +%s)
# Fork mode lets its last jobs finish past -max_total_time: bound the whole run.
# times, in the subshell once the fuzzer is waited for, has the CPU time of it
# and of everything it forked and waited for.
(
    rc=0
    timeout --signal=INT --kill-after=30 $((secs + 120)) "${fuzzer[@]}" "${args[@]}" \
        "$out/corpus" "$@" >"$out/log" 2>&1 || rc=$?
    echo "$rc" >"$out/rc"
    times >"$out/times"
)
wall=$(($(date +%s) - start))
rc=$(cat "$out/rc")

# "0m12.345s 0m1.000s" on the children's line: user and system.
cpu=$(sed -n 2p "$out/times" | awk '{
    t = 0
    for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] }
    printf "%.0f", t }')
if [ "$jobs" -gt 1 ]; then
    last=$(grep -E '^#[0-9]+: cov: ' "$out/log" | tail -n 1 || true)
    execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
else
    last=$(grep -E '^#[0-9]+.*cov: [0-9]+ ft: [0-9]+' "$out/log" | tail -n 1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -n 1)
fi
cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$last")
ft=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$last")
execs=${execs:-0}
new=$(find "$out/corpus" -type f | wc -l)
findings=$(find "$out/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' \) | wc -l)
rate=$((execs / (wall > 0 ? wall : 1)))
line="$name wall $wall jobs $jobs cpu ${cpu:-0} execs $execs exec/s $rate cov ${cov:-0} ft ${ft:-0} new $new findings $findings"
echo "$line" >"$out/summary"
echo "$line"
if [ "$findings" -gt 0 ]; then
    for f in "$out/artifacts"/*; do
        case $(basename "$f") in crash-* | leak-* | timeout-* | oom-*) echo "  finding: $f" >&2 ;; esac
    done
fi
# A finding is a failure; so is a fuzzer that did not run.
[ "$findings" -eq 0 ] || exit 1
[ "$rc" -eq 0 ] || [ "$keep" = 1 ] || { tail -n 30 "$out/log" >&2; exit 1; }
exit 0

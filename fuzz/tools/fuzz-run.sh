#!/usr/bin/env bash
# Runs one libFuzzer binary for a while and says what the run did, on one line.
#
#   fuzz-run.sh [--jobs J] [--grace S] FUZZER SECONDS OUT_DIR [SEED_DIR...]
#
# FUZZER: the binary, or a command line in one word list ("LOADER --library-path
# LIB BINARY"). libFuzzer's fork mode runs J workers (default 1) and merges
# what they find; a crash, leak, timeout or OOM is recorded and fuzzing goes
# on. --grace S: the run is interrupted S seconds (default 120) after SECONDS,
# for fork mode lets its last jobs finish late.
# OUT_DIR gets: log (libFuzzer's output), corpus/ (the inputs it added),
# artifacts/ (the findings: crash-*, leak-*, timeout-*, oom-*), triage (each
# finding replayed and sorted, fuzz/tools/triage.sh), summary (the line
# printed at the end):
#   <name> wall <s> jobs <J> cpu <s> execs <n> exec/s <n> cov <n> ft <n> new <n> findings <n> (ours <n>, host <n>, gone <n>)
# cpu counts the seconds of every worker (the fuzzer and the processes it
# forked); cov and ft are libFuzzer's (coverage edges and features). The exit
# status is 1 when a finding is ours or the fuzzer did not run, else 0: a
# crash inside the host driver is counted and listed, not failed on.
set -euo pipefail
jobs=1
grace=120
while [ $# -gt 0 ]; do
    case $1 in
    --jobs) jobs=$2; shift 2 ;;
    --grace) grace=$2; shift 2 ;;
    *) break ;;
    esac
done
[ $# -ge 3 ] || { sed -n '2,21p' "$0" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
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
    -artifact_prefix="$out/artifacts/" -fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1
    -ignore_ooms=1)

start=$(date +%s)
# Fork mode lets its last jobs finish past -max_total_time: bound the whole run
# (SIGINT: libFuzzer stops its workers and exits).
# times, in the subshell once the fuzzer is waited for, has the CPU time of it
# and of everything it forked and waited for.
(
    rc=0
    timeout --signal=INT --kill-after=20 $((secs + grace)) "${fuzzer[@]}" "${args[@]}" \
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
last=$(grep -E '^#[0-9]+: cov: ' "$out/log" | tail -n 1 || true)
execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$last")
ft=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$last")
execs=${execs:-0}
new=$(find "$out/corpus" -type f | wc -l)
findings=$(find "$out/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' \) | wc -l)
rate=$((execs / (wall > 0 ? wall : 1)))
ours=0 host=0 gone=0
if [ "$findings" -gt 0 ]; then
    # At most 50 replays: a long run can find one host driver crash many times.
    find "$out/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
        -o -name 'oom-*' \) | sort | head -n 50 | xargs "$here/triage.sh" "${fuzzer[*]}" >"$out/triage"
    read -r ours host gone < <(sed -nE 's/^triage: ([0-9]+) ours, ([0-9]+) host, ([0-9]+) gone/\1 \2 \3/p' "$out/triage")
    sed '$d' "$out/triage" | sed 's/^/  finding: /' >&2
    ours=${ours:-$findings} host=${host:-0} gone=${gone:-0}
fi
line="$name wall $wall jobs $jobs cpu ${cpu:-0} execs $execs exec/s $rate cov ${cov:-0} ft ${ft:-0} new $new findings $findings (ours $ours, host $host, gone $gone)"
echo "$line" >"$out/summary"
echo "$line"
[ "$ours" -eq 0 ] || exit 1
[ "$execs" -gt 0 ] || { tail -n 30 "$out/log" >&2; exit 1; }
exit 0

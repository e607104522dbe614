#!/usr/bin/env bash
# vtest: two clients at once. pv-render-test (or pv-compute-test: the script
# looks at the program's name) runs through Venus in a loop
# while pv-malformed-client connects beside it and sends each malformed case.
# For every case:
#   - the malformed client must be dropped;
#   - the server log must gain exactly one line matching FATAL_PATTERN, and
#     it must name the malformed client's context (pv-malformed-client
#     --name pv-bad-CASE: "context N (pv-bad-CASE): fatal (REASON): ...")
#     and the reason the case must give (pv-malformed-client --reason CASE);
#   - the server's statistics (--stats-socket, read with `pearvisor gpu
#     stats --json`) must show exactly one more fatal context, counted under
#     that reason and no other: so no other context (the Venus client's,
#     the case's own well-behaved peer) went fatal;
#   - the server must stay up, and the Venus client must go on passing.
# The control case "ping" must keep its connection and change no fatal
# counter or line. At the end every fatal line must name a pv-bad- client.
#
#   malformed.sh PEARVISOR VENUS_TEST PV_MALFORMED_CLIENT FATAL_PATTERN [CASE...]
#
# Without CASE arguments every case of `pv-malformed-client --list` runs;
# tests/meson.build registers one test per case.
. "$(dirname "$0")/lib.sh"
usage="usage: malformed.sh PEARVISOR VENUS_TEST PV_MALFORMED_CLIENT FATAL_PATTERN [CASE...]"
pv=${1:?$usage}
compute=${2:?$usage}
malformed=${3:?$usage}
pattern=${4:?$usage}
shift 4
[ $# -gt 0 ] && test_name="$test_name-$1"
need_icds
need_exe "$compute"
need_exe "$malformed"

fatal_lines() { grep -ciE -- "$pattern" "$server_log"; }

stats_sock=$tmp/stats.sock
# fatal_stats: "contexts_fatal N" and one "REASON N" line per fatal reason,
# from the server's statistics now.
fatal_stats() {
    local json
    json=$("$pv" gpu stats --json "$stats_sock") || fail "pearvisor gpu stats failed"
    printf '%s\n' "$json" | sed -n 's/.*"contexts_fatal":\([0-9]*\).*/contexts_fatal \1/p'
    printf '%s\n' "$json" | sed -n 's/.*"fatal_reasons":{\([^}]*\)}.*/\1/p' |
        tr ',' '\n' | sed 's/^"\([a-z]*\)":\([0-9]*\)$/\1 \2/'
}
# plus_one STATS REASON: STATS with contexts_fatal and REASON one higher.
plus_one() {
    printf '%s\n' "$1" | awk -v r="$2" '$1 == "contexts_fatal" || $1 == r { $2++ } { print }'
}

start_server "$pv" --stats-socket "$stats_sock"

stop_file=$tmp/stop-compute
case $(basename "$compute") in
    pv-render-test*)
        # One frame per run (both paths), again and again until told to stop;
        # every run must pass. Each run prints "device:" and "path=... ok".
        ok_re='^path=[a-z]+ ok '
        (
            while [ ! -e "$stop_file" ]; do
                "${venus_cmd[@]}" "$compute" --path all --iterations 2 || exit $?
            done
        ) >"$tmp/compute.out" 2>&1 &
        ;;
    *)
        ok_re='^size=[0-9]+ ok '
        "${venus_cmd[@]}" "$compute" --sizes 64K,1M --iterations 3 --repeat-until-exists "$stop_file" \
            >"$tmp/compute.out" 2>&1 &
        ;;
esac
compute_pid=$!
bg_pids+=("$compute_pid")
compute_alive() { kill -0 "$compute_pid" 2>/dev/null; }
compute_failed() {
    wait "$compute_pid"
    local rc=$?
    cat "$tmp/compute.out" >&2
    fail "Venus client ended early (status $rc) $*"
}

# Wait until the Venus client has finished a dispatch or frame through Venus.
for i in $(seq 1 1200); do
    grep -qE "$ok_re" "$tmp/compute.out" && break
    compute_alive || compute_failed "before its first dispatch"
    sleep 0.1
done
grep -qE "$ok_re" "$tmp/compute.out" || fail "Venus client made no dispatch within 120 s"
grep -q '^device: Virtio-GPU Venus (' "$tmp/compute.out" || fail "Venus client is not on the Venus device"

# Control: a valid client beside it is served and logs nothing fatal.
before=$(fatal_lines)
stats_before=$(fatal_stats)
echo "$stats_before" | grep -q '^contexts_fatal [0-9]' || fail "no contexts_fatal in the statistics"
[ "$(echo "$stats_before" | wc -l)" -ge 7 ] || fail "no fatal_reasons in the statistics: $stats_before"
"$malformed" --socket "$sock" --name pv-good-ping --case ping || fail "control case ping failed"
[ "$(fatal_lines)" -eq "$before" ] || fail "control case ping logged a line matching /$pattern/"
[ "$(fatal_stats)" = "$stats_before" ] || fail "control case ping changed the fatal counters"

all_cases=$("$malformed" --list) || fail "pv-malformed-client --list failed"
if [ $# -gt 0 ]; then
    for c in "$@"; do
        echo "$all_cases" | grep -qxF -- "$c" || fail "pv-malformed-client has no case '$c'"
    done
    cases="$*"
else
    cases=$all_cases
fi
log_lines() { wc -l <"$server_log"; }
for c in $cases; do
    reason=$("$malformed" --reason "$c") || fail "pv-malformed-client has no reason for case $c"
    name=pv-bad-$c
    before=$(fatal_lines)
    stats_before=$(fatal_stats)
    first_new=$(($(log_lines) + 1))
    "$malformed" --socket "$sock" --name "$name" --case "$c" --timeout-ms 10000 ||
        fail "case $c: the malformed client was not dropped"
    # The log line may land just after the close: wait for it, then make sure
    # no second one follows.
    for i in $(seq 1 100); do
        [ "$(fatal_lines)" -gt "$before" ] && break
        sleep 0.1
    done
    sleep 0.5
    got=$(($(fatal_lines) - before))
    if [ "$got" -ne 1 ]; then
        echo "---- server log lines during case $c ----" >&2
        tail -n "+$first_new" "$server_log" >&2
        fail "case $c: $got server log lines match /$pattern/, expected exactly 1"
    fi
    line=$(tail -n "+$first_new" "$server_log" | grep -iE -- "$pattern")
    printf '%s\n' "$line" | grep -qE -- "context [0-9]+ \($name\): fatal \($reason\): " ||
        fail "case $c: the fatal line does not name context ($name) and reason ($reason): $line"
    stats_after=$(fatal_stats)
    if [ "$stats_after" != "$(plus_one "$stats_before" "$reason")" ]; then
        paste <(echo "$stats_before") <(echo "$stats_after") | sed 's/^/  before, after: /' >&2
        fail "case $c: the fatal counters did not go up by one, under '$reason' only"
    fi
    note "case $c: dropped, one fatal line, counted as $reason: $line"
    server_alive || fail "case $c: the server died"
    compute_alive || compute_failed "during case $c"
done

others=$(grep -iE -- "$pattern" "$server_log" | grep -vE -- "context [0-9]+ \(pv-bad-[a-z-]+\): ")
[ -z "$others" ] || fail "fatal lines that name no malformed client: $others"

touch "$stop_file"
wait "$compute_pid"
rc=$?
cat "$tmp/compute.out" >&2
[ $rc -eq 0 ] || fail "Venus client exited $rc"
grep -q 'FAIL' "$tmp/compute.out" && fail "Venus client reported a mismatch"
stop_server
echo "PASS $test_name: $(echo $cases | wc -w) malformed cases dropped while the Venus client passed"

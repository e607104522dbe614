#!/usr/bin/env bash
# vtest: the seed capture (PEARVISOR_CAPTURE_DIR, src/gpu/venus/capture.c)
# records a real client so that the renderer_api fuzz target can replay it:
# pv-compute-test runs through a capturing server and must pass; the
# server must have written one trace and the streams it decoded; the trace,
# turned into a program (fuzz/tools/trace2api.py) and replayed without the
# client through the public API (the fuzz-regress replayer), must leave its
# context alive after it created a device, a compute pipeline and queue
# submits, and must decode at least as many commands as the live run did.
#
#   capture.sh PEARVISOR PV_COMPUTE_TEST REPLAYER TRACE2API
. "$(dirname "$0")/lib.sh"
pv=${1:?usage: capture.sh PEARVISOR PV_COMPUTE_TEST REPLAYER TRACE2API}
compute=${2:?usage: capture.sh PEARVISOR PV_COMPUTE_TEST REPLAYER TRACE2API}
replayer=${3:?usage: capture.sh PEARVISOR PV_COMPUTE_TEST REPLAYER TRACE2API}
trace2api=${4:?usage: capture.sh PEARVISOR PV_COMPUTE_TEST REPLAYER TRACE2API}
need_icds
need_exe "$compute"
need_exe "$replayer"
command -v python3 >/dev/null || skip "python3 missing (fuzz/tools/trace2api.py)"

mkdir -p "$tmp/cap"
PEARVISOR_CAPTURE_DIR=$tmp/cap start_server "$pv" --stats-socket "$tmp/stats.sock"
venus "$compute" --sizes 4K >"$tmp/venus.out" 2>&1 || { cat "$tmp/venus.out" >&2; fail "pv-compute-test failed through the capturing server"; }
grep -qE '^size=[0-9]+ ok ' "$tmp/venus.out" || fail "pv-compute-test printed no ok line"
live=$("$pv" gpu stats --json "$tmp/stats.sock" | sed -nE 's/.*"commands_total":([0-9]+).*/\1/p')
[ -n "$live" ] || fail "no commands_total in the server's statistics"
stop_server
grep -q 'capturing client command streams' "$server_log" || fail "the server did not say it captures"

traces=("$tmp/cap"/*.trace)
[ ${#traces[@]} -eq 1 ] && [ -s "${traces[0]}" ] || fail "expected one trace, found: $(ls "$tmp/cap" | grep -c trace)"
streams=$(ls "$tmp/cap" | grep -c '\.venus$')
[ "$streams" -gt 10 ] || fail "only $streams streams captured"

python3 "$trace2api" "$tmp/api" "${traces[0]}" >&2 || fail "trace2api.py failed"
prog=("$tmp/api"/*.api)
[ -s "${prog[0]}" ] || fail "trace2api.py wrote no program"
out=$(PV_FUZZ_REPORT=1 "$replayer" "${prog[0]}" 2>&1) || { echo "$out" >&2; fail "the replay failed"; }
echo "$out" >&2
line=$(grep ' ops [0-9]* contexts ' <<<"$out")
val() { sed -nE "s/.* $1 ([0-9]+).*/\1/p" <<<"$line"; }
[ "$(val fatal)" = 0 ] || fail "the replayed context went fatal"
[ "$(val vkCreateDevice)" -ge 1 ] || fail "the replay created no device"
[ "$(val vkCreateComputePipelines)" -ge 1 ] || fail "the replay created no compute pipeline"
[ "$(val vkQueueSubmit)" -ge 1 ] || fail "the replay submitted nothing to a queue"
# At least as many: a client that hangs up while its ring still has commands
# has the rest cut off live (the context goes), while the replay waits for them.
[ "$(val commands_total)" -ge "$live" ] ||
    fail "the replay decoded $(val commands_total) commands, the live run $live"
echo "PASS $test_name: $streams streams; the replay decoded $(val commands_total) commands (live: $live), not fatal"

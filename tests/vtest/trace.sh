#!/usr/bin/env bash
# vtest: the renderer's timeline (PEARVISOR_TRACE, src/gpu/venus/trace.h).
# pv-timeline-test and pv-compute-test through a server with tracing on: the
# render process writes a file of its own ("%p") whose every line is a span in
# the documented format, with what ran on each kind of channel: commands on a
# ring (vkQueueSubmit), the front door's vtest messages (SUBMIT_CMD2) and the
# context channel; bench/trace-summary.py reads it. A server with tracing off
# writes nothing.
#
#   trace.sh PEARVISOR PV_COMPUTE_TEST TRACE_SUMMARY
. "$(dirname "$0")/lib.sh"
pv=${1:?usage: trace.sh PEARVISOR PV_COMPUTE_TEST TRACE_SUMMARY}
compute=${2:?usage: trace.sh PEARVISOR PV_COMPUTE_TEST TRACE_SUMMARY}
summary=${3:?usage: trace.sh PEARVISOR PV_COMPUTE_TEST TRACE_SUMMARY}
need_icds
need_exe "$compute"

mkdir -p "$tmp/off" "$tmp/on"
PEARVISOR_TRACE= start_server "$pv"
venus "$compute" --sizes 4K >"$tmp/off.out" 2>&1 || { cat "$tmp/off.out" >&2; fail "pv-compute-test failed with tracing off"; }
stop_server
[ -z "$(ls -A "$tmp/off")" ] || fail "tracing off, yet files appeared"

PEARVISOR_TRACE=$tmp/on/trace.%p start_server "$pv"
venus "$compute" --sizes 4K,1M >"$tmp/on.out" 2>&1 || { cat "$tmp/on.out" >&2; fail "pv-compute-test failed with tracing on"; }
stop_server
grep -q 'tracing the renderer' "$server_log" || fail "the render process did not say it traces"

# The render process's file: the largest one (the server's own renderer may leave an empty one).
f=$(ls -S "$tmp"/on/trace.* 2>/dev/null | head -n 1)
[ -n "$f" ] && [ -s "$f" ] || fail "no trace file was written"
bad=$(awk 'NF != 6 || $1 !~ /^[0-9]+$/ || $2 !~ /^[0-9]+$/ || $2 < $1 || $4 !~ /^(c|d|f|r[0-9]+)$/' "$f" | head -n 3)
[ -z "$bad" ] || fail "lines not in the trace format: $bad"
grep -Eq ' r[0-9]+ vkQueueSubmit ' "$f" || fail "no vkQueueSubmit on a ring"
grep -Eq ' r[0-9]+ vkCmdDispatch ' "$f" || fail "no vkCmdDispatch on a ring"
grep -q ' d vtest-SUBMIT_CMD2 ' "$f" || fail "no vtest SUBMIT_CMD2 from the front door"
grep -q ' c vkCreateRingMESA ' "$f" || fail "no vkCreateRingMESA on the context channel"
"$summary" "$f" --span 1 --top 1000 >"$tmp/summary.txt" || fail "trace-summary failed"
grep -Eq '^[0-9]+ spans over ' "$tmp/summary.txt" || fail "trace-summary printed no total"
grep -q 'vkQueueSubmit' "$tmp/summary.txt" || fail "trace-summary lists no vkQueueSubmit"
echo "PASS $test_name: $(wc -l <"$f") spans, $(awk '{print $4}' "$f" | sort -u | tr '\n' ' ')channels"

#!/usr/bin/env bash
# vtest: a hostile guest can hurt only its own context (docs/threat-model.md,
# issue 11). pv-render-test renders through Venus in a loop, one client after
# another, while pv-hostile-client plays the attack CASE beside it; the
# attack must get what the case expects (its context fatal and the client
# dropped, or merely served), the server must stay up and clean (no
# sanitizer report, SIGTERM honoured), and every render run must pass.
#
#   hostile.sh PEARVISOR PV_RENDER_TEST PV_HOSTILE_CLIENT CASE
#
# CASE is a case of `pv-hostile-client --list`, or "waits": four clients
# block the server in waits that never end by themselves (a fence never
# submitted, waited for with an infinite timeout on a ring and on the context
# channel; vkQueueWaitIdle and vkDeviceWaitIdle on a queue stuck behind a
# semaphore nobody signals) with --max-clients 8. Their slots must come back
# once they disconnect, a ring and the context channel waiting on each other
# must be fatal, and SIGTERM with four such clients connected must end the
# server within 2 s.
. "$(dirname "$0")/lib.sh"
usage="usage: hostile.sh PEARVISOR PV_RENDER_TEST PV_HOSTILE_CLIENT CASE"
pv=${1:?$usage}
render=${2:?$usage}
hostile=${3:?$usage}
case_name=${4:?$usage}
test_name="$test_name-$case_name"
need_icds
need_exe "$render"
need_exe "$hostile"

if [ "$case_name" != waits ]; then
    "$hostile" --list | grep -qxF -- "$case_name" || fail "pv-hostile-client has no case '$case_name'"
fi

max_clients=8
if [ "$case_name" = waits ]; then
    start_server "$pv" --max-clients "$max_clients"
else
    start_server "$pv"
fi

start_render

fatal_lines() { grep -c 'fatal' "$server_log"; }

# run_case CASE [OPTION...]: the hostile client must exit 0.
run_case() {
    local c=$1 rc
    shift
    "$hostile" --socket "$sock" --case "$c" "$@" >"$tmp/$c.out" 2>&1
    rc=$?
    cat "$tmp/$c.out" >&2
    [ $rc -eq 0 ] || fail "case $c: pv-hostile-client exited $rc"
    server_alive || fail "case $c: the server died"
    render_alive || render_failed "during case $c"
}

# Clients that block the server; their pids in blocked_pids.
blocked_cases="wait-ring wait-submit wait-queue-idle wait-device-idle"
start_blocked() {
    local c i all
    blocked_pids=()
    for c in $blocked_cases; do
        "$hostile" --socket "$sock" --case "$c" >"$tmp/$c.out" 2>&1 &
        blocked_pids+=($!)
        bg_pids+=($!)
    done
    for i in $(seq 1 600); do
        all=1
        for c in $blocked_cases; do
            grep -q ': blocked$' "$tmp/$c.out" || all=0
        done
        [ $all -eq 1 ] && return 0
        for p in "${blocked_pids[@]}"; do
            kill -0 "$p" 2>/dev/null && continue
            cat "$tmp"/wait-*.out >&2
            fail "a blocking client ended before it blocked"
        done
        sleep 0.1
    done
    cat "$tmp"/wait-*.out >&2
    fail "the blocking clients did not all block within 60 s"
}

# $max_clients well-behaved clients at once (the limit) must all be served;
# retried for up to 10 s. Sets $freed_ms: from the call to the start of the
# attempt that was served.
expect_slots_free() {
    local t0=$SECONDS attempt pids p ok start_ms try_ms
    start_ms=$(date +%s%3N)
    for attempt in $(seq 1 40); do
        try_ms=$(date +%s%3N)
        pids=()
        for i in $(seq 1 "$max_clients"); do
            "$hostile" --socket "$sock" --case ping --hold-ms 300 >"$tmp/ping$i.out" 2>&1 &
            pids+=($!)
        done
        ok=1
        for p in "${pids[@]}"; do
            wait "$p" || ok=0
        done
        if [ $ok -eq 1 ]; then
            freed_ms=$((try_ms - start_ms))
            return 0
        fi
        [ $((SECONDS - t0)) -ge 10 ] && break
        sleep 0.2
    done
    cat "$tmp"/ping*.out >&2
    fail "the blocked clients' slots were not free 10 s after they disconnected"
}

if [ "$case_name" = waits ]; then
    start_blocked
    note "four clients block the server: $(grep -h ': blocked$' "$tmp"/wait-*.out | sed 's/^pv-hostile-client: //' | tr '\n' ';')"
    before=$(fatal_lines)
    run_case wait-each-other
    [ "$(fatal_lines)" -gt "$before" ] || fail "wait-each-other: no fatal line in the server log"
    # The slots are counted with the rendering client paused: it must not
    # lose a race for one to the probes.
    stop_render
    kill -KILL "${blocked_pids[@]}" 2>/dev/null
    for p in "${blocked_pids[@]}"; do wait "$p" 2>/dev/null; done
    expect_slots_free
    note "the blocked clients disconnected; $max_clients clients were served at once again within ${freed_ms} ms"

    start_render
    start_blocked
    stop_render
    server_alive || fail "the server died"
    t0=$(date +%s%3N)
    kill -TERM "$server_pid"
    for i in $(seq 1 100); do
        server_alive || break
        sleep 0.02
    done
    t_ms=$(($(date +%s%3N) - t0))
    if server_alive; then
        kill -KILL "$server_pid"
        wait "$server_pid" 2>/dev/null
        server_pid=
        fail "the server did not end within 2 s of SIGTERM with four blocked clients connected"
    fi
    wait "$server_pid"
    st=$?
    server_pid=
    case $st in
        0 | 143) ;;
        *) fail "the server exited with status $st after SIGTERM" ;;
    esac
    check_sanitizers
    [ "$t_ms" -lt 2000 ] || fail "the server took $t_ms ms to end after SIGTERM (limit 2000)"
    echo "PASS $test_name: slots free within ${freed_ms} ms of the blocked clients leaving; SIGTERM with four blocked clients ended the server in $t_ms ms"
    exit 0
fi

case $case_name in
    ping | race-destroy) expect_fatal=0 ;;
    *) expect_fatal=1 ;;
esac
opts=()
# dup-ids: 262143 ids must be checked within 5 s (comparing all pairs takes half a minute).
[ "$case_name" = dup-ids ] && opts=(--timeout-ms 5000)
before=$(fatal_lines)
run_case "$case_name" "${opts[@]}"
if [ $expect_fatal -eq 1 ]; then
    for i in $(seq 1 50); do
        [ "$(fatal_lines)" -gt "$before" ] && break
        sleep 0.1
    done
    [ "$(fatal_lines)" -gt "$before" ] || fail "case $case_name: no fatal line in the server log"
    note "case $case_name: $(grep 'fatal' "$server_log" | tail -n 1)"
    # host-crash: the render process it crashed may have a sanitizer's word on it.
    [ "$case_name" = host-crash ] && expect_crashed_pid "$(grep 'fatal (lost)' "$server_log" | tail -n 1)"
fi
stop_render
stop_server
echo "PASS $test_name: the hostile client got what it asked for; the server and the rendering client carried on"

#!/usr/bin/env bash
# vtest: lifetime soak. pv-malformed-client --soak plays CYCLES clients, JOBS
# at a time, each of which connects, does the handshake, creates a ring, an
# instance, a device, buffers and host-visible memory mapped through a blob,
# and then vanishes at a random point (plain close, close with commands still
# on the ring, or close in the middle of a vtest message); one in ten tears
# down cleanly. The server's fd count, thread count and RSS are measured
# after a warm-up of WARMUP cycles and at the end:
#   - fds and threads must not grow at all (a leaked memfd, socket or ring
#     thread shows up as +1 per cycle), and no render process may be left
#     (each client's ends with it);
#   - RSS may grow by at most PV_SOAK_RSS_KIB (default 8 MiB). Some growth is
#     not a leak: glibc keeps freed memory in per-thread arenas (up to
#     8 x cores of them, reused by whichever client thread runs next), and
#     lavapipe/LLVM keep caches. A leak of even one 4 KiB object per cycle
#     would add ~3.7 MiB over 950 cycles, and anything holding a 64 KiB
#     mapping or a device per cycle would add tens of MiB, so 8 MiB separates
#     the two; under ASan (quarantine, shadow) the bound is 64 MiB and LSan
#     does the exact check: the server runs with detect_leaks=1 and the
#     script fails on any sanitizer report in its log.
#
#   soak.sh PEARVISOR PV_MALFORMED_CLIENT
#
# Knobs: PV_SOAK_CYCLES (1000; 300 under ASan), PV_SOAK_WARMUP (50),
# PV_SOAK_JOBS (4), PV_SOAK_SEED (random, printed), PV_SOAK_RSS_KIB.
. "$(dirname "$0")/lib.sh"
usage="usage: soak.sh PEARVISOR PV_MALFORMED_CLIENT"
pv=${1:?$usage}
client=${2:?$usage}
need_icds
need_exe "$pv"
need_exe "$client"

asan=0
grep -q __asan_init "$pv" 2>/dev/null && asan=1
if [ $asan = 1 ]; then
    cycles=${PV_SOAK_CYCLES:-300}
    rss_bound=${PV_SOAK_RSS_KIB:-65536}
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
else
    cycles=${PV_SOAK_CYCLES:-1000}
    rss_bound=${PV_SOAK_RSS_KIB:-8192}
fi
# Freed memory filled with a pattern turns a read of freed memory (ours or
# a library's) into a crash instead of a silent stale read; meson test sets
# a random MALLOC_PERTURB_ itself. (ASan has its own fill and ignores it.)
export MALLOC_PERTURB_=${MALLOC_PERTURB_:-192}
warmup=${PV_SOAK_WARMUP:-50}
jobs=${PV_SOAK_JOBS:-4}
seed=${PV_SOAK_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
[ "$cycles" -gt "$warmup" ] || fail "PV_SOAK_CYCLES ($cycles) must exceed PV_SOAK_WARMUP ($warmup)"
note "seed $seed: $cycles cycles ($warmup warm-up), $jobs at a time, asan=$asan (rerun with PV_SOAK_SEED=$seed)"

start_server "$pv"

fds() { ls "/proc/$server_pid/fd" 2>/dev/null | wc -l; }
threads() { awk '/^Threads:/ {print $2}' "/proc/$server_pid/status"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status"; }

# settle: wait until the server has reaped every client (fds and threads
# unchanged for 2 s), at most 60 s.
settle() {
    local last= now stable=0 i
    for i in $(seq 1 240); do
        server_alive || fail "the server died during the soak"
        now="$(fds) $(threads)"
        if [ "$now" = "$last" ]; then
            stable=$((stable + 1))
            [ $stable -ge 8 ] && return 0
        else
            stable=0
        fi
        last=$now
        sleep 0.25
    done
    fail "the server's fds/threads did not settle within 60 s (now: $last)"
}

run_cycles() {
    local n=$1 s=$2 t0=$SECONDS
    timeout -k 5 "$CLIENT_TIMEOUT" "$client" --socket "$sock" --timeout-ms 20000 \
        --soak "$n" --jobs "$jobs" --seed "$s" >"$tmp/soak.out" 2>&1
    local rc=$?
    cat "$tmp/soak.out" >&2
    [ $rc -eq 0 ] || fail "soak client failed (status $rc, seed $s)"
    note "$n cycles in $((SECONDS - t0)) s"
}

t_start=$SECONDS
run_cycles "$warmup" "$seed"
settle
fd0=$(fds) th0=$(threads) rss0=$(rss_kib)
note "after warm-up: fds $fd0, threads $th0, VmRSS $rss0 KiB"

run_cycles $((cycles - warmup)) $((seed + 1))
settle
fd1=$(fds) th1=$(threads) rss1=$(rss_kib)
note "after $cycles cycles: fds $fd1, threads $th1, VmRSS $rss1 KiB ($((rss1 - rss0)) KiB growth, bound $rss_bound)"

# Render processes end with their clients: none may be left once all are gone.
left=$(ps -o pid= --ppid "$server_pid" | wc -l)
[ "$left" -eq 0 ] || fail "$left render processes outlived their clients (seed $seed)"
[ "$fd1" -le "$fd0" ] || fail "the server's fd count grew from $fd0 to $fd1 (seed $seed)"
[ "$th1" -le "$th0" ] || fail "the server's thread count grew from $th0 to $th1 (seed $seed)"
[ $((rss1 - rss0)) -le "$rss_bound" ] ||
    fail "the server's RSS grew by $((rss1 - rss0)) KiB, more than $rss_bound KiB (seed $seed)"
check_sanitizers
stop_server
echo "PASS $test_name: $cycles cycles in $((SECONDS - t_start)) s; fds $fd0 -> $fd1, threads $th0 -> $th1, VmRSS $rss0 -> $rss1 KiB (seed $seed)"

#!/usr/bin/env bash
# vtest: the render process of each client (issue 11; docs/threat-model.md).
#
#   sandbox.sh PEARVISOR PEARVISOR_TEST_HOOKS PV_RENDER_TEST PV_HOSTILE_CLIENT CASE
#
#   crash    pv-render-test renders in a loop while pv-hostile-client's
#            host-crash case makes lavapipe crash (a real host driver
#            crash, no hook): the server must log exactly one fatal line,
#            "context N (hostile-host-crash): fatal (lost): its render
#            process P was killed by signal S (SIG...)", count one more
#            fatal context under "lost" and no other reason, stay up, keep
#            the loop passing, and serve a new client afterwards.
#   fds      with two clients connected (a Venus compute client holding its
#            context and memory, and a raw client), each render process
#            holds fds 0-2 (the server's), 3 (a socket the server holds too:
#            its client), 4 (its channel), and otherwise only shared memory
#            (memfds, or unlinked POSIX shm objects with -Dshm=posix), anon
#            inodes and device nodes: no other socket, pipe or file. It is
#            behind its filter (Seccomp: 2, NoNewPrivs: 1), runs the
#            server's binary, and has the host driver mapped while the
#            server has none.
#   seccomp  PEARVISOR_TEST_HOOKS (the same server with
#            src/gpu/vtest/testhook.c) beside the rendering loop: a client
#            named pv-hook-errno makes its render process try every call the
#            filter refuses with an errno (each must be refused, and the
#            client then served); one named pv-hook-kill-CALL makes it try a
#            call the filter kills (it must die of SIGSYS, with one line).
#            A sanitizer build (ASan, TSan) lets LeakSanitizer's calls and
#            the symbolizer's through (fork, ptrace; exec fails with EPERM):
#            the expectations follow.
#   loader   the server started through the dynamic loader by hand
#            (ld-linux-x86-64.so.2 PEARVISOR ..., as the GPU machine's bundle
#            runs it: /proc/self/exe is then the loader) still starts its
#            render processes, through the same loader, and serves a client.
. "$(dirname "$0")/lib.sh"
usage="usage: sandbox.sh PEARVISOR PEARVISOR_TEST_HOOKS PV_RENDER_TEST PV_HOSTILE_CLIENT CASE"
pv=${1:?$usage}
pv_hooks=${2:?$usage}
render=${3:?$usage}
hostile=${4:?$usage}
case_name=${5:?$usage}
test_name="$test_name-$case_name"
need_icds
need_exe "$pv"
need_exe "$pv_hooks"
need_exe "$render"
need_exe "$hostile"
# A sanitizer build (ASan or TSan: pv_sandbox_relaxed) lets some calls through.
asan=0
grep -qE '__asan_init|__tsan_init' "$pv" 2>/dev/null && asan=1

stats_sock=$tmp/stats.sock
# fatal_stats: "contexts_fatal N" and one "REASON N" line per fatal reason.
fatal_stats() {
    local json
    json=$("$pv" gpu stats --json "$stats_sock") || fail "pearvisor gpu stats failed"
    printf '%s\n' "$json" | sed -n 's/.*"contexts_fatal":\([0-9]*\).*/contexts_fatal \1/p'
    printf '%s\n' "$json" | sed -n 's/.*"fatal_reasons":{\([^}]*\)}.*/\1/p' |
        tr ',' '\n' | sed 's/^"\([a-z]*\)":\([0-9]*\)$/\1 \2/'
}
plus_one() {
    printf '%s\n' "$1" | awk -v r="$2" '$1 == "contexts_fatal" || $1 == r { $2++ } { print }'
}
fatal_lines() { grep -ci 'fatal' "$server_log"; }
children() { ps -o pid= --ppid "$server_pid" | tr -d ' '; }

# The well-behaved client: start_render/stop_render (lib.sh).

# wait_line PATTERN: waits up to 10 s for a server log line matching PATTERN (ERE).
wait_line() {
    for i in $(seq 1 100); do
        grep -qE -- "$1" "$server_log" && return 0
        sleep 0.1
    done
    return 1
}

case $case_name in
crash)
    start_server "$pv" --stats-socket "$stats_sock"
    start_render
    before=$(fatal_lines)
    stats_before=$(fatal_stats)
    first_new=$(($(wc -l <"$server_log") + 1))
    "$hostile" --socket "$sock" --case host-crash --timeout-ms 30000 >"$tmp/crash.out" 2>&1 ||
        { cat "$tmp/crash.out" >&2; fail "the crashing client was not dropped"; }
    # A sanitizer build catches the crash and exits (TSan: status 66) instead.
    re='context [0-9]+ \(hostile-host-crash\): fatal \(lost\): its render process [0-9]+ (was killed by signal [0-9]+ \(SIG[A-Z]+\)|exited with status [0-9]+); the client is dropped'
    wait_line "$re" || fail "no line saying the crashing client's render process was lost"
    sleep 0.5
    got=$(($(fatal_lines) - before))
    if [ "$got" -ne 1 ]; then
        tail -n "+$first_new" "$server_log" >&2
        fail "$got fatal lines for one crash, expected 1"
    fi
    stats_after=$(fatal_stats)
    if [ "$stats_after" != "$(plus_one "$stats_before" lost)" ]; then
        paste <(echo "$stats_before") <(echo "$stats_after") | sed 's/^/  before, after: /' >&2
        fail "the fatal counters did not go up by one, under 'lost' only"
    fi
    server_alive || fail "the server died with its client's render process"
    render_alive || render_failed "when the other client's render process crashed"
    note "$(grep -E -- "$re" "$server_log")"
    expect_crashed_pid "$(grep -E -- "$re" "$server_log")"
    stop_render
    # A third client, after the crash: served from the start.
    "${venus_cmd[@]}" "$render" --path all --iterations 2 >"$tmp/third.out" 2>&1 ||
        { cat "$tmp/third.out" >&2; fail "a client connecting after the crash failed"; }
    grep -qE '^path=dynamic ok ' "$tmp/third.out" || fail "the client after the crash rendered nothing"
    stop_server
    echo "PASS $test_name: the crash took only its render process (one line, counted as lost); the other client and a later one rendered"
    ;;
fds)
    start_server "$pv"
    hold=$tmp/stop-compute
    "${venus_cmd[@]}" "$(dirname "$render")/pv-compute-test" --sizes 64K --iterations 1 \
        --repeat-until-exists "$hold" >"$tmp/compute.out" 2>&1 &
    compute_pid=$!
    bg_pids+=("$compute_pid")
    "$hostile" --socket "$sock" --case ping --hold-ms 20000 >"$tmp/ping.out" 2>&1 &
    bg_pids+=($!)
    for i in $(seq 1 1200); do
        grep -q '^size=[0-9]* ok ' "$tmp/compute.out" && [ "$(children | wc -l)" -ge 2 ] && break
        kill -0 "$compute_pid" 2>/dev/null || { cat "$tmp/compute.out" >&2; fail "the compute client ended early"; }
        sleep 0.1
    done
    kids=$(children)
    [ "$(echo "$kids" | wc -l)" -eq 2 ] || fail "expected 2 render processes, found: $(echo $kids)"
    server_fds=$(for f in /proc/"$server_pid"/fd/*; do readlink "$f"; done)
    grep -q 'libvulkan_lvp\|libLLVM' "/proc/$server_pid/maps" &&
        fail "the server itself has the host driver mapped"
    inodes=
    for k in $kids; do
        [ "$(readlink "/proc/$k/exe")" = "$(readlink "/proc/$server_pid/exe")" ] ||
            fail "render process $k runs $(readlink "/proc/$k/exe"), not the server's binary"
        grep -qE '^Seccomp:[[:space:]]+2$' "/proc/$k/status" || fail "render process $k has no seccomp filter"
        grep -qE '^NoNewPrivs:[[:space:]]+1$' "/proc/$k/status" || fail "render process $k may gain privileges"
        list=
        for f in /proc/"$k"/fd/*; do
            n=${f##*/}
            t=$(readlink "$f") || continue
            list="$list $n=$t"
            case $n in
            0 | 1 | 2)
                [ "$t" = "$(readlink "/proc/$server_pid/fd/$n")" ] ||
                    fail "render process $k: fd $n is $t, not the server's" ;;
            3)
                case $t in socket:*) ;; *) fail "render process $k: fd 3 is $t, not its client's socket" ;; esac
                printf '%s\n' "$server_fds" | grep -qxF -- "$t" ||
                    fail "render process $k: fd 3 ($t) is no client socket of the server"
                inodes="$inodes $t" ;;
            4)
                case $t in socket:*) ;; *) fail "render process $k: fd 4 is $t, not its channel" ;; esac ;;
            *)
                case $t in
                # Shared memory: memfds, or with -Dshm=posix the renderer's own
                # POSIX shm objects, unlinked as soon as made (src/common/shm.c).
                /memfd:* | "/dev/shm/pv-"*" (deleted)" | anon_inode:* | /dev/dri/* | /dev/nvidia* | /dev/null) ;;
                *) fail "render process $k: fd $n is $t (only shared memory, anon inodes and device nodes may be opened)" ;;
                esac ;;
            esac
        done
        grep -q 'libvulkan_lvp' "/proc/$k/maps" || fail "render process $k has no host driver mapped"
        note "render process $k:$list"
    done
    [ "$(echo $inodes | tr ' ' '\n' | sort -u | wc -l)" -eq 2 ] || fail "the render processes share a client socket: $inodes"
    touch "$hold"
    wait "$compute_pid" || { cat "$tmp/compute.out" >&2; fail "the compute client failed"; }
    stop_server
    echo "PASS $test_name: each render process holds only its client, its channel, 0-2 and its own memory; filtered; the server has no driver"
    ;;
seccomp)
    start_server "$pv_hooks" --stats-socket "$stats_sock"
    start_render
    refused="socket socketpair connect bind listen accept4 fork clone3 kill(server) pidfd_open(server) unshare keyctl io_uring_setup"
    killed="execve ptrace process_vm_readv mount bpf"
    if [ $asan = 1 ]; then
        refused=${refused/fork /}
        killed="process_vm_readv mount bpf"
    fi
    "$hostile" --socket "$sock" --case ping --name pv-hook-errno >"$tmp/errno.out" 2>&1 ||
        { cat "$tmp/errno.out" >&2; fail "the client of the errno probes was not served"; }
    for c in $refused; do
        grep -qF "hook: $c: refused (E" "$server_log" || { grep 'hook:' "$server_log" >&2; fail "$c was not refused with an errno"; }
    done
    # In a sanitizer build fork is let through (LeakSanitizer's tracer): only that may get by.
    got_through=$(grep 'hook: .*NOT' "$server_log")
    [ $asan = 1 ] && got_through=$(printf '%s\n' "$got_through" | grep -v 'hook: fork: NOT refused')
    [ -n "$got_through" ] && { grep 'hook:' "$server_log" >&2; fail "a probe got through the filter"; }
    note "refused with an errno: $(grep -o 'hook: [^ ]*: refused ([A-Z]*)' "$server_log" | sed 's/hook: //' | tr '\n' ' ')"
    sigsys_re='its render process [0-9]+ was killed by signal 31 \(SIGSYS\) before the client had a context'
    for c in $killed; do
        before=$(grep -cE -- "$sigsys_re" "$server_log")
        deaths=$(grep -c 'its render process [0-9]* was killed' "$server_log")
        "$hostile" --socket "$sock" --case ping --name "pv-hook-kill-$c" >"$tmp/kill.out" 2>&1 &&
            fail "the client of the $c probe was served: its render process survived"
        for i in $(seq 1 100); do
            [ "$(grep -cE -- "$sigsys_re" "$server_log")" -gt "$before" ] && break
            sleep 0.1
        done
        [ "$(grep -cE -- "$sigsys_re" "$server_log")" -eq $((before + 1)) ] ||
            { tail -n 5 "$server_log" >&2; fail "$c: no line saying its render process died of SIGSYS"; }
        [ "$(grep -c 'its render process [0-9]* was killed' "$server_log")" -eq $((deaths + 1)) ] ||
            fail "$c: more than one line for its render process's death"
        grep -q "hook: $c: NOT killed" "$server_log" && fail "$c returned instead of killing its process"
        server_alive || fail "$c: the server died"
        render_alive || render_failed "during the $c probe"
    done
    note "killed by SIGSYS: $killed"
    stop_render
    stop_server
    echo "PASS $test_name: $(echo $refused | wc -w) calls refused with an errno, $(echo $killed | wc -w) killed, in the render process; the server and the rendering client carried on"
    ;;
loader)
    ldso=$(ls /lib64/ld-linux-*.so.* /lib/ld-linux-*.so.* 2>/dev/null | head -n 1)
    [ -n "$ldso" ] || skip "no dynamic loader to run by hand"
    cat >"$tmp/pv-ldso" <<WRAP
#!/bin/sh
exec "$ldso" "$pv" "\$@"
WRAP
    chmod +x "$tmp/pv-ldso"
    # Run by hand, the loader's own start-up allocations (its --library-path
    # and argv handling) look like leaks to LeakSanitizer; they are not ours.
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
    start_server "$tmp/pv-ldso"
    "$hostile" --socket "$sock" --case ping --hold-ms 3000 >"$tmp/ping.out" 2>&1 &
    ping_pid=$!
    bg_pids+=("$ping_pid")
    for i in $(seq 1 100); do
        kid=$(children | head -n 1)
        [ -n "$kid" ] && break
        sleep 0.05
    done
    [ -n "$kid" ] || fail "no render process for the client"
    cmd=$(tr '\0' ' ' <"/proc/$kid/cmdline")
    case $cmd in
    *"$pv gpu render-process "*) ;;
    *) fail "the render process runs '$cmd', not the loader with $pv gpu render-process" ;;
    esac
    wait "$ping_pid" || { cat "$tmp/ping.out" >&2; fail "the client was not served"; }
    "${venus_cmd[@]}" "$render" --path dynamic --iterations 2 >"$tmp/render.out" 2>&1 ||
        { cat "$tmp/render.out" >&2; fail "a Venus client through the loaded server failed"; }
    stop_server
    echo "PASS $test_name: under $ldso the render process runs '$cmd' and serves"
    ;;
*)
    fail "unknown case $case_name"
    ;;
esac

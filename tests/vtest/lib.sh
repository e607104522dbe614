# Shared by the vtest suite's scripts (sourced, bash). Starts `pearvisor gpu
# serve` on a unique socket, runs clients through Mesa's Venus ICD over vtest,
# and always stops the server (trap), checking how it ended.
#
# Environment knobs (defaults fit the Debian 13 environment):
#   PV_VIRTIO_ICD   Venus ICD manifest   (/usr/share/vulkan/icd.d/virtio_icd.json)
#   PV_NATIVE_ICD   native ICD manifest  (/usr/share/vulkan/icd.d/lvp_icd.json)
#   PV_TEST_TIMEOUT seconds for one client run (default 300)
#   PV_SERVE_OPTS   extra `gpu serve` options for every server (e.g.
#                   --in-process: tests/meson.build runs some tests both ways)
set -u

test_name=$(basename "$0" .sh)
VIRTIO_ICD=${PV_VIRTIO_ICD:-/usr/share/vulkan/icd.d/virtio_icd.json}
NATIVE_ICD=${PV_NATIVE_ICD:-/usr/share/vulkan/icd.d/lvp_icd.json}
CLIENT_TIMEOUT=${PV_TEST_TIMEOUT:-300}

tmp=$(mktemp -d /tmp/pv-vtest-XXXXXX)
server_pid=
server_log=$tmp/server.log
sock=
bg_pids=()

note() { echo "$test_name: $*" >&2; }
skip() { echo "SKIP $test_name: $*" >&2; exit 77; }
fail() {
    echo "FAIL $test_name: $*" >&2
    if [ -s "$server_log" ]; then
        echo "---- server log (last 40 lines) ----" >&2
        tail -n 40 "$server_log" >&2
    fi
    exit 1
}

cleanup() {
    local p
    for p in "${bg_pids[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -KILL "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    [ -n "$sock" ] && rm -f "$sock"
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# need_icds: skip (77) when the Venus or native ICD or vulkaninfo is missing.
need_icds() {
    [ -f "$VIRTIO_ICD" ] || skip "Venus ICD missing ($VIRTIO_ICD): install mesa-vulkan-drivers"
    [ -f "$NATIVE_ICD" ] || skip "lavapipe ICD missing ($NATIVE_ICD): install mesa-vulkan-drivers"
}

need_exe() {
    [ -x "$1" ] || fail "not an executable: $1"
}

# native_device_name: deviceName of the first native device (vulkaninfo --summary).
native_device_name() {
    VK_DRIVER_FILES=$NATIVE_ICD timeout 120 vulkaninfo --summary 2>/dev/null |
        sed -n 's/^[[:space:]]*deviceName[[:space:]]*=[[:space:]]*//p' | head -n 1
}

# start_server PEARVISOR [SERVE OPTION...]: serve on a fresh socket (with
# the extra `gpu serve` options given, then $PV_SERVE_OPTS), wait until it
# listens.
start_server() {
    local pv=$1 i serve_opts
    shift
    need_exe "$pv"
    read -r -a serve_opts <<<"${PV_SERVE_OPTS:-}"
    sock=$(mktemp -u /tmp/pv-XXXXXX.sock)
    "$pv" gpu serve --socket "$sock" "$@" "${serve_opts[@]}" >"$server_log" 2>&1 &
    server_pid=$!
    # The clients are test drivers around Mesa's Venus ICD, which the loader
    # dlcloses at vkDestroyInstance: LSan then reports Mesa's per-load
    # allocations from an "<unknown module>" at client exit. Leak checking
    # is for the server (it keeps the environment's ASAN_OPTIONS).
    venus_cmd=(env VN_DEBUG=vtest "VTEST_SOCKET_NAME=$sock" "VK_DRIVER_FILES=$VIRTIO_ICD"
        "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
        timeout -k 5 "$CLIENT_TIMEOUT")
    # Polled often: shutdown.sh sends SIGTERM the moment the server is up.
    # The path exists from bind(), before listen(): a client connecting then
    # is refused (seen once under load), so wait for the line the server
    # prints once it listens.
    for i in $(seq 1 3000); do
        [ -S "$sock" ] && grep -qF "serving Venus over vtest on $sock" "$server_log" && return 0
        kill -0 "$server_pid" 2>/dev/null || {
            wait "$server_pid"
            fail "server exited with status $? before listening on $sock"
        }
        sleep 0.01
    done
    fail "server did not create $sock within 30 s"
}

server_alive() {
    kill -0 "$server_pid" 2>/dev/null
}

# venus CMD...: run a client through the Venus ICD against our server.
# For a background client use "${venus_cmd[@]}" CMD... & (then $! is the
# client's timeout process) and add $! to bg_pids so the trap stops it.
venus() {
    "${venus_cmd[@]}" "$@"
}

# venus_full_vulkaninfo: sets $expected to the Venus device's name (the
# native device's, wrapped) and runs a full vulkaninfo through the server
# into $tmp/full.out, failing with its stderr tail if it does not exit 0.
venus_full_vulkaninfo() {
    local host_name rc
    host_name=$(native_device_name)
    [ -n "$host_name" ] || fail "native vulkaninfo --summary shows no device ($NATIVE_ICD)"
    expected="Virtio-GPU Venus ($host_name)"
    venus vulkaninfo >"$tmp/full.out" 2>"$tmp/full.err"
    rc=$?
    if [ $rc -ne 0 ]; then
        tail -n 20 "$tmp/full.err" >&2
        [ $rc -eq 124 ] && fail "full vulkaninfo through Venus timed out after $CLIENT_TIMEOUT s"
        fail "full vulkaninfo through Venus exited $rc"
    fi
}

# native CMD...: the same client on the native driver.
native() {
    VK_DRIVER_FILES=$NATIVE_ICD timeout -k 5 "$CLIENT_TIMEOUT" "$@"
}

# Render processes a test crashed on purpose (tests/vtest/sandbox.sh crash,
# hostile.sh host-crash): a sanitizer's report of that crash ("==PID==ERROR:
# ...Sanitizer: SEGV") is what the test asked for, not a finding.
crashed_pids=()
# expect_crashed_pid LINE: notes the pid of "its render process PID was killed
# ..." (or "exited ...": a sanitizer that caught the crash exits) in LINE.
expect_crashed_pid() {
    local pid
    pid=$(printf '%s\n' "$1" | sed -n 's/.*its render process \([0-9]*\) \(was killed\|exited\).*/\1/p' | head -n 1)
    [ -n "$pid" ] && crashed_pids+=("$pid")
}

# check_sanitizers: fail on any sanitizer report in the server's log (but
# those of crashed_pids).
check_sanitizers() {
    local log=$server_log
    if [ ${#crashed_pids[@]} -gt 0 ]; then
        log=$tmp/server.log.checked
        grep -vE "^==($(IFS='|'; echo "${crashed_pids[*]}"))==" "$server_log" >"$log"
    fi
    if grep -qE 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:' "$log"; then
        fail "sanitizer report in the server log"
    fi
}

# stop_server: the server must still be running; SIGTERM it, and it must end
# within 15 s through its clean shutdown: status 0 (never death by the signal,
# 143: its handlers exist before its socket does), its socket removed, and no
# sanitizer report (under ASan, LSan checks for leaks at that exit).
stop_server() {
    local st i
    server_alive || { wait "$server_pid"; st=$?; server_pid=; fail "server died (status $st)"; }
    kill -TERM "$server_pid"
    for i in $(seq 1 150); do
        server_alive || break
        sleep 0.1
    done
    if server_alive; then
        kill -KILL "$server_pid"
        wait "$server_pid" 2>/dev/null
        server_pid=
        fail "server ignored SIGTERM for 15 s"
    fi
    wait "$server_pid"
    st=$?
    server_pid=
    [ "$st" -eq 0 ] || fail "server exited with status $st after SIGTERM, not 0"
    [ -e "$sock" ] && fail "server exited but left its socket $sock"
    check_sanitizers
}

# ---- the well-behaved rendering client (hostile.sh, sandbox.sh) ----
# RENDER (pv-render-test) renders one frame per run (both paths), run after
# run, in the background until stop_render; start_render returns once it has
# rendered once. A client that has left holds its slot until the server has
# reaped its render process (under ASan that includes the leak check), so a
# render client refused by a full server right after other clients left is
# started again, for up to 10 s; any other early end fails.
render_alive() { kill -0 "$render_pid" 2>/dev/null; }
render_failed() {
    wait "$render_pid"
    local rc=$?
    cat "$tmp/render.out" >&2
    fail "the rendering client ended early (status $rc) $*"
}
refused_lines() { grep -c 'refused, already serving' "$server_log"; }
start_render() {
    local i attempt refused stop_file=$tmp/stop-render
    for attempt in $(seq 1 50); do
        rm -f "$stop_file"
        refused=$(refused_lines)
        (
            while [ ! -e "$stop_file" ]; do
                "${venus_cmd[@]}" "$render" --path all --iterations 2 || exit $?
            done
        ) >"$tmp/render.out" 2>&1 &
        render_pid=$!
        bg_pids+=("$render_pid")
        for i in $(seq 1 1200); do
            grep -qE '^path=[a-z]+ ok ' "$tmp/render.out" && return 0
            render_alive || break
            sleep 0.1
        done
        render_alive && fail "the rendering client made no frame within 120 s"
        [ "$(refused_lines)" -gt "$refused" ] || render_failed "before its first frame"
        wait "$render_pid"
        note "the rendering client was refused (server full); starting it again"
        sleep 0.2
    done
    fail "the rendering client was refused for 10 s"
}
stop_render() {
    touch "$tmp/stop-render"
    wait "$render_pid"
    local rc=$?
    [ $rc -eq 0 ] || { cat "$tmp/render.out" >&2; fail "the rendering client exited $rc"; }
    grep -q 'FAIL' "$tmp/render.out" && fail "the rendering client reported a mismatch"
    note "rendering client: $(grep -cE '^path=[a-z]+ ok ' "$tmp/render.out") frames passed"
}

#!/usr/bin/env bash
# vtest: `vkmark --winsys headless` with all its default scenes through
# `pearvisor gpu serve`. Passes if vkmark exits 0 on the Venus device and
# every default scene ran and rendered: one result line per scene, in the
# order a native run on the host driver prints them (the reference for "all
# default scenes": vkmark has no option to list them without running), each
# with FPS > 0 and a finite FrameTime > 0, and a vkmark Score > 0. Any other
# line that starts like a scene's result (an error, "FPS: 0", "inf") fails
# the test. Each scene runs DURATION seconds (default 0.5, via vkmark's
# global option `-b :duration=D`, which keeps the default scene list)
# instead of vkmark's 10. FPS values are checked for > 0, not compared.
#
#   vkmark.sh PEARVISOR [DURATION]
. "$(dirname "$0")/lib.sh"
pv=${1:?usage: vkmark.sh PEARVISOR [DURATION]}
duration=${2:-0.5}
command -v vkmark >/dev/null || skip "vkmark missing: install vkmark"
need_icds

host_name=$(native_device_name)
[ -n "$host_name" ] || fail "native vulkaninfo --summary shows no device ($NATIVE_ICD)"
args=(--winsys headless -b ":duration=$duration")

# scenes LABEL OUT LIST: every scene result line of vkmark's output OUT
# ("[vertex] device-local=true: FPS: 374 FrameTime: 2.674 ms") must carry
# FPS > 0 and FrameTime > 0 (finite), and the Score line must be > 0; writes
# the scene names ("[vertex] device-local=true"), in order, to LIST.
scenes() {
    local label=$1 out=$2 list=$3 bad
    bad=$(awk -v list="$list" '
        /^\[[a-z0-9-]+\] / {
            n = split($0, f, ": FPS: ")
            if (n != 2 || f[2] !~ /^[0-9]+ FrameTime: [0-9]+(\.[0-9]+)? ms$/) {
                print "  not a result: " $0; next
            }
            split(f[2], v, " ")
            if (v[1] + 0 <= 0 || v[3] + 0 <= 0) print "  no frames: " $0
            print f[1] > list
            next
        }
        /vkmark Score:/ { score = $NF; scored = 1 }
        END {
            if (!scored) print "  no vkmark Score line"
            else if (score !~ /^[0-9]+$/ || score + 0 <= 0) print "  vkmark Score " score
        }' "$out")
    [ -e "$list" ] || : >"$list"
    if [ -n "$bad" ]; then
        cat "$out" >&2
        fail "$label: vkmark scenes did not all run and render:
$bad"
    fi
}

# check_run LABEL OUT RC DEVICE
check_run() {
    local label=$1 out=$2 rc=$3 device=$4
    [ "$rc" -eq 124 ] && { cat "$out" >&2; fail "$label: vkmark timed out after $CLIENT_TIMEOUT s"; }
    [ "$rc" -eq 0 ] || { cat "$out" >&2; fail "$label: vkmark exited $rc"; }
    grep -qE "^[[:space:]]*Device Name:[[:space:]]*$(printf '%s' "$device" |
        sed 's/[][().*^$\\/]/\\&/g')\$" "$out" || {
        cat "$out" >&2
        fail "$label: vkmark did not run on '$device'"
    }
}

native vkmark "${args[@]}" >"$tmp/native.out" 2>&1
check_run native "$tmp/native.out" $? "$host_name"
scenes native "$tmp/native.out" "$tmp/native.scenes"
n=$(wc -l <"$tmp/native.scenes")
[ "$n" -ge 10 ] || { cat "$tmp/native.out" >&2; fail "native vkmark printed only $n scene results"; }
[ "$(sort "$tmp/native.scenes" | uniq -d)" = "" ] || fail "native vkmark ran a scene twice"

start_server "$pv"
venus vkmark "${args[@]}" >"$tmp/venus.out" 2>&1
check_run venus "$tmp/venus.out" $? "Virtio-GPU Venus ($host_name)"
stop_server

grep -E '^\[[a-z0-9-]+\] |Score' "$tmp/venus.out"
scenes venus "$tmp/venus.out" "$tmp/venus.scenes"
if ! cmp -s "$tmp/native.scenes" "$tmp/venus.scenes"; then
    cat "$tmp/venus.out" >&2
    diff "$tmp/native.scenes" "$tmp/venus.scenes" | sed 's/^/  /' >&2
    fail "through Venus vkmark ran $(wc -l <"$tmp/venus.scenes") scenes (above: the difference), natively $n"
fi
echo "PASS $test_name: all $n default scenes ($duration s each) ran through Venus, each FPS > 0"

#!/usr/bin/env bash
# bench/llm: LLM inference on ggml's Vulkan backend (what llama.cpp uses),
# native vs PearVisor vs the peer, in one run on the same host driver
# (docs/STYLE.md §B.12):
#
#   native     llama-bench on the host's Vulkan driver (HOST_ICD) directly
#   peer       Mesa's Venus ICD over vtest to `virgl_test_server --venus
#              --no-virgl --multi-clients` (virglrenderer 1.3 in peer-sid)
#   pearvisor  Mesa's Venus ICD over vtest to `pearvisor gpu serve`
#
# llama-bench at its defaults (pp512 and tg128, --reps repetitions after its
# warm-up) on a model make-gguf writes (no download), printed as tok/s and
# ratios to native (higher is better; the goal is pearvisor >= 0.9x); then
# `test-backend-ops test -b Vulkan0` (every op the Vulkan backend supports,
# checked against the CPU backend) natively and through PearVisor, as
# pass/fail counts. ggml sees exactly one Vulkan device: VK_DRIVER_FILES names
# one ICD, GGML_VK_VISIBLE_DEVICES=0 lets ggml take it even when it is a CPU
# device (lavapipe), and -dev Vulkan0 makes llama-bench fail rather than fall
# back to the CPU; the device's name is printed.
#
#   bench/llm.sh [--shape tiny|1b | --model FILE] [--reps N] [--columns LIST|none]
#                [--ops LIST|all|none] [--ops-columns LIST] [--timeout S]
#                [--peer-timeout S] [--ops-timeout S] [--min-ratio X] [--out DIR]
#
# --ops takes test-backend-ops -o's list (exact op names or regexes, comma
# separated); --timeout bounds each llama-bench run (--peer-timeout the
# peer's, default the same), --ops-timeout each test-backend-ops run (a run
# cut short still reports the cases it finished).
#
# Here it runs itself inside the peer-sid environment (scripts/in-env.sh):
# build first (scripts/build.sh). On another machine a bundle runs it
# (scripts/device-run-llm.sh) and names the programs through the environment:
# PV_RUN (a launcher put before each program, e.g. BUNDLE/run), PEARVISOR,
# LLAMA_BENCH, TEST_BACKEND_OPS, MAKE_GGUF, PEER (program names or paths),
# VENUS_ICD and HOST_ICD (ICD files). Logs (each client's and server's
# output) go to --out. Exit: 0 measured; 1 the native or pearvisor column
# failed, or an op failed through PearVisor, or pv/native fell below
# --min-ratio; 2 usage.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${PV_LLM_IN_ENV:-}" ] && [ -z "${PV_RUN:-}" ]; then
    cd "$top"
    PV_LLM_IN_ENV=1 PEARVISOR_PROFILE=peer-sid exec scripts/in-env.sh bash bench/llm.sh "$@"
fi

shape=tiny model= reps=5 columns=native,peer,pearvisor ops=all ops_columns=native,pearvisor
timeout_s=600 peer_timeout= ops_timeout=600 min_ratio= out=
usage() { sed -n '/^#   bench\/llm.sh/,/^#  *\[--peer-timeout/p' "$0" | sed 's/^# *//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
    --shape) shape=$2 ;;
    --model) model=$2 ;;
    --reps) reps=$2 ;;
    --columns) columns=$2 ;;
    --ops) ops=$2 ;;
    --ops-columns) ops_columns=$2 ;;
    --timeout) timeout_s=$2 ;;
    --peer-timeout) peer_timeout=$2 ;;
    --ops-timeout) ops_timeout=$2 ;;
    --min-ratio) min_ratio=$2 ;;
    --out) out=$2 ;;
    *) usage ;;
    esac
    [ $# -ge 2 ] || usage
    shift 2
done

# The programs: in the environment, from this checkout's build and the system.
read -r -a run <<<"${PV_RUN:-}"
PEARVISOR=${PEARVISOR:-$top/build/src/cli/pearvisor}
MAKE_GGUF=${MAKE_GGUF:-$top/build/bench/llm/make-gguf}
LLAMA_BENCH=${LLAMA_BENCH:-llama-bench}
TEST_BACKEND_OPS=${TEST_BACKEND_OPS:-/usr/libexec/x86_64-linux-gnu/llama.cpp-tests/test-backend-ops}
PEER=${PEER:-virgl_test_server}
VENUS_ICD=${VENUS_ICD:-/usr/share/vulkan/icd.d/virtio_icd.json}
HOST_ICD=${HOST_ICD:-/usr/share/vulkan/icd.d/lvp_icd.json}
[ -f "$HOST_ICD" ] || { echo "llm: no host ICD $HOST_ICD" >&2; exit 1; }
[ -f "$VENUS_ICD" ] || { echo "llm: no Venus ICD $VENUS_ICD" >&2; exit 1; }
out=${out:-$(mktemp -d /tmp/pv-llm.XXXXXX)}
mkdir -p "$out"
sock_dir=$(mktemp -d /tmp/pv-llm-sock.XXXXXX)
server_pid=
stop_server() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
}
trap 'stop_server; rm -rf "$sock_dir"' EXIT
trap 'exit 130' INT TERM

if [ -z "$model" ]; then
    model=$out/model-$shape.gguf
    "${run[@]}" "$MAKE_GGUF" --shape "$shape" "$model" >"$out/make-gguf.log" 2>&1 ||
        { cat "$out/make-gguf.log" >&2; exit 1; }
    model_line=$(cat "$out/make-gguf.log")
else
    model_line="$model (given)"
fi

# start_server COLUMN: the column's vtest server on a fresh socket, on the
# host driver; sets $sock. 1 when it did not come up.
start_server() {
    local col=$1
    sock=$sock_dir/$col.sock
    rm -f "$sock"
    case $col in
    pearvisor) VK_DRIVER_FILES=$HOST_ICD "${run[@]}" "$PEARVISOR" gpu serve --socket "$sock" \
        >"$out/server-$col.log" 2>&1 & ;;
    peer) VK_DRIVER_FILES=$HOST_ICD "${run[@]}" "$PEER" --venus --no-virgl --multi-clients \
        --socket-path "$sock" >"$out/server-$col.log" 2>&1 & ;;
    esac
    server_pid=$!
    for _ in $(seq 100); do
        [ -S "$sock" ] && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    stop_server
    return 1
}

# client COLUMN SECONDS PROGRAM ARGS...: runs a client on the column's
# device, killed after SECONDS (exit 124 or 137 then).
client() {
    local col=$1 secs=$2
    shift 2
    if [ "$col" = native ]; then
        timeout -k 5 "$secs" env VK_DRIVER_FILES="$HOST_ICD" GGML_VK_VISIBLE_DEVICES=0 \
            "${run[@]}" "$@"
    else
        timeout -k 5 "$secs" env VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" \
            VK_DRIVER_FILES="$VENUS_ICD" GGML_VK_VISIBLE_DEVICES=0 "${run[@]}" "$@"
    fi
}

# with_column COLUMN FUNCTION STATUS: FUNCTION COLUMN with the column's
# server up; STATUS[COLUMN] (an associative array's name) is "noserver" when
# the server did not start, otherwise FUNCTION sets it.
with_column() {
    local col=$1 fn=$2
    local -n st=$3
    if [ "$col" != native ] && ! start_server "$col"; then
        st[$col]=noserver
        return 0
    fi
    "$fn" "$col"
    stop_server
}

# One number from a llama-bench JSON line: jget LINE KEY.
jget() { sed -n "s/.*\"$2\": *\([-0-9.e+]*\).*/\1/p" <<<"$1"; }

declare -A pp_ts pp_sd tg_ts tg_sd status device
bench_column() {
    local col=$1 log=$out/llama-bench-$col.log rc=0 secs=$timeout_s
    [ "$col" = peer ] && secs=${peer_timeout:-$timeout_s}
    client "$col" "$secs" "$LLAMA_BENCH" -m "$model" -r "$reps" -dev Vulkan0 -o jsonl \
        >"$out/llama-bench-$col.jsonl" 2>"$log" || rc=$?
    # The whole line: the name, then what ggml found (fp16, matrix cores, ...).
    device[$col]=$(sed -n 's/^ggml_vulkan: 0 = //p' "$log" | head -n1)
    if [ $rc = 124 ] || [ $rc = 137 ]; then status[$col]=hangs; return 0; fi
    [ $rc = 0 ] || { status[$col]=fails; return 0; }
    local line
    while read -r line; do
        case $(jget "$line" n_prompt),$(jget "$line" n_gen) in
        0,*) tg_ts[$col]=$(jget "$line" avg_ts) tg_sd[$col]=$(jget "$line" stddev_ts)
            tg_case=tg$(jget "$line" n_gen) ;;
        *,0) pp_ts[$col]=$(jget "$line" avg_ts) pp_sd[$col]=$(jget "$line" stddev_ts)
            pp_case=pp$(jget "$line" n_prompt) ;;
        esac
    done <"$out/llama-bench-$col.jsonl"
    status[$col]=fails
    [ -n "${pp_ts[$col]:-}" ] && [ -n "${tg_ts[$col]:-}" ] && status[$col]=ok
    return 0
}

declare -A ops_passed ops_total ops_failed ops_status ops_secs
ops_column() {
    local col=$1 log=$out/test-backend-ops-$col.log rc=0 t0 t1
    local args=(test -b Vulkan0)
    [ "$ops" = all ] || args+=(-o "$ops")
    t0=$(date +%s.%N)
    client "$col" "$ops_timeout" "$TEST_BACKEND_OPS" "${args[@]}" >"$log" 2>&1 || rc=$?
    t1=$(date +%s.%N)
    ops_secs[$col]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')
    # Colours off; every case prints "NAME: OK" or "NAME: FAIL"; the backend's
    # summary is "N/M tests passed" and "Backend Vulkan0: OK|FAIL".
    sed -i 's/\x1b\[[0-9;]*m//g' "$log"
    ops_failed[$col]=$(grep -c ': FAIL$' "$log" || true)
    local summary
    summary=$(sed -n 's|^ *\([0-9]*\)/\([0-9]*\) tests passed$|\1 \2|p' "$log" | head -n1)
    if [ -n "$summary" ]; then
        ops_passed[$col]=${summary% *} ops_total[$col]=${summary#* }
    else
        ops_passed[$col]=$(grep -c ': OK$' "$log" || true)
        ops_total[$col]=$((ops_passed[$col] + ops_failed[$col]))
    fi
    if [ $rc = 124 ] || [ $rc = 137 ]; then ops_status[$col]=timeout
    elif grep -q '^ *Backend Vulkan0: OK' "$log"; then ops_status[$col]=OK
    elif grep -q '^ *Backend Vulkan0: FAIL' "$log"; then ops_status[$col]=FAIL
    else ops_status[$col]="error($rc)"; fi
}

cols=()
[ "$columns" = none ] || IFS=, read -r -a cols <<<"$columns"
for col in "${cols[@]}"; do
    case $col in native | peer | pearvisor) ;; *) usage ;; esac
    echo "llm: llama-bench, $col ..." >&2
    with_column "$col" bench_column status
done
ocols=()
if [ "$ops" != none ]; then
    IFS=, read -r -a ocols <<<"$ops_columns"
    for col in "${ocols[@]}"; do
        echo "llm: test-backend-ops, $col ..." >&2
        with_column "$col" ops_column ops_status
    done
fi

# The table. A column that did not measure shows its status instead.
cell() { # cell COL ts sd
    if [ "${status[$1]:-}" != ok ]; then printf '%16s' "${status[$1]:-(not run)}"; return; fi
    awk -v t="$2" -v s="$3" 'BEGIN { printf "%9.1f ±%4.1f%%", t, (t > 0 ? 100 * s / t : 0) }'
}
ratio() { # ratio COL ts_col ts_native
    if [ "${status[$1]:-}" != ok ] || [ "${status[native]:-}" != ok ]; then printf '%11s' -; return; fi
    awk -v a="$2" -v b="$3" 'BEGIN { printf "%10.2fx", (b > 0 ? a / b : 0) }'
}
[ ${#cols[@]} = 0 ] || {
echo
echo "llama-bench tok/s (mean ± stddev of $reps), higher is better; ratio = column / native"
printf '%-8s %16s %16s %16s %11s %11s\n' case native peer pearvisor pv/native peer/native
for c in pp tg; do
    if [ $c = pp ]; then name=${pp_case:-pp512}; else name=${tg_case:-tg128}; fi
    row=$(printf '%-8s' "$name")
    for col in native peer pearvisor; do
        if [ $c = pp ]; then row+=" $(cell $col "${pp_ts[$col]:-0}" "${pp_sd[$col]:-0}")"
        else row+=" $(cell $col "${tg_ts[$col]:-0}" "${tg_sd[$col]:-0}")"; fi
    done
    for col in pearvisor peer; do
        if [ $c = pp ]; then row+=" $(ratio $col "${pp_ts[$col]:-0}" "${pp_ts[native]:-0}")"
        else row+=" $(ratio $col "${tg_ts[$col]:-0}" "${tg_ts[native]:-0}")"; fi
    done
    echo "$row"
done
}
if [ "$ops" != none ]; then
    echo
    echo "test-backend-ops test -b Vulkan0 (each case against the CPU backend), ops: $ops"
    printf '%-10s %14s %7s %10s %8s\n' column passed/total failed backend seconds
    for col in "${ocols[@]}"; do
        printf '%-10s %14s %7s %10s %8s\n' "$col" "${ops_passed[$col]:-0}/${ops_total[$col]:-0}" \
            "${ops_failed[$col]:-0}" "${ops_status[$col]}" "${ops_secs[$col]:-}"
        { grep ': FAIL$' "$out/test-backend-ops-$col.log" || true; } | head -n 5 | sed 's/^ */    /'
    done
fi
echo
for col in "${cols[@]}"; do
    echo "device ($col, GGML_VK_VISIBLE_DEVICES=0, -dev Vulkan0): ${device[$col]:-?}"
done
for col in "${ocols[@]}"; do
    dev=$(sed -n 's/^ggml_vulkan: 0 = //p' "$out/test-backend-ops-$col.log" 2>/dev/null | head -n1 || true)
    echo "device (test-backend-ops, $col): ${dev:-?}"
done
echo "host ICD: $HOST_ICD  Venus ICD: $VENUS_ICD"
echo "model: $model_line"
loaded=$(grep -h '^load_backend: loaded Vulkan' "$out"/*.log 2>/dev/null | head -n1 || true)
echo "ggml: ${loaded:-no Vulkan backend loaded}"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')  host: $(uname -n) ($(nproc) CPUs)  logs: $out"

rc=0
[ "${status[native]:-ok}" = ok ] || rc=1
[ "${status[pearvisor]:-ok}" = ok ] || rc=1
[ "${ops_status[pearvisor]:-OK}" = OK ] || rc=1
if [ -n "$min_ratio" ] && [ "${status[pearvisor]:-}" = ok ] && [ "${status[native]:-}" = ok ]; then
    for c in pp tg; do
        if [ $c = pp ]; then a=${pp_ts[pearvisor]} b=${pp_ts[native]}; else a=${tg_ts[pearvisor]} b=${tg_ts[native]}; fi
        if awk -v a="$a" -v b="$b" -v m="$min_ratio" 'BEGIN { exit !(a < m * b) }'; then
            echo "llm: pearvisor $c below ${min_ratio}x native" >&2
            rc=1
        fi
    done
fi
exit $rc

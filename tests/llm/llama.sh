#!/usr/bin/env bash
# llm: llama.cpp on ggml's Vulkan backend through `pearvisor gpu serve`
# (Mesa's Venus ICD over vtest), on models make-gguf writes:
#  1. for Q8_0 and F16 weights, llama-bench loads the tiny model through
#     PearVisor, runs a 64-token prompt and 8 generated tokens at a positive
#     rate, and reports the parameter count make-gguf wrote (llama.cpp
#     counts them itself from the tensor infos);
#  2. test-backend-ops (each case against ggml's CPU backend) passes through
#     PearVisor for every ADD and RMS_NORM case and for Q8_0 matrix-vector
#     products (what token generation runs).
# Needs llama.cpp: runs in the peer-sid environment (scripts/test.sh does
# that), skips (77) elsewhere.
#
#   llama.sh PEARVISOR MAKE_GGUF
. "$(dirname "$0")/../vtest/lib.sh"
pv=${1:?usage: llama.sh PEARVISOR MAKE_GGUF}
make_gguf=${2:?usage: llama.sh PEARVISOR MAKE_GGUF}
ops_tool=/usr/libexec/x86_64-linux-gnu/llama.cpp-tests/test-backend-ops
command -v llama-bench >/dev/null || skip "llama-bench missing: run in the peer-sid environment"
[ -x "$ops_tool" ] || skip "test-backend-ops missing: run in the peer-sid environment"
need_icds
need_exe "$make_gguf"

start_server "$pv"
# ggml takes a CPU-type Vulkan device (lavapipe, and Venus wrapping it) only
# when asked by index.
export GGML_VK_VISIBLE_DEVICES=0

for type in q8_0 f16; do
    rc=0
    model=$tmp/tiny-$type.gguf
    "$make_gguf" --shape tiny --type "$type" "$model" >"$tmp/make-$type.out" || rc=$?
    [ "${rc:-0}" = 0 ] || fail "make-gguf --type $type exited $rc"
    params=$(sed -n 's/.* params=\([0-9]*\) .*/\1/p' "$tmp/make-$type.out")
    [ -n "$params" ] || fail "make-gguf printed no parameter count: $(cat "$tmp/make-$type.out")"
    venus llama-bench -m "$model" -r 1 -p 64 -n 8 -dev Vulkan0 -o jsonl \
        >"$tmp/bench-$type.jsonl" 2>"$tmp/bench-$type.err" || rc=$?
    if [ "${rc:-0}" != 0 ]; then
        tail -n 20 "$tmp/bench-$type.err" >&2
        fail "llama-bench ($type) through PearVisor exited $rc"
    fi
    grep -q '^ggml_vulkan: 0 = Virtio-GPU Venus' "$tmp/bench-$type.err" ||
        fail "llama-bench ($type) did not run on the Venus device"
    n=$(grep -c '"avg_ts"' "$tmp/bench-$type.jsonl")
    [ "$n" = 2 ] || fail "llama-bench ($type): $n results, expected pp64 and tg8"
    counted=$(sed -n 's/.*"model_n_params": \([0-9]*\).*/\1/p' "$tmp/bench-$type.jsonl" | sort -u)
    [ "$counted" = "$params" ] ||
        fail "llama.cpp counts ${counted:-no} parameters in the $type model, make-gguf wrote $params"
    rates=$(sed -n 's/.*"avg_ts": \([0-9.e+]*\).*/\1/p' "$tmp/bench-$type.jsonl" | tr '\n' ' ')
    for r in $rates; do
        awk -v r="$r" 'BEGIN { exit !(r > 0) }' || fail "llama-bench ($type): a rate of $r tok/s"
    done
    note "$type: $params parameters, pp64 and tg8 through PearVisor at $rates tok/s"
done

# check_ops LABEL ARGS...: one test-backend-ops run through PearVisor; every
# case it runs must pass, and at least one must run.
check_ops() {
    local label=$1 log=$tmp/ops-$1.log passed total rc=0
    shift
    venus "$ops_tool" test -b Vulkan0 "$@" >"$log" 2>&1 || rc=$?
    sed -i 's/\x1b\[[0-9;]*m//g' "$log"
    if [ $rc != 0 ]; then
        grep -E 'FAIL|error' "$log" | head -n 20 >&2
        fail "test-backend-ops ($label) through PearVisor exited $rc"
    fi
    read -r passed total < <(sed -n 's|^ *\([0-9]*\)/\([0-9]*\) tests passed$|\1 \2|p' "$log" | head -n 1)
    [ -n "${total:-}" ] && [ "$total" -gt 0 ] || fail "test-backend-ops ($label): no cases ran"
    [ "$passed" = "$total" ] || fail "test-backend-ops ($label): $passed of $total passed"
    grep -q '^ *Backend Vulkan0: OK' "$log" || fail "test-backend-ops ($label): backend not OK"
    note "test-backend-ops $label: $passed/$total passed through PearVisor"
}
check_ops add-rms-norm -o ADD,RMS_NORM
check_ops mul-mat-q8_0 -o MUL_MAT -p 'type_a=q8_0,type_b=f32,m=16,n=[0-9],k=256,bs=\[1,1\]'

server_alive || fail "the server died"
stop_server
echo "PASS $test_name"

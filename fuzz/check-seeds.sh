#!/usr/bin/env bash
# fuzz-regress: the seeds captured from real clients (fuzz/corpus/renderer_api/cap-*)
# still replay as those clients ran, deep into the renderer, not just past
# the parser: through the replayer, each must leave its context alive (not
# fatal) after creating an instance and a device, and together they must
# create compute and graphics pipelines, allocate memory and submit to a
# queue. A harness, converter or renderer change that breaks replay (the
# context goes fatal at the first unexpected command) makes the seeds
# shallow without failing anything else.
#
#   check-seeds.sh REPLAYER CORPUS_DIR
set -u
replayer=${1:?usage: check-seeds.sh REPLAYER CORPUS_DIR}
dir=${2:?usage: check-seeds.sh REPLAYER CORPUS_DIR}
seeds=("$dir"/cap-*)
[ -e "${seeds[0]}" ] || { echo "FAIL check-seeds: no cap-* seeds in $dir"; exit 1; }
out=$(PV_FUZZ_REPORT=1 "$replayer" "${seeds[@]}" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "FAIL check-seeds: the replayer exited $rc"; exit 1; }
# One line per seed: "PATH: ops N contexts N fatal N commands_total N vkCreateInstance N ...".
echo "$out" | awk -v n="${#seeds[@]}" '
    / ops [0-9]+ contexts / {
        seen++
        for (i = 2; i < NF; i += 2) v[$i] = $(i + 1)
        if (v["fatal"] != 0 || v["vkCreateInstance"] < 1 || v["vkCreateDevice"] < 1) {
            print "FAIL check-seeds: " $1 " fatal " v["fatal"] ", instances " \
                v["vkCreateInstance"] ", devices " v["vkCreateDevice"]
            bad = 1
        }
        for (k in v) total[k] += v[k]
    }
    END {
        if (seen != n) { print "FAIL check-seeds: " seen " report lines for " n " seeds"; exit 1 }
        split("vkCreateComputePipelines vkCreateGraphicsPipelines vkAllocateMemory vkQueueSubmit", need, " ")
        for (i in need)
            if (total[need[i]] < 1) { print "FAIL check-seeds: no seed reaches " need[i]; bad = 1 }
        if (bad) exit 1
        print "PASS check-seeds: " n " seeds, " total["commands_total"] " commands, none fatal"
    }'

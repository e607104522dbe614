#!/usr/bin/env bash
# Sorts fuzz findings: replays each one and says whose code it broke in.
#
#   triage.sh FUZZER ARTIFACT...
#
# One line per artifact:
#   <file> <class> <what> at <where>
# class: "ours" when the first frame of the report outside libc and the
# sanitizer runtime is in the fuzz binary (our code, or the harness's own
# checks, which abort in it), "host" when it is in another library (the
# host Vulkan driver: lavapipe, its LLVM), "gone" when the replay no longer
# fails (a race, or a finding fixed since). The renderer forwards the
# Vulkan usage a client asks for, invalid or not, to the host driver, and
# lavapipe does not check it (docs/threat-model.md, "Known gaps"): a copy
# region past its buffer crashes inside lavapipe. Those are "host"; they
# are reported, and they are not the renderer's bugs to fix one by one.
# The last line counts them: "triage: N ours, N host, N gone". With
# PV_TRIAGE_SECONDS set, artifacts left when that time is up are listed as
# "untried" and counted as ours (a finding nobody looked at is not cleared).
set -uo pipefail
read -r -a fuzzer <<<"${1:?usage: triage.sh FUZZER ARTIFACT...}"
shift
ours=0 host=0 gone=0
end=$(($(date +%s) + ${PV_TRIAGE_SECONDS:-100000}))
for a in "$@"; do
    [ -f "$a" ] || continue
    if [ "$(date +%s)" -ge "$end" ]; then
        echo "$(basename "$a") untried (PV_TRIAGE_SECONDS ran out)"
        ours=$((ours + 1))
        continue
    fi
    out=$(ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=1:stack_trace_format=\"#%n %m %f\"" \
        timeout -k 5 60 "${fuzzer[@]}" -runs=1 -timeout=10 "$a" 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
        echo "$(basename "$a") gone replays cleanly"
        gone=$((gone + 1))
        continue
    fi
    verdict=$(awk '
        function skip(mod, fn) {
            if (mod ~ /\/(libc|libm|ld-linux[^\/]*)\.so[^\/]*$/) return 1
            return fn ~ /^(__interceptor_|__asan|__sanitizer|__ubsan|__lsan|__interception)/ ||
                fn ~ /^(memcpy|memmove|memset|memcmp|strlen|strnlen|malloc|calloc|realloc|free|abort|raise)$/ ||
                fn ~ /^(operator new|operator delete|fuzzer::)/
        }
        !what && /ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)/ {
            what = $0; sub(/.*ERROR: /, "", what); sub(/ on .*| \(pc.*/, "", what)
        }
        !what && /runtime error:/ { what = "runtime error"; where = $1; cls = "ours" }
        !what && /^renderer_api: / { what = $0 }
        what && !cls && /^#[0-9]+ / {
            mod = $2; fn = $3
            for (i = 4; i <= NF; i++) fn = fn " " $i
            if (skip(mod, fn)) next
            n = split(mod, p, "/"); base = p[n]
            cls = base ~ /^fuzz-/ ? "ours" : "host"
            where = (fn == "<null>" ? "" : fn " ") "(" base ")"
        }
        END {
            if (!what) what = "failed"
            if (!cls) { cls = "ours"; where = "no stack" }
            print cls "\t" what " at " where
        }' <<<"$out")
    cls=${verdict%%$'\t'*}
    echo "$(basename "$a") $cls ${verdict#*$'\t'}"
    if [ "$cls" = host ]; then host=$((host + 1)); else ours=$((ours + 1)); fi
done
echo "triage: $ours ours, $host host, $gone gone"

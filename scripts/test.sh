#!/usr/bin/env bash
# The one test command: builds PearVisor in its Debian 13 environment and runs
# every test suite twice, in a plain build (build/) and under ASan+UBSan
# (build-asan/), then prints "N passed, N failed[, N skipped]" over all.
# Between the two, a build with POSIX shared memory (build-posix/, -Dshm=posix:
# the macOS seam) runs the unit and vtest suites, and a plain build in the
# next client generation's environment
# (build-bpo/, PEARVISOR_PROFILE=client-bpo: Mesa 26 and QEMU 11.1 from
# trixie-backports) runs the suites that meet them: vtest, vm, gpu-vm and
# the door's exports. Then the plain build's server runs the llm suite
# (llama.cpp on ggml's Vulkan backend, from Debian sid) in the peer-sid
# environment, a ThreadSanitizer build (build-tsan/) runs the suite 'races',
# and every fuzz target runs for a bounded time.
#
#   sudo scripts/test.sh [--quick]
#
#   --quick   plain build only (no client-bpo or ASan+UBSan build), for development
#
# Needs root (debootstrap and chroot). Installs host packages when missing
# (scripts/host-deps.sh); the environment is cached by scripts/rootfs.sh.
# With CI=true a skipped test counts as a failure (CI installs everything,
# docs/STYLE.md §B.10). PEARVISOR_BUILD_DIR moves build/ (and build-asan/,
# build-bpo/, build-tsan/, build-posix/ to DIR-asan, DIR-bpo, DIR-tsan,
# DIR-posix). PEARVISOR_NATIVE=1 (a Debian 13 host, no chroot) skips the
# client-bpo and peer-sid passes. Exit status: 0 only when nothing failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
cd "$top"

quick=0
for arg in "$@"; do
    case $arg in
        --quick) quick=1 ;;
        -h | --help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "test.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
    esac
done
ci=0
case ${CI:-} in true | 1 | yes) ci=1 ;; esac

say() { echo "==> $*" >&2; }

[ "$(id -u)" = 0 ] || { echo "test.sh: needs root (debootstrap, chroot): sudo $0 $*" >&2; exit 1; }

if [ "${PEARVISOR_NATIVE:-0}" != 1 ]; then
    "$here/host-deps.sh" || { echo "test.sh: installing host packages failed" >&2; exit 1; }
    say "Debian 13 environment (scripts/rootfs.sh client; cached after the first build)"
    "$here/rootfs.sh" client >/dev/null || { echo "test.sh: building the environment failed" >&2; exit 1; }
    if [ $quick = 0 ]; then
        say "Debian 13 with trixie-backports (scripts/rootfs.sh client-bpo; cached after the first build)"
        "$here/rootfs.sh" client-bpo >/dev/null ||
            { echo "test.sh: building the client-bpo environment failed" >&2; exit 1; }
        say "Debian 13 with llama.cpp and Mesa from sid (scripts/rootfs.sh peer-sid; cached after the first build)"
        "$here/rootfs.sh" peer-sid >/dev/null ||
            { echo "test.sh: building the peer-sid environment failed" >&2; exit 1; }
    fi
fi

# The ARM64 guest (tests/vm/arm64.sh, tests/gpu-vm/venus-arm64.sh): its
# foreign root runs apt under qemu-user, about 13 minutes cold on 2 cores,
# too long for one test's timeout; cached (by recipe) afterwards, then this
# takes a second.
say "ARM64 guest image (guest/build-image.sh --arch arm64 debian-13; cached after the first build)"
t_arm64=$SECONDS
"$here/in-env.sh" "$top/guest/build-image.sh" --arch arm64 debian-13 >/dev/null ||
    { echo "test.sh: building the arm64 guest image failed" >&2; exit 1; }
say "ARM64 guest image: $((SECONDS - t_arm64)) s"

passed=0 failed=0 skipped=0
failures=()

# count_results BUILD_DIR LABEL: add the results of its last meson test run.
count_results() {
    local log=$1/meson-logs/testlog.json counts p f s
    if [ ! -f "$log" ]; then
        failed=$((failed + 1))
        failures+=("$2: meson test wrote no results")
        return
    fi
    counts=$("$here/in-env.sh" python3 - "$log" <<'EOF'
import json, sys
p = f = s = 0
bad = []
with open(sys.argv[1]) as fh:
    for line in fh:
        if not line.strip():
            continue
        t = json.loads(line)
        r = t.get("result", "")
        if r in ("OK", "EXPECTEDFAIL"):
            p += 1
        elif r == "SKIP":
            s += 1
            bad.append("SKIP:" + t["name"].replace(" ", ""))
        else:
            f += 1
            bad.append(r + ":" + t["name"].replace(" ", ""))
print(p, f, s, " ".join(bad))
EOF
    ) || { failed=$((failed + 1)); failures+=("$2: cannot read $log"); return; }
    read -r p f s rest <<<"$counts"
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
    for item in $rest; do failures+=("$2: ${item%%:*} ${item#*:}"); done
    say "$2: $p passed, $f failed, $s skipped"
}

# run_build DIR LABEL [MESON_OPTIONS...]: configure, build and test one tree.
run_build() {
    local dir=$1 label=$2
    shift 2
    say "$label: configure and build $dir"
    if [ -f "$dir/build.ninja" ]; then
        "$here/in-env.sh" meson configure "$dir" "$@" >/dev/null
    else
        "$here/in-env.sh" meson setup "$dir" "$@"
    fi || { failed=$((failed + 1)); failures+=("$label: meson setup failed"); return; }
    "$here/in-env.sh" meson compile -C "$dir" ||
        { failed=$((failed + 1)); failures+=("$label: build failed"); return; }
    say "$label: meson test"
    rm -f "$dir/meson-logs/testlog.json"
    "$here/in-env.sh" meson test -C "$dir" --print-errorlogs "${test_args[@]}"
    count_results "$dir" "$label"
}

bdir=${PEARVISOR_BUILD_DIR:-build}
# llm needs llama.cpp, which only the peer-sid environment has (below).
test_args=(--no-suite llm)
run_build "$bdir" plain

if [ $quick = 0 ] && [ "${PEARVISOR_NATIVE:-0}" != 1 ] && [ -x "$bdir/src/cli/pearvisor" ]; then
    # The LLM workload: llama.cpp 0.7 and Mesa 26.2's Venus driver from sid
    # against the plain build's server (built here, run on sid's libraries).
    t_sid=$SECONDS
    say "peer-sid: meson test --suite llm"
    rm -f "$bdir/meson-logs/testlog.json"
    PEARVISOR_PROFILE=peer-sid "$here/in-env.sh" meson test -C "$bdir" --no-rebuild --print-errorlogs \
        --suite llm
    count_results "$bdir" peer-sid
    say "peer-sid: $((SECONDS - t_sid)) s"
fi

if [ $quick = 0 ]; then
    # The portable shared-memory seam as macOS will use it (-Dshm=posix:
    # shm_open with a random name instead of memfd_create, src/common/shm.c):
    # the shm unit test and the whole vtest suite, whose clients map every
    # ring, reply stream and host-visible memory through it.
    t_posix=$SECONDS
    test_args=(--suite vtest --suite unit)
    run_build "$bdir-posix" posix-shm -Dshm=posix
    say "posix-shm: $((SECONDS - t_posix)) s"
fi

if [ $quick = 0 ] && [ "${PEARVISOR_NATIVE:-0}" != 1 ]; then
    # The next client generation: Mesa 26's Venus driver (it negotiates down
    # to what the renderer offers) against our server on lavapipe 26, and
    # QEMU 11.1 driving VMs and loading the door (venus.sh's initramfs guest
    # runs this environment's Mesa 26). The guest image is the plain pass's.
    t_bpo=$SECONDS
    export PEARVISOR_PROFILE=client-bpo
    test_args=(--suite vtest --suite vm --suite gpu-vm --suite gpu-door)
    run_build "$bdir-bpo" client-bpo
    unset PEARVISOR_PROFILE
    say "client-bpo: $((SECONDS - t_bpo)) s"
fi

if [ $quick = 0 ]; then
    # UBSan errors and leaks fail the test; sanitizer reports go to the logs.
    export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:print_summary=1
    export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1
    # Every suite of our own code: the renderer, the VM manager with real
    # guests (vm: pearvisor under ASan and LSan, QEMU as it is), and the GPU
    # door (front door 2) inside an unmodified QEMU running a guest's Venus
    # workload and a malformed stream (gpu-door: venus.sh preloads the ASan
    # runtime into QEMU). gpu-vm's vm-venus runs in the plain build only: the
    # VM manager daemonizes QEMU, and a daemonizing QEMU with the ASan
    # runtime preloaded hangs at start. install (the exported API, the
    # .deb in a clean Debian 13 root) runs in the plain build only: it
    # builds its own /usr tree, never instrumented.
    test_args=(--timeout-multiplier 2 --suite unit --suite codegen --suite vtest --suite fuzz-regress
        --suite vm --suite gpu-door)
    run_build "$bdir-asan" asan+ubsan -Db_sanitize=address,undefined
fi

if [ $quick = 0 ]; then
    # ThreadSanitizer on the tests that race the renderer's threads against
    # each other (suite 'races': the hostile cases, compute, render, timeline,
    # shutdown). A report makes the instrumented process exit 66, which the
    # tests treat as a failure. tests/tsan.supp leaves out what TSan cannot
    # judge: races inside the uninstrumented host driver and Venus client.
    export TSAN_OPTIONS="suppressions=$top/tests/tsan.supp"
    test_args=(--timeout-multiplier 3 --suite races)
    run_build "$bdir-tsan" tsan -Db_sanitize=thread -Db_lundef=false
    unset TSAN_OPTIONS
fi

if [ $quick = 0 ]; then
    # Every decoder's fuzz target, for a bounded time, from the kept corpus.
    say "fuzz: ${PEARVISOR_FUZZ_SECONDS:-60} s per target (scripts/fuzz.sh)"
    if "$here/fuzz.sh" "${PEARVISOR_FUZZ_SECONDS:-60}"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("fuzz: a finding in our code; reproducers in ${PEARVISOR_FUZZ_DIR:-build-fuzz}/runs/*/artifacts")
    fi
fi

if [ $ci = 1 ] && [ $skipped -gt 0 ]; then
    say "CI=true: $skipped skipped test(s) count as failures"
    failed=$((failed + skipped))
    skipped=0
fi
for f in "${failures[@]}"; do echo "    $f" >&2; done
summary="$passed passed, $failed failed"
[ $skipped -gt 0 ] && summary+=", $skipped skipped"
echo "$summary"
[ $failed -eq 0 ]

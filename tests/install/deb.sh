#!/usr/bin/env bash
# install: builds the .deb of this tree (scripts/package-deb.sh) and installs
# it into a clean Debian 13 root filesystem (scripts/rootfs.sh base: the
# client side only, no PearVisor build dependencies), copied per run so the
# cached tree stays clean; in-root.sh checks the installed system there.
# Also: the packaged guest recipe is byte for byte the source tree's, so an
# installed pearvisor computes the same image cache key as a checkout.
#
#   deb.sh SOURCE_ROOT WORK_DIR VERSION     (in the environment, as root)
set -uo pipefail
src=${1:?usage: deb.sh SOURCE_ROOT WORK_DIR VERSION}
work=${2:?usage: deb.sh SOURCE_ROOT WORK_DIR VERSION}
version=${3:?usage: deb.sh SOURCE_ROOT WORK_DIR VERSION}
tmp=
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
cleanup() {
    local r p
    [ -n "$tmp" ] || return 0
    # Anything still running in the copy (in-root.sh stops its server): by pid.
    for r in /proc/[0-9]*/root; do
        case "$(readlink "$r" 2>/dev/null)" in
            "$tmp/root" | "$tmp/root/"*) p=${r#/proc/}; kill -KILL "${p%/root}" 2>/dev/null ;;
        esac
    done
    rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || skip "needs root (chroot into a root filesystem)"
for tool in dpkg-deb unshare chroot; do command -v $tool >/dev/null || skip "$tool missing"; done
t0=$SECONDS
base=$("$src/scripts/rootfs.sh" base) || fail "scripts/rootfs.sh base failed"
mkdir -p "$work"
deb=$(PEARVISOR_NATIVE=1 "$src/scripts/package-deb.sh" --build-dir "$work/build" --out "$work") ||
    fail "scripts/package-deb.sh failed"
want=pearvisor_${version}_$(dpkg --print-architecture).deb
[ "$(basename "$deb")" = "$want" ] || fail "package-deb.sh made '$(basename "$deb")', want '$want'"
echo "# $want built ($((SECONDS - t0)) s so far)" >&2

tmp=$(mktemp -d /tmp/pv-install.XXXXXX)
dpkg-deb -x "$deb" "$tmp/x"
n=0
while IFS= read -r f; do
    cmp -s "$tmp/x/usr/share/pearvisor/$f" "$src/$f" || fail "packaged $f differs from the source tree's"
    n=$((n + 1))
done < <(cd "$tmp/x/usr/share/pearvisor" && find . -type f | sed 's|^\./||')
[ -x "$tmp/x/usr/share/pearvisor/guest/build-image.sh" ] || fail "the package has no guest/build-image.sh"
echo "# $n recipe files packaged unchanged" >&2

cp -a "$base" "$tmp/root"
rm -f "$tmp/root/.pearvisor-complete"
cp "$deb" "$src/tests/install/in-root.sh" "$tmp/root/tmp/"
# A private mount namespace, so /proc and /dev in the copy vanish with it.
# Inside PearVisor's environment / is a chroot, not a mount point, and the
# namespace is private already (scripts/in-env.sh); on a host, make it so.
# shellcheck disable=SC2016 # expanded by the inner shell
timeout -k 10 600 unshare -m --propagation unchanged bash -c '
    set -e
    mount --make-rprivate / 2>/dev/null || true
    mount -t proc proc "$1/proc"
    mount --rbind /dev "$1/dev"
    exec chroot "$1" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/root \
        /bin/bash /tmp/in-root.sh "/tmp/$2" "$3"' deb-test "$tmp/root" "$want" "$version"
rc=$?
[ $rc -eq 0 ] || fail "the installed package failed its checks in the clean root (exit $rc)"
echo "PASS: $want in a clean Debian 13 root ($((SECONDS - t0)) s)"

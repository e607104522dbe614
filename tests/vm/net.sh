#!/usr/bin/env bash
# Networking (QEMU user networking): the guest fetches a page from a TCP
# server on the host's loopback (10.0.2.2 in the guest), and a --port
# forward reaches a server in the guest.
#
#   net.sh PEARVISOR
. "$(dirname "$0")/lib.sh"
vm_setup "$@"

name=net
token=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
mkdir -p "$tmp/www"
echo "host-$token" >"$tmp/www/page.txt"
host_port=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$host_port" >"$tmp/http.log" 2>&1 &
bg_pids=$!
fwd_port=$(free_port)

"$pv" create $name --cpus 1 --memory 768M --port "$fwd_port:8080" >/dev/null
"$pv" start -q $name >/dev/null

# Guest -> host: the server answered before the guest asks (it is listening
# by the time the VM has booted; python binds before serving).
got=$("$pv" exec $name -- busybox wget -q -O - "http://10.0.2.2:$host_port/page.txt") ||
    vm_fail "guest could not fetch from the host (log: $(cat "$tmp/http.log"))"
expect_eq "guest fetched the host's page" "$got" "host-$token"

# Host -> guest through the forward: busybox httpd daemonizes, so exec returns.
"$pv" exec $name -- sh -c "mkdir -p /srv/www && echo guest-$token >/srv/www/index.html &&
    busybox httpd -p 8080 -h /srv/www" || vm_fail "could not start httpd in the guest"
got=$(python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=30).read().decode().strip())' \
    "http://127.0.0.1:$fwd_port/") || vm_fail "the port forward did not reach the guest"
expect_eq "host fetched the guest's page" "$got" "guest-$token"

"$pv" stop $name >/dev/null || vm_fail "stop failed"
vm_pass

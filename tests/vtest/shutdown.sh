#!/usr/bin/env bash
# vtest: `pearvisor gpu serve` stopped by SIGTERM the moment its socket
# appears, ROUNDS times (default 20), half of them with a stats socket too.
# Every time the server must take its clean shutdown path: exit 0 (never
# killed by the signal: its handlers exist before its socket), both sockets
# removed, no sanitizer report (LSan checks leaks at that exit under ASan).
#
#   shutdown.sh PEARVISOR [ROUNDS]
. "$(dirname "$0")/lib.sh"
pv=${1:?usage: shutdown.sh PEARVISOR [ROUNDS]}
rounds=${2:-20}
need_icds

for r in $(seq 1 "$rounds"); do
    stats=
    if [ $((r % 2)) -eq 0 ]; then
        stats=$tmp/stats-$r.sock
        start_server "$pv" --stats-socket "$stats"
    else
        start_server "$pv"
    fi
    stop_server
    [ -n "$stats" ] && [ -e "$stats" ] && fail "round $r: the stats socket $stats was left behind"
done
echo "PASS $test_name: $rounds servers stopped by SIGTERM as their socket appeared, each exit 0, sockets removed"

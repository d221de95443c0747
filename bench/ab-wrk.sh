#!/bin/bash
# A/B of two sluice builds and HAProxy, as in ../shared/bench/METHOD.md: nginx origin
# and wrk on CPU 1, the proxy on CPU 0 with one worker and shipped defaults, 3
# alternating rounds, CPU per request from /proc (proxy-cpu.sh).
# usage: OLD=path/to/old/sluice NEW=path/to/new/sluice bench/ab-wrk.sh
# Needs /tmp/ab prepared: www/1k, www/1m, origin.conf and haproxy.cfg from
# ../shared/bench (with @WORKDIR@ = /tmp/ab) and sluice.toml (bench/ROUND2-AB.md).
set -u
OLD=${OLD:?path of the old sluice binary}; NEW=${NEW:?path of the new sluice binary}
cd /tmp/ab
taskset -c 1 nginx -c /tmp/ab/origin.conf -p /tmp/ab & NG=$!
sleep 1
for round in 1 2 3; do
  for p in old new haproxy; do
    case $p in
      old) taskset -c 0 "$OLD" -c sluice.toml > /dev/null 2>logs/$p.err & PID=$!; PORT=9002;;
      new) taskset -c 0 "$NEW" -c sluice.toml > /dev/null 2>logs/$p.err & PID=$!; PORT=9002;;
      haproxy) taskset -c 0 haproxy -f haproxy.cfg -db & PID=$!; PORT=9001;;
    esac
    sleep 1
    taskset -c 1 wrk -t1 -c64 -d2s http://127.0.0.1:$PORT/1k >/dev/null 2>&1
    for conns in 64 256; do
      echo "round $round $p c$conns 1k: $(bash /work/shared/bench/proxy-cpu.sh $PID $PORT /1k $conns 6s)"
    done
    echo "round $round $p c16 1m: $(bash /work/shared/bench/proxy-cpu.sh $PID $PORT /1m 16 5s)"
    kill $PID; wait $PID 2>/dev/null
  done
done
kill $NG; wait $NG 2>/dev/null

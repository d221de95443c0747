# Latency per hop (WORKLOADS=latency), sourced by scripts/compare.sh after its origins
# and proxies are set up; uses its start/stop, measure and quietly helpers. For each
# variant, alternating over ROUNDS:
#   c1     h2load --h1 -c1 -n LAT_N on GET /1k: one request in flight, mean, sd,
#          p50 and p99 (from its per-request log), proxy CPU per request;
#   rRATE  sluice-load open loop on GET /1k at each of LAT_RATES req/s over 64
#          connections for LAT_SECS s: p50/p99 and proxy CPU per request;
#   idle   proxy CPU over LAT_IDLE s with no traffic (after 1 s of rest);
#   satN   (sluice variants and haproxy) wrk -cN on GET /1k for N in LAT_SAT_CONNS:
#          saturation throughput and CPU per request, to show busy polling costs
#          nothing at saturation and that two spinning workers starve nobody.
# Variants: direct (the nginx origin itself, the baseline every hop is measured
# against), sluice (shipped defaults: busy_poll = "50us"), sluice-nospin
# (busy_poll = "0"), haproxy, haproxy-busy (`busy-polling`), nginx, and sluice2 /
# sluice2-nospin: `workers = 2` on both cores, sharing them with the origin and the
# generator, to show a spinning worker does not starve them.
# Results go to $WORK/out/lat-VARIANT-KIND-ROUND.*; scripts/compare_latency_report.py
# writes bench/LATENCY.md from them.

read -r -a LAT_PROXIES <<< "${LAT_PROXIES:-direct sluice sluice-nospin haproxy haproxy-busy nginx sluice2 sluice2-nospin}"
read -r -a LAT_RATES <<< "${LAT_RATES:-1000 10000}"
LAT_N=${LAT_N:-20000}
LAT_SECS=${LAT_SECS:-5}
LAT_IDLE=${LAT_IDLE:-10}
read -r -a LAT_SAT_CONNS <<< "${LAT_SAT_CONNS:-64 256}"

sed 's/^\[server\]$/[server]\nbusy_poll = "0"/' "$WORK/sluice.toml" > "$WORK/sluice-nospin.toml"
sed 's/^workers = 1$/workers = 2/' "$WORK/sluice.toml" > "$WORK/sluice2.toml"
sed 's/^workers = 1$/workers = 2/' "$WORK/sluice-nospin.toml" > "$WORK/sluice2-nospin.toml"
sed 's/^global$/global\n  busy-polling/' "$WORK/haproxy.cfg" > "$WORK/haproxy-busy.cfg"

lat_start() { # variant -> PROXY_PID, PORT, MEASURE_PIDS
  case $1 in
    direct)
      PORT=9100; PROXY_PID=$(cat "$WORK/origin.pid")
      MEASURE_PIDS="$PROXY_PID $(pgrep -P "$PROXY_PID" | tr '\n' ' ' || true)"
      return ;;
    sluice|haproxy|nginx) start_proxy "$1"; return ;;
    sluice-nospin)
      taskset -c 0 "$BIN/sluice" -c "$WORK/sluice-nospin.toml" > "$WORK/logs/$1.out" 2>&1 & PROXY_PID=$!; PORT=9101 ;;
    sluice2|sluice2-nospin)
      taskset -c 0,1 "$BIN/sluice" -c "$WORK/$1.toml" > "$WORK/logs/$1.out" 2>&1 & PROXY_PID=$!; PORT=9101 ;;
    haproxy-busy)
      taskset -c 0 haproxy -f "$WORK/haproxy-busy.cfg" -db > "$WORK/logs/$1.out" 2>&1 & PROXY_PID=$!; PORT=9102 ;;
  esac
  PIDS+=("$PROXY_PID")
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/1k" && break; sleep 0.05; done
  MEASURE_PIDS="$PROXY_PID $(pgrep -P "$PROXY_PID" | tr '\n' ' ' || true)"
}
lat_stop() { [ "$1" = direct ] || stop_proxy; }

lat_c1() { # base
  local log=$H2LOG_DIR/c1.log
  rm -f "$log"
  taskset -c 1 h2load --h1 -c1 -n 2000 "http://127.0.0.1:$PORT/1k" > /dev/null 2>&1 || true
  measure "$1" taskset -c 1 h2load --h1 -t1 -c1 -n "$LAT_N" --log-file="$log" "http://127.0.0.1:$PORT/1k"
  [ -f "$log" ] && awk '{print $3}' "$log" | sort -n \
    | awk '{v[NR]=$1} END{if (NR) printf "p50_us=%d\np99_us=%d\n", v[int(NR*0.5)+1], v[int(NR*0.99)+1]}' >> "$1.meta"
  rm -f "$log"
}
lat_rate() { # base rate
  measure "$1" taskset -c 1 "$SLUICE_LOAD" -p bench/small-1k.toml --target "http://127.0.0.1:$PORT" \
    --mode open --rate "$2" --connections 64 --duration "${LAT_SECS}s" --warmup 0s --quiet --json "$1.json"
}
lat_idle() { # base
  sleep 1
  measure "$1" sleep "$LAT_IDLE"
}
lat_sat() { # base conns
  warm wrk "$2" /1k
  measure "$1" taskset -c 1 wrk -t1 -c"$2" -d"${SECS}s" --latency "http://127.0.0.1:$PORT/1k"
}

latency_runs() {
  local round v base
  for round in $(seq "$ROUNDS"); do
    for v in "${LAT_PROXIES[@]}"; do
      echo "latency round $round: $v" >&2
      lat_start "$v"
      PROXY=$v
      base=$WORK/out/lat-$v
      quietly "$base-c1-$round" lat_c1 "$base-c1-$round"
      for r in "${LAT_RATES[@]}"; do quietly "$base-r$r-$round" lat_rate "$base-r$r-$round" "$r"; done
      if [[ $v == sluice* || $v == haproxy ]]; then
        for c in "${LAT_SAT_CONNS[@]}"; do quietly "$base-sat$c-$round" lat_sat "$base-sat$c-$round" "$c"; done
      fi
      [ "$v" = direct ] || quietly "$base-idle-$round" lat_idle "$base-idle-$round"
      lat_stop "$v"
    done
  done
}

#!/usr/bin/env bash
# Side-by-side comparison of sluice, HAProxy and nginx on this machine, as in
# ../shared/bench/METHOD.md: each proxy pinned to CPU 0 with one worker, the nginx
# origin (and sluice-origin) and the load generator pinned to CPU 1, proxies
# alternating over rounds (A B C, A B C, ...); medians and ratios go to
# bench/RESULTS.md (written by scripts/compare_report.py). Kills only the processes it
# started.
#
# Usage: scripts/compare.sh [ROUNDS] [SECONDS]   (defaults 3 and 5)
#
# Headline runs (METHOD.md, "Which load generator counts"): wrk and `h2load --h1` on
# GET /1k at 64 and 256 connections, wrk on GET /1m at 16 connections; sluice on its
# shipped defaults (only listen address, workers = 1, pin_cores, the pools, and an
# admin address off the default port). Then sluice-load's own workloads (small-1k,
# small-1k at a fixed rate, vod-1m, media-mix), labelled as such, and the idle-memory
# run. Per run: req/s, proxy CPU (user+system of all its threads/processes, from
# /proc) per request and per MiB, p99, the origin's accepted connections per request
# (upstream connects), the generator's own CPU, and CPU 0's time not spent in the proxy.
#
# Knobs (environment):
#   PROXIES="sluice haproxy nginx"        which proxies
#   GENERATORS="wrk h2load sluice-load"   which load generators
#   WORKLOADS="1k 1m 1k-fixed media-mix idle"   (add "latency" for bench/LATENCY.md,
#       "tls" for bench/TLS.md)
#       1k: GET /1k closed loop (wrk and h2load at each of CONNS; sluice-load's
#           small-1k profile at 64); 1m: GET /1m, 16 conns (wrk; sluice-load's
#           vod-1m); 1k-fixed and media-mix: sluice-load only; idle: RSS per idle
#           connection. Old names small-1k, vod-1m, small-1k-fixed still work.
#   CONNS="64 256"       connection counts of the wrk/h2load /1k runs
#   WARMUP=1             seconds of the same load (same generator, same connections)
#                        before each measured wrk/h2load run; 0 = none
#   MICRO=1              criterion micro-benchmarks (0 = skip)
#   EVENTS=0             1 = count kernel events on the proxy with `perf stat` during
#                        each /1k run (syscalls, IPIs sent, io_uring task-work adds,
#                        wake-ups) and report them per request. Evidence runs only:
#                        tracing costs the proxy CPU, so do not quote CPU figures from it.
#   QUIET=60 QUIET_PCT=20  wait up to QUIET s before each run for the machine to be idle
#                        (both CPUs under QUIET_PCT % of a core), and repeat (at most
#                        twice) a run during which processes this script did not start
#                        took more than QUIET_PCT % of a core; QUIET=0 = neither
#   H2LOG=1              h2load writes a line per request (to /dev/shm) for its p99;
#                        that costs h2load about 1 µs per request on CPU 1 (every
#                        proxy alike); H2LOG=0 = no log and no h2load p99
#   LABEL="..."          free text on the load conditions, printed in the report
#   REPORT=path          where the report goes (default bench/RESULTS.md)
#   SLUICE_LOAD=path     another sluice-load binary (e.g. one built with
#                        bench/sluice-load-defer-taskrun.patch)
#   IDLE_CONNS=5000 FIXED_RATE=10000 KEEP_WORK=1 (keep the scratch folder)
#   latency: what one hop adds at one request in flight and at fixed rates, CPU at
#       those rates and idle, HAProxy with and without busy-polling, two sluice
#       workers; knobs LAT_PROXIES, LAT_RATES="1000 10000", LAT_N=20000, LAT_SECS=5,
#       LAT_IDLE=10, LAT_REPORT (see scripts/compare_latency.sh). Latency only:
#       WORKLOADS=latency MICRO=0 scripts/compare.sh 3
#   tls: keep-alive, new-handshake and 1 MiB runs over TLS 1.3 (same ECDSA P-256
#       certificate and AES-128-GCM for every proxy); knobs TLS_PROXIES,
#       TLS_HS_CONNS=500, TLS_HS_BATCHES=8, TLS_REPORT (see scripts/compare_tls.sh).
#       TLS only: WORKLOADS=tls MICRO=0 scripts/compare.sh 3 5
# Quick A/B while tuning:
#   PROXIES="sluice haproxy" GENERATORS=wrk WORKLOADS="1k 1m" MICRO=0 \
#     REPORT=/tmp/ab.md scripts/compare.sh 2 5
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-5}
IDLE_CONNS=${IDLE_CONNS:-5000}
FIXED_RATE=${FIXED_RATE:-10000}
WARMUP=${WARMUP:-1}
EVENTS=${EVENTS:-0}
QUIET=${QUIET:-60}
QUIET_PCT=${QUIET_PCT:-20}
H2LOG=${H2LOG:-1}
TCK=$(getconf CLK_TCK)
ulimit -n 20000

need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v nginx >/dev/null || need+=(nginx-light)
command -v wrk >/dev/null || need+=(wrk)
command -v h2load >/dev/null || need+=(nghttp2-client)
command -v python3 >/dev/null || need+=(python3)
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
[ -x /usr/bin/time ] || need+=(time)
if [ "$EVENTS" = 1 ] && ! command -v perf >/dev/null; then need+=(linux-perf); fi
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release --quiet --bins
BIN=$PWD/target/release
SLUICE_LOAD=${SLUICE_LOAD:-$BIN/sluice-load}

# Another comparison (or anything else) on our ports would be measured instead of ours.
busy=$(ss -Hltn 2>/dev/null | awk '{print $4}' | grep -E '^127\.0\.0\.1:(9100|9101|9102|9103|9104|9105|9106|9107|9109|9111|9112|9113)$' || true)
if [ -n "$busy" ]; then
  echo "compare.sh: ports already in use (another comparison running?): $(echo $busy)" >&2
  exit 1
fi

WORK=$(mktemp -d /tmp/sluice-compare.XXXXXX)
chmod 755 "$WORK"  # the nginx origin's worker user must read www/
mkdir -p "$WORK/www" "$WORK/logs" "$WORK/out"
head -c 1024 /dev/urandom > "$WORK/www/1k"
head -c 1048576 /dev/urandom > "$WORK/www/1m"
# h2load writes one log line per request (the only way to get its p99); keep that
# file in memory, not on disk.
H2LOG_DIR=$(mktemp -d /dev/shm/sluice-compare-h2.XXXXXX 2>/dev/null || mktemp -d "$WORK/h2.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$H2LOG_DIR"
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- origins on CPU 1: nginx static (/1k, /1m) and sluice-origin (media-mix) ---
# The origin's stub_status (its own port) counts accepted connections: the
# difference over a run is the proxy's upstream connects, whichever proxy it is.
cat > "$WORK/origin.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/origin.pid;
error_log $WORK/logs/origin.err warn;
events { worker_connections 4096; }
http {
  access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000; open_file_cache max=100;
  client_body_temp_path $WORK/cb; proxy_temp_path $WORK/pt; fastcgi_temp_path $WORK/ft; uwsgi_temp_path $WORK/ut; scgi_temp_path $WORK/st;
  server { listen 127.0.0.1:9100 reuseport backlog=4096; root $WORK/www; }
  server { listen 127.0.0.1:9109; location = /stub { stub_status; } }
}
CONF
taskset -c 1 nginx -c "$WORK/origin.conf" & PIDS+=($!)
taskset -c 1 "$BIN/sluice-origin" api=127.0.0.1:9111,name=api live=127.0.0.1:9112,name=live vod=127.0.0.1:9113,name=vod > /dev/null & PIDS+=($!)

# --- the three proxies, same pools and routes ---
# sluice: shipped defaults. Only the listen address, one worker pinned, the pools
# and routes, and the admin API moved off its default port (9901) so that a sluice
# someone else runs on this machine cannot collide with it.
cat > "$WORK/sluice.toml" <<CONF
[server]
listen = ["127.0.0.1:9101"]
workers = 1
pin_cores = true
[admin]
listen = "127.0.0.1:9104"
[[pool]]
name = "static"
servers = ["127.0.0.1:9100"]
[[pool]]
name = "api"
servers = ["127.0.0.1:9111"]
[[pool]]
name = "live"
servers = ["127.0.0.1:9112"]
[[pool]]
name = "vod"
servers = ["127.0.0.1:9113"]
[[route]]
name = "api"
pool = "api"
[route.match]
path_prefix = "/api/"
[[route]]
name = "live"
pool = "live"
[route.match]
preset = "hls"
path_prefix = "/live/"
[[route]]
name = "vod"
pool = "vod"
[route.match]
path_prefix = "/vod/"
[default]
pool = "static"
CONF
cat > "$WORK/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 9000
  tune.bufsize 16384
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend fe
  bind 127.0.0.1:9102
  acl api path_beg /api/
  acl live path_beg /live/
  acl vod path_beg /vod/
  use_backend be_api if api
  use_backend be_live if live
  use_backend be_vod if vod
  default_backend be_static
backend be_static
  server s1 127.0.0.1:9100 maxconn 1000
backend be_api
  server s1 127.0.0.1:9111 maxconn 1000
backend be_live
  server s1 127.0.0.1:9112 maxconn 1000
backend be_vod
  server s1 127.0.0.1:9113 maxconn 1000
CONF
cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nproxy.pid;
error_log $WORK/logs/nproxy.err warn;
events { worker_connections 16384; }
worker_rlimit_nofile 20000;
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/cb2; proxy_temp_path $WORK/pt2; fastcgi_temp_path $WORK/ft2; uwsgi_temp_path $WORK/ut2; scgi_temp_path $WORK/st2;
  upstream st { server 127.0.0.1:9100; keepalive 64; keepalive_requests 1000000; }
  upstream api { server 127.0.0.1:9111; keepalive 64; }
  upstream live { server 127.0.0.1:9112; keepalive 64; }
  upstream vod { server 127.0.0.1:9113; keepalive 64; }
  server { listen 127.0.0.1:9103 backlog=4096;
    proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering on;
    location /api/ { proxy_pass http://api; }
    location /live/ { proxy_pass http://live; }
    location /vod/ { proxy_pass http://vod; }
    location / { proxy_pass http://st; } }
}
CONF

for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:9109/stub && break; sleep 0.05; done

start_proxy() { # name -> sets PROXY_PID (the process whose CPU is measured) and PORT
  case $1 in
    sluice)
      taskset -c 0 "$BIN/sluice" -c "$WORK/sluice.toml" > "$WORK/logs/sluice.out" 2>&1 & PROXY_PID=$!; PORT=9101 ;;
    haproxy)
      taskset -c 0 haproxy -f "$WORK/haproxy.cfg" -db > "$WORK/logs/haproxy.out" 2>&1 & PROXY_PID=$!; PORT=9102 ;;
    nginx)
      taskset -c 0 nginx -c "$WORK/nginx.conf" > "$WORK/logs/nginx.out" 2>&1 & PROXY_PID=$!; PORT=9103 ;;
  esac
  PIDS+=("$PROXY_PID")
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/1k" && break; sleep 0.05; done
  MEASURE_PIDS="$PROXY_PID $(pgrep -P "$PROXY_PID" | tr '\n' ' ' || true)"
}
stop_proxy() { kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true; sleep 0.3; }

# user and system ticks of the proxy, all its threads and child processes
cpu_ticks() { local u=0 s=0 a b; for p in $MEASURE_PIDS; do read -r a b < <(awk '{print $14, $15}' "/proc/$p/stat"); u=$((u + a)); s=$((s + b)); done; echo "$u $s"; }
# busy ticks (all but idle and iowait) of CPU 0 and CPU 1
cpu_busy() { awk '$1=="cpu0"{c0=$2+$3+$4+$7+$8+$9} $1=="cpu1"{c1=$2+$3+$4+$7+$8+$9} END{print c0, c1}' /proc/stat; }
# CPU ticks (user + system, own and reaped children's) of every process that is not
# this script or one of its descendants: other people's work on this machine
foreign_ticks() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v me=$$ '{
      line = $0; sub(/^.*\) /, "", line); split(line, f, " ")
      pp[$1] = f[2]; t[$1] = f[12] + f[13] + f[14] + f[15]
    }
    END {
      ours[me] = 1
      for (depth = 0; depth < 12; depth++) for (p in pp) if (pp[p] in ours) ours[p] = 1
      for (p in t) if (!(p in ours)) s += t[p]
      printf "%d\n", s
    }'
}
# connections the nginx origin has accepted so far (stub_status; its own read included)
origin_accepts() { curl -s http://127.0.0.1:9109/stub | awk 'NR==3{print $1}' || true; }
# sluice's own count of upstream connects to the static pool, if it has the metric
sluice_connects() {
  [ "$PROXY" = sluice ] || return 0
  curl -s -H 'Host: 127.0.0.1' http://127.0.0.1:9104/metrics \
    | awk '/^sluice_upstream_connects_total\{/ && /pool="static"/ {s += $NF; n++} END {if (n) printf "%d", s}' || true
}

# Runs a measured command (the generator) with the proxy's CPU, the CPUs' busy time,
# the upstream connects and the generator's CPU recorded around it; the generator's
# output goes to $OUT.out. Usage: measure OUT command...
measure() {
  local out=$1; shift
  local u0 s0 u1 s1 b0 b1 c0 c1 f0 f1 a0 a1 m0 m1 t0 t1 pp=""
  a0=$(origin_accepts); m0=$(sluice_connects)
  if [ "$EVENTS" = 1 ]; then
    perf stat -x, -o "$out.perf" -e "$PERF_EVENTS" -p "$(echo $MEASURE_PIDS | tr ' ' ',')" > /dev/null 2>&1 & pp=$!
    sleep 0.1
  fi
  read -r u0 s0 < <(cpu_ticks); read -r b0 c0 < <(cpu_busy); f0=$(foreign_ticks); t0=$EPOCHREALTIME
  /usr/bin/time -f "%U %S" -o "$out.gencpu" "$@" > "$out.out" 2>&1 || true
  t1=$EPOCHREALTIME; read -r u1 s1 < <(cpu_ticks); read -r b1 c1 < <(cpu_busy); f1=$(foreign_ticks)
  if [ -n "$pp" ]; then kill -INT "$pp" 2>/dev/null || true; wait "$pp" 2>/dev/null || true; fi
  a1=$(origin_accepts); m1=$(sluice_connects)
  {
    echo "usr_ticks=$((u1 - u0))"
    echo "sys_ticks=$((s1 - s0))"
    echo "cpu0_busy=$((b1 - b0))"
    echo "cpu1_busy=$((c1 - c0))"
    echo "foreign_ticks=$((f1 - f0))"
    if [ -n "$a0" ] && [ -n "$a1" ]; then echo "origin_connects=$(( a1 - a0 - 1 ))"; fi
    if [ -n "$m0" ] && [ -n "$m1" ]; then echo "metric_connects=$(( m1 - m0 ))"; fi
    echo "wall_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')"
    echo "load=$(cut -d' ' -f1 /proc/loadavg)"
  } > "$out.meta"
}
PERF_EVENTS="raw_syscalls:sys_enter,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_io_uring_enter,ipi:ipi_send_cpu,sched:sched_waking,io_uring:io_uring_task_add,io_uring:io_uring_poll_arm"

warm() { # generator conns path: the same load, unmeasured, so pools are at their steady size
  [ "$WARMUP" != 0 ] || return 0
  case $1 in
    wrk) taskset -c 1 wrk -t1 -c"$2" -d"${WARMUP}s" "http://127.0.0.1:$PORT$3" > /dev/null 2>&1 || true ;;
    h2load) taskset -c 1 h2load --h1 -t1 -c"$2" -D "$WARMUP" "http://127.0.0.1:$PORT$3" > /dev/null 2>&1 || true ;;
  esac
}

# QUIET: on a machine shared with others, wait (at most QUIET seconds) before each run
# until CPU 0 and CPU 1 are idle but for QUIET_PCT % of a core over half a second; after
# a run during which other people's processes (anything not started by this script)
# took more than QUIET_PCT % of a core, run it again, at most twice more. The report
# counts the runs still disturbed.
quiet_wait() {
  [ "$QUIET" != 0 ] || return 0
  local end=$((SECONDS + QUIET)) b0 c0 b1 c1
  while [ "$SECONDS" -lt "$end" ]; do
    read -r b0 c0 < <(cpu_busy); sleep 0.5; read -r b1 c1 < <(cpu_busy)
    [ $(( 200 * (b1 - b0 + c1 - c0) )) -gt $(( QUIET_PCT * TCK )) ] || return 0
  done
}
foreign_pct() { # meta file -> other people's processes during that run, % of one core
  awk -F= -v tck="$TCK" '{v[$1] = $2} END {printf "%d", 100 * v["foreign_ticks"] / (v["wall_s"] * tck)}' "$1"
}
quietly() { # base command... : the command warms up and measures into base.meta
  local base=$1 tries=0 other; shift
  while :; do
    quiet_wait
    "$@"
    tries=$((tries + 1))
    other=$(foreign_pct "$base.meta")
    if [ "$QUIET" = 0 ] || [ "$tries" -ge 3 ] || [ "$other" -le "$QUIET_PCT" ]; then break; fi
    echo "  ${base##*/}: other processes took $other % of a core; again" >&2
  done
  echo "tries=$tries" >> "$base.meta"
}

run_wrk() { # round conns path name
  local base=$WORK/out/$PROXY-wrk-$4-c$2-$1
  quietly "$base" wrk_once "$base" "$2" "$3"
}
wrk_once() { # base conns path
  warm wrk "$2" "$3"
  measure "$1" taskset -c 1 wrk -t1 -c"$2" -d"${SECS}s" --latency "http://127.0.0.1:$PORT$3"
}
run_h2load() { # round conns path name
  local base=$WORK/out/$PROXY-h2load-$4-c$2-$1 log=$H2LOG_DIR/h2.log
  quietly "$base" h2load_once "$base" "$2" "$3"
  # p50/p99 of "time for request" from the per-request log (3rd column, µs)
  [ -f "$log" ] && awk '{print $3}' "$log" | sort -n | awk '{v[NR]=$1} END{if (NR) printf "p50_us=%d\np99_us=%d\n", v[int(NR*0.5)+1], v[int(NR*0.99)+1]}' \
    >> "$base.meta"
  rm -f "$log"
}
h2load_once() { # base conns path
  warm h2load "$2" "$3"
  rm -f "$H2LOG_DIR/h2.log"
  local log=()
  [ "$H2LOG" = 0 ] || log=(--log-file="$H2LOG_DIR/h2.log")
  measure "$1" taskset -c 1 h2load --h1 -t1 -c"$2" -D "$SECS" "${log[@]}" "http://127.0.0.1:$PORT$3"
}
run_load() { # round workload profile extra-args...  (sluice-load)
  local round=$1 workload=$2 profile=$3; shift 3
  local base=$WORK/out/$PROXY-sluice-load-$workload-$round
  quietly "$base" measure "$base" taskset -c 1 "$SLUICE_LOAD" -p "bench/$profile.toml" \
    --target "http://127.0.0.1:$PORT" --duration "${SECS}s" --warmup 0s --quiet \
    --json "$base.json" "$@"
}

idle_rss() { # round
  local pid=$PROXY_PID
  if [ "$PROXY" = nginx ]; then pid=$(pgrep -P "$PROXY_PID" | head -1 || true); fi
  python3 ../shared/bench/idle-conns.py "$PORT" "$pid" "$IDLE_CONNS" > "$WORK/out/$PROXY-idle-$1.txt" 2>&1 || true
}

read -r -a PROXIES <<< "${PROXIES:-sluice haproxy nginx}"
read -r -a GENERATORS <<< "${GENERATORS:-wrk h2load sluice-load}"
read -r -a CONNS <<< "${CONNS:-64 256}"
WL=" ${WORKLOADS:-1k 1m 1k-fixed media-mix idle} "
WL=${WL// small-1k-fixed / 1k-fixed }; WL=${WL// small-1k / 1k }; WL=${WL// vod-1m / 1m }
wants() { [[ "$WL" == *" $1 "* ]]; }
uses() { [[ " ${GENERATORS[*]} " == *" $1 "* ]]; }
throughput() { wants 1k || wants 1m || wants 1k-fixed || wants media-mix || wants idle; }
throughput || ROUNDS_T=0
for round in $(seq "${ROUNDS_T:-$ROUNDS}"); do
  for PROXY in "${PROXIES[@]}"; do
    echo "round $round: $PROXY" >&2
    start_proxy "$PROXY"
    if wants 1k; then
      # sluice-load's small-1k (64 connections) runs beside wrk's and h2load's at 64, so
      # that every generator meets the proxy in the same state (before any run at 256)
      sl_done=0
      for c in "${CONNS[@]}"; do
        if uses wrk; then run_wrk "$round" "$c" /1k 1k; fi
        if uses h2load; then run_h2load "$round" "$c" /1k 1k; fi
        if [ "$c" = 64 ] && uses sluice-load; then run_load "$round" small-1k small-1k; sl_done=1; fi
      done
      if [ "$sl_done" = 0 ] && uses sluice-load; then run_load "$round" small-1k small-1k; fi
    fi
    if wants 1m; then
      if uses wrk; then run_wrk "$round" 16 /1m 1m; fi
      if uses sluice-load; then run_load "$round" vod-1m vod-1m; fi
    fi
    if wants 1k-fixed && uses sluice-load; then run_load "$round" small-1k-fixed small-1k --mode open --rate "$FIXED_RATE"; fi
    if wants media-mix && uses sluice-load; then run_load "$round" media-mix media-mix; fi
    if wants idle; then idle_rss "$round"; fi
    stop_proxy
  done
done
if wants tls; then
  # shellcheck source=scripts/compare_tls.sh
  source scripts/compare_tls.sh
  tls_runs
fi
if wants latency; then
  # shellcheck source=scripts/compare_latency.sh
  source scripts/compare_latency.sh
  latency_runs
fi
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

# Micro-benchmarks of the pure hot path (criterion), pinned to CPU 0.
[ "${MICRO:-1}" = 0 ] || taskset -c 0 cargo bench --quiet --bench hot_path -- --warm-up-time 1 --measurement-time 2 2>/dev/null \
  | awk '/time:/ {name=$1; if (name=="time:") name=prev; gsub(/\[/,""); for(i=1;i<=NF;i++) if ($i=="time:") print name, $(i+3), $(i+4)} {prev=$1}' > "$WORK/out/micro.txt" || true

VERSIONS="sluice $(git rev-parse --short HEAD) ($(rustc --version)); $(haproxy -v | head -1); $(nginx -v 2>&1); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $(h2load --version | head -1); kernel $(uname -r)"
export CMP_OUT="$WORK/out" CMP_ROUNDS="$ROUNDS" CMP_SECS="$SECS" CMP_TCK="$TCK" CMP_QUIET="$QUIET" CMP_QUIET_PCT="$QUIET_PCT" \
  CMP_VERSIONS="$VERSIONS" CMP_IDLE="$IDLE_CONNS" CMP_FIXED="$FIXED_RATE" CMP_CONNS="${CONNS[*]}" \
  CMP_GENERATORS="${GENERATORS[*]}" CMP_PROXIES="${PROXIES[*]}" CMP_WARMUP="$WARMUP" CMP_EVENTS="$EVENTS" CMP_H2LOG="$H2LOG" \
  CMP_LOAD="$LOAD_START -> $LOAD_END" CMP_LABEL="${LABEL:-}" CMP_NPROC="$(nproc)"
if wants tls; then
  CMP_TLS_PROXIES="${TLS_PROXIES[*]}" CMP_TLS_HS_CONNS="$TLS_HS_CONNS" CMP_TLS_HS_BATCHES="$TLS_HS_BATCHES" \
    python3 -B scripts/compare_tls_report.py
fi
if wants latency; then
  CMP_LAT_PROXIES="${LAT_PROXIES[*]}" CMP_LAT_RATES="${LAT_RATES[*]}" CMP_LAT_N="$LAT_N" CMP_LAT_SECS="$LAT_SECS" \
    CMP_LAT_IDLE="$LAT_IDLE" CMP_LAT_SAT_CONNS="${LAT_SAT_CONNS[*]}" python3 -B scripts/compare_latency_report.py
fi
# The throughput report only when a throughput workload ran (a latency-only run must
# not overwrite RESULTS.md with an empty one).
if throughput; then
  python3 -B scripts/compare_report.py
  echo "wrote ${REPORT:-bench/RESULTS.md}" >&2
fi

#!/usr/bin/env bash
# Side-by-side comparison of sluice, HAProxy and nginx on this machine, as in
# ../shared/bench/METHOD.md: each proxy pinned to CPU 0 with one worker, origins and
# load (sluice-load) pinned to CPU 1, proxies alternating over rounds; medians and
# ratios go to bench/RESULTS.md. Kills only the processes it started.
# Usage: scripts/compare.sh [ROUNDS] [SECONDS]   (defaults 3 and 5)
# For a quick A/B while tuning: PROXIES="sluice haproxy" WORKLOADS="small-1k vod-1m"
# MICRO=0 REPORT=/tmp/ab.md scripts/compare.sh 2 5 (workloads: small-1k small-1k-fixed
# vod-1m media-mix idle).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-5}
IDLE_CONNS=${IDLE_CONNS:-5000}
FIXED_RATE=${FIXED_RATE:-10000}
ulimit -n 20000

need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v nginx >/dev/null || need+=(nginx-light)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release --quiet --bins
BIN=$PWD/target/release

WORK=$(mktemp -d /tmp/sluice-compare.XXXXXX)
chmod 755 "$WORK"  # the nginx origin's worker user must read www/
mkdir -p "$WORK/www" "$WORK/logs" "$WORK/out"
head -c 1024 /dev/urandom > "$WORK/www/1k"
head -c 1048576 /dev/urandom > "$WORK/www/1m"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# --- origins on CPU 1: nginx static (/1k, /1m) and sluice-origin (media-mix) ---
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
}
CONF
taskset -c 1 nginx -c "$WORK/origin.conf" & PIDS+=($!)
taskset -c 1 "$BIN/sluice-origin" api=127.0.0.1:9111,name=api live=127.0.0.1:9112,name=live vod=127.0.0.1:9113,name=vod > /dev/null & PIDS+=($!)

# --- the three proxies, same pools and routes ---
cat > "$WORK/sluice.toml" <<CONF
[server]
listen = ["127.0.0.1:9101"]
workers = 1
pin_cores = true
max_connections = 19000
[[pool]]
name = "static"
servers = ["127.0.0.1:9100"]
max_idle_per_server = 128
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

cpu_ticks() { local t=0; for p in $MEASURE_PIDS; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo $t; }

run_load() { # proxy round workload profile extra-args...
  local proxy=$1 round=$2 workload=$3 profile=$4; shift 4
  local c0 c1
  c0=$(cpu_ticks)
  taskset -c 1 "$BIN/sluice-load" -p "bench/$profile.toml" --target "http://127.0.0.1:$PORT" \
    --duration "${SECS}s" --warmup 0s --quiet --json "$WORK/out/$proxy-$workload-$round.json" "$@" > /dev/null
  c1=$(cpu_ticks)
  echo "$(( c1 - c0 ))" > "$WORK/out/$proxy-$workload-$round.cpu"
}

idle_rss() { # proxy round
  local pid=$PROXY_PID
  if [ "$1" = nginx ]; then pid=$(pgrep -P "$PROXY_PID" | head -1 || true); fi
  python3 ../shared/bench/idle-conns.py "$PORT" "$pid" "$IDLE_CONNS" > "$WORK/out/$1-idle-$2.txt" 2>&1 || true
}

read -r -a PROXIES <<< "${PROXIES:-sluice haproxy nginx}"
read -r -a WORKLOADS <<< "${WORKLOADS:-small-1k small-1k-fixed vod-1m media-mix idle}"
wants() { [[ " ${WORKLOADS[*]} " == *" $1 "* ]]; }
for round in $(seq "$ROUNDS"); do
  for proxy in "${PROXIES[@]}"; do
    echo "round $round: $proxy" >&2
    start_proxy "$proxy"
    if wants small-1k; then run_load "$proxy" "$round" small-1k small-1k; fi
    if wants small-1k-fixed; then run_load "$proxy" "$round" small-1k-fixed small-1k --mode open --rate "$FIXED_RATE"; fi
    if wants vod-1m; then run_load "$proxy" "$round" vod-1m vod-1m; fi
    if wants media-mix; then run_load "$proxy" "$round" media-mix media-mix; fi
    if wants idle; then idle_rss "$proxy" "$round"; fi
    stop_proxy
  done
done

# Micro-benchmarks of the pure hot path (criterion), pinned to CPU 0.
[ "${MICRO:-1}" = 0 ] || taskset -c 0 cargo bench --quiet --bench hot_path -- --warm-up-time 1 --measurement-time 2 2>/dev/null \
  | awk '/time:/ {name=$1; if (name=="time:") name=prev; gsub(/\[/,""); for(i=1;i<=NF;i++) if ($i=="time:") print name, $(i+3), $(i+4)} {prev=$1}' > "$WORK/out/micro.txt" || true

VERSIONS="sluice $(git rev-parse --short HEAD) ($(rustc --version)); $(haproxy -v | head -1); $(nginx -v 2>&1); kernel $(uname -r)"
python3 - "$WORK/out" "$ROUNDS" "$SECS" "$(getconf CLK_TCK)" "$VERSIONS" "$IDLE_CONNS" "$FIXED_RATE" <<'PY'
import json, os, re, statistics, sys, datetime
out, rounds, secs, tck, versions, idle_n, fixed = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7]
proxies = ["sluice", "haproxy", "nginx"]
def runs(p, w):
    res = []
    for r in range(1, rounds + 1):
        try:
            j = json.load(open(f"{out}/{p}-{w}-{r}.json"))
            cpu = int(open(f"{out}/{p}-{w}-{r}.cpu").read()) / tck
            res.append((j, cpu))
        except Exception:
            pass
    return res
def med(xs):
    return statistics.median(xs) if xs else float("nan")
rows = {}
for p in proxies:
    row = {}
    s = runs(p, "small-1k")
    row["1k_rps"] = med([j["total"]["rps"] for j, _ in s])
    row["1k_cpu_us"] = med([1e6 * c / max(1, j["total"]["requests"]) for j, c in s])
    row["1k_p99_ms"] = med([j["total"]["latency_us"]["p99"] / 1000 for j, _ in s])
    row["err"] = sum(j["total"]["error_total"] for w in ("small-1k", "small-1k-fixed", "vod-1m", "media-mix") for j, _ in runs(p, w))
    f = runs(p, "small-1k-fixed")
    row["fixed_p50_ms"] = med([j["total"]["latency_us"]["p50"] / 1000 for j, _ in f])
    row["fixed_p99_ms"] = med([j["total"]["latency_us"]["p99"] / 1000 for j, _ in f])
    row["fixed_cpu_us"] = med([1e6 * c / max(1, j["total"]["requests"]) for j, c in f])
    v = runs(p, "vod-1m")
    row["1m_gbs"] = med([j["total"]["bytes_per_s"] / 1e9 for j, _ in v])
    row["1m_cpu_us_mib"] = med([1e6 * c / max(1e-9, j["total"]["bytes_per_s"] * secs / 1048576) for j, c in v])
    m = runs(p, "media-mix")
    row["mix_rps"] = med([j["total"]["rps"] for j, _ in m])
    row["mix_cpu_us"] = med([1e6 * c / max(1, j["total"]["requests"]) for j, c in m])
    row["mix_p50_ms"] = med([j["total"]["latency_us"]["p50"] / 1000 for j, _ in m])
    row["mix_p99_ms"] = med([j["total"]["latency_us"]["p99"] / 1000 for j, _ in m])
    row["mix_err"] = med([j["total"]["error_total"] for j, _ in m])
    idle = []
    for r in range(1, rounds + 1):
        try:
            t = open(f"{out}/{p}-idle-{r}.txt").read()
            mm = re.search(r"per conn (-?\d+) B", t)
            if mm: idle.append(int(mm.group(1)))
        except Exception:
            pass
    row["idle_b"] = med(idle)
    rows[p] = row
cols = [
    ("1k_rps", "small-1k req/s (closed, 64 conns)", "{:.0f}", "higher"),
    ("1k_cpu_us", "small-1k proxy CPU µs/request", "{:.2f}", "lower"),
    ("1k_p99_ms", "small-1k p99 ms (closed)", "{:.2f}", "lower"),
    ("fixed_p50_ms", f"small-1k p50 ms at {fixed} req/s (open)", "{:.3f}", "lower"),
    ("fixed_p99_ms", f"small-1k p99 ms at {fixed} req/s (open)", "{:.3f}", "lower"),
    ("fixed_cpu_us", f"small-1k CPU µs/request at {fixed} req/s", "{:.2f}", "lower"),
    ("1m_gbs", "vod-1m throughput GB/s (16 conns)", "{:.2f}", "higher"),
    ("1m_cpu_us_mib", "vod-1m proxy CPU µs/MiB", "{:.0f}", "lower"),
    ("mix_rps", "media-mix req/s (open, 2000/s)", "{:.0f}", "higher"),
    ("mix_cpu_us", "media-mix proxy CPU µs/request", "{:.1f}", "lower"),
    ("mix_p50_ms", "media-mix p50 ms", "{:.2f}", "lower"),
    ("mix_p99_ms", "media-mix p99 ms", "{:.2f}", "lower"),
    ("err", "errors, all runs", "{:.0f}", "lower"),
    ("idle_b", f"RSS per idle connection, B ({idle_n} conns)", "{:.0f}", "lower"),
]
def fmt(f, x):
    return "n/a" if x != x else f.format(x)
lines = []
lines.append("| metric | sluice | HAProxy | nginx | sluice/HAProxy | sluice/nginx |")
lines.append("| --- | --- | --- | --- | --- | --- |")
for key, label, f, _ in cols:
    s, h, n = rows["sluice"][key], rows["haproxy"][key], rows["nginx"][key]
    rh = s / h if h == h and h else float("nan")
    rn = s / n if n == n and n else float("nan")
    lines.append(f"| {label} | {fmt(f, s)} | {fmt(f, h)} | {fmt(f, n)} | {fmt('{:.2f}', rh)} | {fmt('{:.2f}', rn)} |")
table = "\n".join(lines)
r = rows
def ratio(a, b):
    return a / b if b == b and b else float("nan")
targets = [
    ("1 KiB CPU per request ≤ 0.75 × HAProxy", ratio(r["sluice"]["1k_cpu_us"], r["haproxy"]["1k_cpu_us"]), lambda x: x <= 0.75),
    ("1 KiB req/s ≥ HAProxy", ratio(r["sluice"]["1k_rps"], r["haproxy"]["1k_rps"]), lambda x: x >= 1.0),
    ("1 KiB p99 ≤ HAProxy", ratio(r["sluice"]["1k_p99_ms"], r["haproxy"]["1k_p99_ms"]), lambda x: x <= 1.0),
    ("1 MiB CPU per MiB ≤ 0.7 × HAProxy", ratio(r["sluice"]["1m_cpu_us_mib"], r["haproxy"]["1m_cpu_us_mib"]), lambda x: x <= 0.7),
    ("1 MiB throughput ≥ 1.1 × HAProxy", ratio(r["sluice"]["1m_gbs"], r["haproxy"]["1m_gbs"]), lambda x: x >= 1.1),
    ("idle connection ≤ 1 KiB RSS", r["sluice"]["idle_b"], lambda x: x <= 1024),
]
tl = ["| target (METHOD.md) | measured | met? |", "| --- | --- | --- |"]
for name, val, ok in targets:
    tl.append(f"| {name} | {fmt('{:.2f}', val)} | {'met' if val == val and ok(val) else 'NOT met'} |")
micro_rows, micro_verdict = [], "not measured"
try:
    for line in open(f"{out}/micro.txt"):
        parts = line.split()
        if len(parts) >= 3:
            micro_rows.append(f"| {parts[0]} | {parts[1]} {parts[2]} |")
            if parts[0] == "classify_50_routes":
                ns = float(parts[1]) * {"ns": 1, "µs": 1000, "us": 1000, "ps": 0.001}.get(parts[2], 1)
                micro_verdict = f"{'met' if ns <= 100 else 'NOT met'} ({ns:.1f} ns)"
except Exception:
    pass
micro = "\n".join(micro_rows) or "| (not run) | |"
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
doc = f"""# sluice vs HAProxy vs nginx — measured side by side

Produced by `scripts/compare.sh {rounds} {int(secs)}` on {now}.
Versions: {versions}.

Method (../shared/bench/METHOD.md): each proxy pinned to CPU 0 with one worker and
one keep-alive pool per origin; origins (nginx static for /1k and /1m,
sluice-origin for media-mix) and the load generator (`sluice-load`, pinned with
`taskset -c 1`) share CPU 1. Proxy CPU is user+system time from /proc/PID/stat
(all threads; nginx master and worker) over each run. Proxies alternate within each
of {rounds} rounds; every figure is the median over rounds. Runs last {int(secs)} s
without warm-up. Idle RSS: `../shared/bench/idle-conns.py` with {idle_n}
connections.
sluice-load counts response bodies and discards them inside the kernel (`recv`
with `MSG_TRUNC`, no copy to user space) for every proxy alike, so the generator
sharing CPU 1 with the origins is less of a cap on large-body throughput.

Workloads: `bench/small-1k.toml` (closed loop, 64 connections, GET /1k),
the same open-loop at {fixed} req/s for latency at a fixed rate, `bench/vod-1m.toml`
(closed loop, 16 connections, GET /1m) and `bench/media-mix.toml` (open loop, 2000
req/s: API 20%, live playlists 10%, live segments 60% over 50 Zipf channels, 1 MiB
VOD Range windows 10%).

{table}

## Targets

{chr(10).join(tl)}

## Micro-benchmarks (criterion, `cargo bench --bench hot_path`, median)

| benchmark | time |
| --- | --- |
{micro}

Classification target (METHOD.md): ≤ 100 ns with 50 routes — {micro_verdict}.
"""
dest = os.environ.get("REPORT", "bench/RESULTS.md")
open(dest, "w").write(doc)
print(table)
print()
print("\n".join(tl))
PY
echo "wrote ${REPORT:-bench/RESULTS.md}" >&2

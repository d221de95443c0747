#!/usr/bin/env bash
# Why does sluice-load make a proxy look costlier than wrk does? Drives HAProxy and
# sluice (shipped defaults) with wrk, h2load and sluice-load on GET /1k at 64
# connections, as in ../shared/bench/METHOD.md (proxy on CPU 0, nginx origin and
# generator on CPU 1), and reports per request: the proxy's CPU (user + sys, from
# /proc, in runs without tracing) and, in separate traced runs, the kernel events
# counted on the proxy by `perf stat -p` (syscalls, epoll_wait, IPIs it sent, wake-ups,
# io_uring task work it queued for someone else's ring) and, in a third run sampled by
# `perf record -g`, the share of its time spent in sock_def_readable (waking the reader
# of the bytes it just sent).
#
# Usage: [ALT=path/to/another/sluice-load] [RATE=N] [CONNS=64] [PROXIES="haproxy sluice"]
#        bench/why-sluice-load.sh [ROUNDS] [SECONDS]
# ALT adds a fourth generator, e.g. a sluice-load built with its ring set up with
# DEFER_TASKRUN (see bench/RESULTS.md, "Why sluice-load ..."). Kills only what it starts.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-5}
CONNS=${CONNS:-64}
PROXIES=${PROXIES:-haproxy sluice}
ulimit -n 20000
cargo build --release --quiet --bins
BIN=$PWD/target/release
WORK=$(mktemp -d /tmp/why-sluice-load.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/www" "$WORK/logs"
head -c 1024 /dev/urandom > "$WORK/www/1k"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

cat > "$WORK/origin.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/origin.pid;
error_log $WORK/logs/origin.err warn;
events { worker_connections 4096; }
http {
  access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000; open_file_cache max=100;
  client_body_temp_path $WORK/cb; proxy_temp_path $WORK/pt; fastcgi_temp_path $WORK/ft; uwsgi_temp_path $WORK/ut; scgi_temp_path $WORK/st;
  server { listen 127.0.0.1:9300 reuseport backlog=4096; root $WORK/www; }
}
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
  bind 127.0.0.1:9301
  default_backend be
backend be
  server s1 127.0.0.1:9300 maxconn 1000
CONF
cat > "$WORK/sluice.toml" <<CONF
[server]
listen = ["127.0.0.1:9302"]
workers = 1
pin_cores = true
[admin]
listen = "127.0.0.1:9309"
[[pool]]
name = "o"
servers = ["127.0.0.1:9300"]
[default]
pool = "o"
CONF
taskset -c 1 nginx -c "$WORK/origin.conf" > "$WORK/logs/origin.out" 2>&1 & PIDS+=($!)

EVENTS="raw_syscalls:sys_enter,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_io_uring_enter,ipi:ipi_send_cpu,sched:sched_waking,io_uring:io_uring_task_add"
GENS="wrk h2load sluice-load${ALT:+ alt}"
# RATE=N: every generator sends N req/s in all (h2load --rps per connection, sluice-load
# --mode open), so that the proxy runs at the same load under each; wrk cannot, and is left out.
RATE=${RATE:-}
if [ -n "$RATE" ]; then GENS=${GENS/wrk /}; fi
H2RATE=()
SLRATE=()
if [ -n "$RATE" ]; then H2RATE=(--rps=$(( RATE / CONNS ))); SLRATE=(--mode open --rate "$RATE"); fi

gen() { # name port -> requests done
  local url="http://127.0.0.1:$2/1k"
  case $1 in
    wrk) taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECS}s" "$url" | awk '/requests in/{print $1}' ;;
    h2load) taskset -c 1 h2load --h1 -t1 -c"$CONNS" -D "$SECS" "${H2RATE[@]}" "$url" | awk '/^requests:/{print $8}' ;;
    sluice-load) taskset -c 1 "$BIN/sluice-load" -p bench/small-1k.toml --target "http://127.0.0.1:$2" \
      --connections "$CONNS" --duration "${SECS}s" --warmup 0s --quiet "${SLRATE[@]}" | awk '/^total/{print $2}' ;;
    alt) taskset -c 1 "$ALT" -p bench/small-1k.toml --target "http://127.0.0.1:$2" \
      --connections "$CONNS" --duration "${SECS}s" --warmup 0s --quiet "${SLRATE[@]}" | awk '/^total/{print $2}' ;;
  esac
}

for round in $(seq "$ROUNDS"); do
  for proxy in $PROXIES; do
    case $proxy in
      haproxy) taskset -c 0 haproxy -f "$WORK/haproxy.cfg" -db > "$WORK/logs/h.out" 2>&1 & pid=$!; port=9301 ;;
      sluice) taskset -c 0 "$BIN/sluice" -c "$WORK/sluice.toml" > "$WORK/logs/s.out" 2>&1 & pid=$!; port=9302 ;;
    esac
    PIDS+=("$pid")
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/1k" && break; sleep 0.05; done
    taskset -c 1 wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$port/1k" > /dev/null
    for g in $GENS; do
      # CPU per request, untraced
      read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
      n=$(gen "$g" "$port")
      read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
      echo "cpu $proxy $g $n $((u1 - u0)) $((s1 - s0))" >> "$WORK/raw"
      # kernel events per request, traced
      perf stat -x, -o "$WORK/perf" -e "$EVENTS" -p "$pid" > /dev/null 2>&1 & pp=$!
      sleep 0.1
      n=$(gen "$g" "$port")
      kill -INT "$pp"; wait "$pp" 2>/dev/null || true
      awk -F, -v p="$proxy" -v g="$g" -v n="$n" '$3 != "" && $1 ~ /^[0-9]+$/ {split($3, a, ":"); print "ev", p, g, a[2], $1 / n}' "$WORK/perf" >> "$WORK/raw"
      # share of the proxy's time in sock_def_readable (waking the reader of what it sent)
      perf record -F 2000 -g -o "$WORK/perf.data" -p "$pid" > /dev/null 2>&1 & pp=$!
      sleep 0.1
      gen "$g" "$port" > /dev/null
      kill -INT "$pp"; wait "$pp" 2>/dev/null || true
      perf report -i "$WORK/perf.data" --children --sort sym 2>/dev/null \
        | awk -v p="$proxy" -v g="$g" '$NF == "sock_def_readable" && $1 ~ /%$/ {sub("%", "", $1); print "ev", p, g, "sock_def_readable_%", $1; exit}' >> "$WORK/raw" || true
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
    echo "round $round: $proxy done" >&2
  done
done

python3 - "$WORK/raw" "$(getconf CLK_TCK)" "$SECS" "$GENS" "$PROXIES" <<'PY'
import statistics, sys, collections
raw, tck, secs, gens, proxies = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4].split(), sys.argv[5].split()
cpu = collections.defaultdict(list); ev = collections.defaultdict(list); names = []
for line in open(raw):
    f = line.split()
    if f[0] == "cpu" and f[3].isdigit() and int(f[3]):
        n, u, s = int(f[3]), int(f[4]), int(f[5])
        cpu[(f[1], f[2])].append((n / secs, 1e6 * u / tck / n, 1e6 * s / tck / n))
    elif f[0] == "ev":
        ev[(f[1], f[2], f[3])].append(float(f[4]))
        if f[3] not in names: names.append(f[3])
med = statistics.median
print("| proxy | generator | req/s | proxy CPU µs/request (user + sys) | " + " | ".join(n if n.endswith("%") else f"{n}/req" for n in names) + " |")
print("| --- | --- | --- | --- | " + " | ".join("---" for _ in names) + " |")
for p in proxies:
    for g in gens:
        c = cpu.get((p, g))
        if not c: continue
        r, u, s = med([x[0] for x in c]), med([x[1] for x in c]), med([x[2] for x in c])
        evs = " | ".join((f"{med(ev[(p, g, n)]):.1f}" if n.endswith("%") else f"{med(ev[(p, g, n)]):.3f}") if ev.get((p, g, n)) else "n/a" for n in names)
        print(f"| {p} | {g} | {r:.0f} | {u + s:.2f} ({u:.1f} + {s:.1f}) | {evs} |")
PY

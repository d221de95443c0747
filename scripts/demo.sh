#!/usr/bin/env bash
# Run sluice end to end on the shipped config.toml: start the demo origins
# (sluice-origin on the addresses config.toml names), start sluice, send one request
# per pool and show which origin answered, then stop everything it started. It also
# serves HTTPS on 127.0.0.1:8443 with a self-signed certificate made on the fly
# (openssl): config.toml plus a [tls] section is run from a temporary directory.
# Usage: scripts/demo.sh [--keep]   (--keep leaves sluice and the origins running
# until Ctrl-C)
set -euo pipefail
cd "$(dirname "$0")/.."
keep=${1:-}
export SLUICE_ADMIN_TOKEN=${SLUICE_ADMIN_TOKEN:-demo-token}
cargo build --release --quiet --bin sluice --bin sluice-origin
bin=target/release
pids=()
demo=$(mktemp -d)
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$demo"
}
trap cleanup EXIT INT TERM

# A self-signed ECDSA P-256 certificate for localhost, and the config with [tls].
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost \
  -keyout "$demo/demo.key" -out "$demo/demo.pem" 2>/dev/null
cp config.toml "$demo/config.toml"
cat >> "$demo/config.toml" <<'TLS'

[tls]
listen = ["127.0.0.1:8443"]
[[tls.cert]]
cert = "demo.pem"
key = "demo.key"
TLS

"$bin/sluice-origin" \
  api=127.0.0.1:7001,name=api-1 api=127.0.0.1:7002,name=api-2 \
  live=127.0.0.1:7101,name=edge-1 live=127.0.0.1:7102,name=edge-2 \
  vod=127.0.0.1:7201,name=storage-1 vod=127.0.0.1:7202,name=storage-2 >/dev/null &
pids+=($!)
"$bin/sluice" -c "$demo/config.toml" > >(sed 's/^/sluice: /') &
pids+=($!)

for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:8080/api/ping && break; sleep 0.1; done

show() {
  local what=$1; shift
  local out
  out=$(curl -s -o /dev/null -D - "$@" | tr -d '\r')
  printf '%-34s -> %s | %s\n' "$what" \
    "$(echo "$out" | head -1)" "$(echo "$out" | grep -i '^x-origin:' | head -1)"
}
echo "== requests through sluice at 127.0.0.1:8080 =="
show "GET /api/v1/login" http://127.0.0.1:8080/api/v1/login
show "GET /live/ch1/index.m3u8" http://127.0.0.1:8080/live/ch1/index.m3u8
show "GET /live/ch1/seg1.ts" http://127.0.0.1:8080/live/ch1/seg1.ts
show "GET /live/ch1/manifest.mpd" http://127.0.0.1:8080/live/ch1/manifest.mpd
show "GET /vod/movie-64m.mp4 Range 0-1MiB" -H 'Range: bytes=0-1048575' http://127.0.0.1:8080/vod/movie-64m.mp4
show "GET /vod/movie-64m.mp4 Range again" -H 'Range: bytes=1048576-2097151' http://127.0.0.1:8080/vod/movie-64m.mp4
show "GET /elsewhere (default pool)" http://127.0.0.1:8080/elsewhere

echo "== HTTPS through sluice at localhost:8443 (self-signed, made just now) =="
show "GET https://localhost:8443/live/ch1/index.m3u8" --cacert "$demo/demo.pem" https://localhost:8443/live/ch1/index.m3u8
curl -s -o /dev/null --cacert "$demo/demo.pem" -w '  TLS handshake verified (ssl_verify_result=%{ssl_verify_result}), HTTP %{http_code}\n' https://localhost:8443/api/v1/login

echo "== admin: pools and servers =="
curl -s -H "Authorization: Bearer $SLUICE_ADMIN_TOKEN" http://127.0.0.1:9901/api/v1/status | python3 -c '
import json, sys
s = json.load(sys.stdin)
for p in s["pools"]:
    servers = "  ".join("%s %s req=%d" % (v["addr"], v["state"], v["requests"]) for v in p["servers"])
    print("  %-5s %-16s %s" % (p["name"], p["balance"], servers))
' || true

if [ "$keep" = "--keep" ]; then
  echo "sluice on http://127.0.0.1:8080 and https://localhost:8443 (CA: $demo/demo.pem), admin on http://127.0.0.1:9901 (token: $SLUICE_ADMIN_TOKEN); Ctrl-C stops"
  wait
fi

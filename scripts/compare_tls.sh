# TLS termination side by side (WORKLOADS=tls), sourced by scripts/compare.sh after
# its origins and plain proxy configs are set up; uses its measure/quietly/warm
# helpers. Every proxy gets the same ECDSA P-256 certificate (made here with openssl),
# TLS 1.3 only; the clients (wrk, h2load: OpenSSL) are limited to TLS_AES_128_GCM_SHA256
# through an OpenSSL config file (OPENSSL_CONF), so every proxy runs the same cipher
# whatever its own preference. HAProxy and nginx are also told that suite.
# Runs per proxy and round:
#   ka     wrk -t1 -c64 over TLS keep-alive on GET /1k: req/s, proxy CPU per request;
#   hs     new handshakes: TLS_HS_BATCHES × `h2load --h1 -c TLS_HS_CONNS -n TLS_HS_CONNS`
#          (one request per connection, every connection a full handshake, no
#          resumption): handshakes per proxy CPU-second;
#   big    wrk -t1 -c16 over TLS on GET /1m: GB/s and proxy CPU per MiB.
# Results go to $WORK/out/tls-PROXY-KIND-ROUND.*; scripts/compare_tls_report.py writes
# bench/TLS.md from them.

read -r -a TLS_PROXIES <<< "${TLS_PROXIES:-sluice haproxy nginx}"
TLS_HS_CONNS=${TLS_HS_CONNS:-500}
TLS_HS_BATCHES=${TLS_HS_BATCHES:-8}

TLS_DIR=$WORK/tls
mkdir -p "$TLS_DIR"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
  -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost" > /dev/null 2>&1
cat "$TLS_DIR/cert.pem" "$TLS_DIR/key.pem" > "$TLS_DIR/combined.pem"
cat > "$TLS_DIR/client.cnf" <<CONF
openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1.3
Ciphersuites = TLS_AES_128_GCM_SHA256
CONF

cp "$WORK/sluice.toml" "$WORK/sluice-tls.toml"
cat >> "$WORK/sluice-tls.toml" <<CONF
[tls]
listen = ["127.0.0.1:9105"]
min_version = "1.3"
[[tls.cert]]
cert = "$TLS_DIR/cert.pem"
key = "$TLS_DIR/key.pem"
CONF
sed -e "s|^  bind 127.0.0.1:9102$|  bind 127.0.0.1:9102\n  bind 127.0.0.1:9106 ssl crt $TLS_DIR/combined.pem alpn http/1.1|" \
    -e 's|^global$|global\n  ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256\n  ssl-default-bind-options ssl-min-ver TLSv1.3|' \
    "$WORK/haproxy.cfg" > "$WORK/haproxy-tls.cfg"
sed -e "s|listen 127.0.0.1:9103 backlog=4096;|listen 127.0.0.1:9103 backlog=4096; listen 127.0.0.1:9107 ssl backlog=4096; ssl_certificate $TLS_DIR/cert.pem; ssl_certificate_key $TLS_DIR/key.pem; ssl_protocols TLSv1.3; ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;|" \
    -e "s|pid $WORK/nproxy.pid;|pid $WORK/nproxy-tls.pid;|" \
    "$WORK/nginx.conf" > "$WORK/nginx-tls.conf"

tls_start() { # proxy -> PROXY_PID, PORT (the TLS port), MEASURE_PIDS
  case $1 in
    sluice) taskset -c 0 "$BIN/sluice" -c "$WORK/sluice-tls.toml" > "$WORK/logs/sluice-tls.out" 2>&1 & PROXY_PID=$!; PORT=9105 ;;
    haproxy) taskset -c 0 haproxy -f "$WORK/haproxy-tls.cfg" -db > "$WORK/logs/haproxy-tls.out" 2>&1 & PROXY_PID=$!; PORT=9106 ;;
    nginx) taskset -c 0 nginx -c "$WORK/nginx-tls.conf" > "$WORK/logs/nginx-tls.out" 2>&1 & PROXY_PID=$!; PORT=9107 ;;
  esac
  PIDS+=("$PROXY_PID")
  for _ in $(seq 100); do curl -sk -o /dev/null "https://127.0.0.1:$PORT/1k" && break; sleep 0.05; done
  MEASURE_PIDS="$PROXY_PID $(pgrep -P "$PROXY_PID" | tr '\n' ' ' || true)"
}

tls_wrk() { # base conns path
  OPENSSL_CONF=$TLS_DIR/client.cnf taskset -c 1 wrk -t1 -c"$2" -d1s "https://127.0.0.1:$PORT$3" > /dev/null 2>&1 || true
  OPENSSL_CONF=$TLS_DIR/client.cnf measure "$1" taskset -c 1 wrk -t1 -c"$2" -d"${SECS}s" --latency "https://127.0.0.1:$PORT$3"
}
tls_hs() { # base
  OPENSSL_CONF=$TLS_DIR/client.cnf measure "$1" taskset -c 1 bash -c \
    "for i in \$(seq $TLS_HS_BATCHES); do h2load --h1 -t1 -c $TLS_HS_CONNS -n $TLS_HS_CONNS https://127.0.0.1:$PORT/1k; done"
}

tls_runs() {
  local round p base
  for round in $(seq "$ROUNDS"); do
    for p in "${TLS_PROXIES[@]}"; do
      echo "tls round $round: $p" >&2
      tls_start "$p"
      PROXY=$p-tls
      base=$WORK/out/tls-$p
      quietly "$base-ka-$round" tls_wrk "$base-ka-$round" 64 /1k
      quietly "$base-hs-$round" tls_hs "$base-hs-$round"
      quietly "$base-big-$round" tls_wrk "$base-big-$round" 16 /1m
      stop_proxy
    done
  done
}

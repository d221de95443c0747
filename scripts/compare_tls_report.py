#!/usr/bin/env python3
"""bench/TLS.md from the TLS runs of scripts/compare.sh (WORKLOADS=tls,
scripts/compare_tls.sh): keep-alive CPU per request, new handshakes per CPU-second and
1 MiB throughput over TLS for sluice, HAProxy and nginx, and issue 14's targets."""

import os
import re
import statistics
import time

from compare_common import NAN, Targets, fmt, meta, med, over_rounds, ratio, read  # noqa: F401

E = os.environ
OUT = E["CMP_OUT"]
ROUNDS = int(E["CMP_ROUNDS"])
TCK = int(E["CMP_TCK"])
PROXIES = E.get("CMP_TLS_PROXIES", "sluice haproxy nginx").split()
NAMES = {"sluice": "sluice", "haproxy": "HAProxy", "nginx": "nginx"}




def cpu_s(m):
    return (m.get("usr_ticks", NAN) + m.get("sys_ticks", NAN)) / TCK


def wrk(p, kind, size, rnd):
    base = f"{OUT}/tls-{p}-{kind}-{rnd}"
    m, text = meta(base), read(base + ".out") or ""
    rq = re.search(r"(\d+) requests in ([\d.]+)(m?s)", text)
    if not (m and rq):
        return None
    n = int(rq.group(1))
    secs = float(rq.group(2)) * (60 if rq.group(3) == "m" else 1)
    errors = sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
    mib = n * size / 1048576
    return {"rps": n / secs, "cpu_us": 1e6 * cpu_s(m) / n, "gbs": n * size / secs / 1e9,
            "cpu_us_mib": 1e6 * cpu_s(m) / mib, "errors": errors}


def hs(p, rnd):
    base = f"{OUT}/tls-{p}-hs-{rnd}"
    m, text = meta(base), read(base + ".out") or ""
    done = sum(int(x) for x in re.findall(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded", text))
    if not (m and done):
        return None
    return {"hs": done, "per_cpu_s": done / cpu_s(m), "cpu_us": 1e6 * cpu_s(m) / done, "wall": m.get("wall_s", NAN)}


def stat(fn, key, *args):
    return over_rounds(ROUNDS, fn, key, *args)


rows = ["| proxy | keep-alive 1 KiB req/s | CPU per request | new handshakes per CPU-second | CPU per handshake + request | 1 MiB GB/s | CPU per MiB |",
        "| --- | --- | --- | --- | --- | --- | --- |"]
for p in PROXIES:
    rows.append(f"| {NAMES.get(p, p)} | {fmt('{:.0f}', stat(wrk, 'rps', p, 'ka', 1024))} | "
                f"{fmt('{:.1f} µs', stat(wrk, 'cpu_us', p, 'ka', 1024))} | {fmt('{:.0f}', stat(hs, 'per_cpu_s', p))} | "
                f"{fmt('{:.0f} µs', stat(hs, 'cpu_us', p))} | {fmt('{:.2f}', stat(wrk, 'gbs', p, 'big', 1048576))} | "
                f"{fmt('{:.0f} µs', stat(wrk, 'cpu_us_mib', p, 'big', 1048576))} |")

T = Targets(["| target (issue 14) | sluice | HAProxy | ratio | met? |", "| --- | --- | --- | --- | --- |"])
targets = T.rows


def target(name, s, h, ok, f="{:.1f}"):
    r = ratio(s, h)
    if r != r:
        T.add([name, "n/a", "n/a", "n/a"], None)
    else:
        T.add([name, fmt(f, s), fmt(f, h), f"{r:.2f} ×"], ok(r))


target("keep-alive 1 KiB CPU per request ≤ 0.9 × HAProxy (µs)", stat(wrk, "cpu_us", "sluice", "ka", 1024),
       stat(wrk, "cpu_us", "haproxy", "ka", 1024), lambda r: r <= 0.9)
target("handshakes per CPU-second ≥ HAProxy", stat(hs, "per_cpu_s", "sluice"), stat(hs, "per_cpu_s", "haproxy"),
       lambda r: r >= 1.0, "{:.0f}")
target("1 MiB throughput over TLS ≥ HAProxy (GB/s)", stat(wrk, "gbs", "sluice", "big", 1048576),
       stat(wrk, "gbs", "haproxy", "big", 1048576), lambda r: r >= 1.0, "{:.2f}")

spread = ["| proxy | run | per round |", "| --- | --- | --- |"]
for p in PROXIES:
    spread.append(f"| {NAMES.get(p, p)} | keep-alive CPU µs/req | "
                  f"{', '.join(fmt('{:.1f}', (wrk(p, 'ka', 1024, r) or {}).get('cpu_us', NAN)) for r in range(1, ROUNDS + 1))} |")
    spread.append(f"| {NAMES.get(p, p)} | handshakes per CPU-s | "
                  f"{', '.join(fmt('{:.0f}', (hs(p, r) or {}).get('per_cpu_s', NAN)) for r in range(1, ROUNDS + 1))} |")

doc = f"""# TLS termination — sluice vs HAProxy vs nginx

Produced by `WORKLOADS=tls scripts/compare.sh {ROUNDS} {E.get('CMP_SECS', '5')}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())};
medians of {ROUNDS} alternating rounds. {E.get('CMP_VERSIONS', '')}. {E.get('CMP_LABEL', '')}

Set-up as in METHOD.md (one-worker proxies pinned to CPU 0; the nginx origin and the
generator on CPU 1; plain HTTP to the origin). Every proxy serves the same ECDSA
P-256 certificate over TLS 1.3 only, and the clients (wrk and h2load, OpenSSL) are
limited to TLS_AES_128_GCM_SHA256 (an `OPENSSL_CONF` file), so all three run the same
key exchange (X25519), signature and cipher. sluice uses rustls 0.23 with the ring
provider; HAProxy and nginx use Debian's OpenSSL 3. Keep-alive: `wrk -t1 -c64` on GET
/1k. Handshakes: {E.get('CMP_TLS_HS_BATCHES', '8')} × `h2load --h1 -c {E.get('CMP_TLS_HS_CONNS', '500')} -n {E.get('CMP_TLS_HS_CONNS', '500')}` (one request per
connection, each a full handshake without resumption); the figure is connections
per second of proxy CPU (user + system). 1 MiB: `wrk -t1 -c16` on GET /1m.

{chr(10).join(rows)}

## Targets

{chr(10).join(targets)}

{T.met} of {T.total} measured targets met in this run.

## Spread over rounds

{chr(10).join(spread)}
"""
dest = E.get("TLS_REPORT", "bench/TLS.md")
with open(dest, "w") as f:
    f.write(doc)
print("\n".join(rows + [""] + targets))
print(f"{T.met} of {T.total} TLS targets met; wrote {dest}")

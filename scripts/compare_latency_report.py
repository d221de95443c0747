#!/usr/bin/env python3
"""bench/LATENCY.md from the latency runs of scripts/compare.sh (WORKLOADS=latency,
scripts/compare_latency.sh): what one hop adds at one request in flight and at fixed
rates, each proxy's CPU at those rates and idle, and issue 13's targets."""

import json
import os
import re
import statistics
import time

from compare_common import NAN, Targets, fmt, meta, med, over_rounds, ratio, read  # noqa: F401

E = os.environ
OUT = E["CMP_OUT"]
ROUNDS = int(E["CMP_ROUNDS"])
TCK = int(E["CMP_TCK"])
RATES = [int(r) for r in E.get("CMP_LAT_RATES", "1000 10000").split()]
VARIANTS = E.get("CMP_LAT_PROXIES", "").split()
NAMES = {
    "direct": "direct to the origin",
    "sluice": "sluice (defaults, busy_poll 50us)",
    "sluice-nospin": 'sluice, busy_poll = "0"',
    "haproxy": "HAProxy (default)",
    "haproxy-busy": "HAProxy `busy-polling`",
    "nginx": "nginx",
    "sluice2": "sluice, 2 workers (defaults)",
    "sluice2-nospin": 'sluice, 2 workers, busy_poll = "0"',
}




def micros(value, unit):
    return float(value) * {"us": 1, "ms": 1000, "s": 1e6}[unit]


def cpu_us(m, n):
    return 1e6 * (m.get("usr_ticks", NAN) + m.get("sys_ticks", NAN)) / TCK / n if n else NAN


def c1(v, rnd):
    base = f"{OUT}/lat-{v}-c1-{rnd}"
    m, text = meta(base), read(base + ".out") or ""
    t = re.search(r"time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)", text)
    n = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded", text)
    if not (m and t and n):
        return None
    reqs = int(n.group(1))
    return {"mean": micros(t.group(1), t.group(2)), "sd": micros(t.group(3), t.group(4)),
            "p50": m.get("p50_us", NAN), "p99": m.get("p99_us", NAN), "cpu": cpu_us(m, reqs)}


def rate(v, r, rnd):
    base = f"{OUT}/lat-{v}-r{r}-{rnd}"
    m = meta(base)
    try:
        t = json.load(open(base + ".json"))["total"]
    except (OSError, ValueError, KeyError):
        return None
    n = t["requests"]
    return {"p50": t["latency_us"]["p50"], "p99": t["latency_us"]["p99"], "cpu": cpu_us(m, n),
            "errors": t["error_total"], "rps": t["rps"]}


def idle(v, rnd):
    m = meta(f"{OUT}/lat-{v}-idle-{rnd}")
    if not m:
        return None
    return {"pct": 100 * (m.get("usr_ticks", NAN) + m.get("sys_ticks", NAN)) / TCK / m.get("wall_s", NAN)}


SAT = [int(c) for c in E.get("CMP_LAT_SAT_CONNS", "64 256").split()]


def sat(v, conns, rnd):
    base = f"{OUT}/lat-{v}-sat{conns}-{rnd}"
    m, text = meta(base), read(base + ".out") or ""
    rq = re.search(r"(\d+) requests in ([\d.]+)s", text)
    if not (m and rq):
        return None
    n, secs = int(rq.group(1)), float(rq.group(2))
    return {"rps": n / secs, "cpu": cpu_us(m, n)}


def stat(fn, key, *args):
    return over_rounds(ROUNDS, fn, key, *args)


direct_mean, direct_p99 = stat(c1, "mean", "direct"), stat(c1, "p99", "direct")
c1_rows = ["| path | mean | sd | p50 | p99 | added mean | added p99 | proxy CPU per request |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
added = {}
for v in VARIANTS:
    mean, p99 = stat(c1, "mean", v), stat(c1, "p99", v)
    added[v] = mean - direct_mean
    extra = ("—", "—", "—") if v == "direct" else (
        fmt("{:.0f} µs", added[v]), fmt("{:.0f} µs", p99 - direct_p99), fmt("{:.1f} µs", stat(c1, "cpu", v)))
    c1_rows.append(f"| {NAMES.get(v, v)} | {fmt('{:.0f} µs', mean)} | {fmt('{:.0f} µs', stat(c1, 'sd', v))} | "
                   f"{fmt('{:.0f} µs', stat(c1, 'p50', v))} | {fmt('{:.0f} µs', p99)} | {' | '.join(extra)} |")

rate_rows = ["| path | rate | p50 | p99 | proxy CPU per request | errors |", "| --- | --- | --- | --- | --- | --- |"]
for v in VARIANTS:
    for r in RATES:
        rate_rows.append(f"| {NAMES.get(v, v)} | {r} req/s | {fmt('{:.0f} µs', stat(rate, 'p50', v, r))} | "
                         f"{fmt('{:.0f} µs', stat(rate, 'p99', v, r))} | "
                         f"{'—' if v == 'direct' else fmt('{:.1f} µs', stat(rate, 'cpu', v, r))} | "
                         f"{fmt('{:.0f}', stat(rate, 'errors', v, r))} |")

idle_rows = ["| proxy | CPU with no traffic (% of a core) |", "| --- | --- |"]
for v in VARIANTS:
    if v != "direct":
        idle_rows.append(f"| {NAMES.get(v, v)} | {fmt('{:.2f} %', stat(idle, 'pct', v))} |")

two_rows = ["| proxy | connections | wrk req/s | proxy CPU per request |", "| --- | --- | --- | --- |"]
for v in ("sluice", "sluice-nospin", "haproxy", "sluice2", "sluice2-nospin"):
    if v in VARIANTS:
        for c in SAT:
            two_rows.append(f"| {NAMES[v]} | {c} | {fmt('{:.0f}', stat(sat, 'rps', v, c))} | "
                            f"{fmt('{:.1f} µs', stat(sat, 'cpu', v, c))} |")

T = Targets(["| target (issue 13) | sluice | peer | met? |", "| --- | --- | --- | --- |"])
targets = T.rows


def target(name, s, p, ok):
    if s != s or p != p:
        T.add([name, "n/a", "n/a"], None)
    else:
        T.add([name, f"{s:.1f}", f"{p:.1f}"], ok(s, p))


target("added mean at c1 ≤ HAProxy busy-polling's (µs)", added.get("sluice", NAN), added.get("haproxy-busy", NAN),
       lambda s, p: s <= p)
target("added mean at c1 ≤ 0.3 × HAProxy default's (µs; peer = 0.3 ×)", added.get("sluice", NAN),
       0.3 * added.get("haproxy", NAN), lambda s, p: s <= p)
for r in RATES:
    target(f"p99 at {r} req/s ≤ HAProxy default's (µs)", stat(rate, "p99", "sluice", r), stat(rate, "p99", "haproxy", r),
           lambda s, p: s <= p)
target("idle CPU ≤ 1 % of a core (peer: busy_poll 0)", stat(idle, "pct", "sluice"), stat(idle, "pct", "sluice-nospin"),
       lambda s, p: s <= 1.0)
top = max(RATES)
target(f"CPU per request at {top} req/s ≤ 1.1 × busy_poll 0 (µs)", stat(rate, "cpu", "sluice", top),
       stat(rate, "cpu", "sluice-nospin", top), lambda s, p: s <= 1.1 * p)
for c in SAT:
    target(f"saturation (wrk -c{c}) CPU per request with spinning ≤ 1.05 × without (no regression; µs)",
           stat(sat, "cpu", "sluice", c), stat(sat, "cpu", "sluice-nospin", c), lambda s, p: s <= 1.05 * p)
    target(f"2 workers, wrk -c{c}: req/s with spinning ≥ 0.95 × without (nobody starved)", stat(sat, "rps", "sluice2", c),
           stat(sat, "rps", "sluice2-nospin", c), lambda s, p: s >= 0.95 * p)

doc = f"""# Latency per hop — sluice vs HAProxy (with and without busy-polling) vs nginx

Produced by `WORKLOADS=latency scripts/compare.sh {ROUNDS}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())};
medians of {ROUNDS} alternating rounds. {E.get('CMP_VERSIONS', '')}. {E.get('CMP_LABEL', '')}

Set-up as in METHOD.md: one-worker proxies pinned to CPU 0; the nginx origin and the
generator on CPU 1; GET /1k. "Added" is the path's figure minus the origin's own
(direct). CPU is the proxy's user + system time over the run, per request.

## One request in flight (`h2load --h1 -c1 -n {E.get('CMP_LAT_N', '20000')}`)

{chr(10).join(c1_rows)}

## Fixed rates (sluice-load open loop, 64 connections, {E.get('CMP_LAT_SECS', '5')} s)

sluice-load's timers have a 1 ms resolution: a request waits for the next tick, so
each millisecond's requests leave together (about {max(RATES) // 1000} at {max(RATES)} req/s), and a request is
timed from when it was sent; only a request that was already late (its connection
still busy with the previous answer) is timed from when it was due. At one request in
flight the two generators agree within the spread of the runs (compare each path's
c1 p50 above with its 1000 req/s p50).

{chr(10).join(rate_rows)}

## Idle ({E.get('CMP_LAT_IDLE', '10')} s, no traffic)

{chr(10).join(idle_rows)}

## Saturation (wrk, GET /1k), and two workers sharing the cores with the origin and the generator

{chr(10).join(two_rows)}

## Targets

{chr(10).join(targets)}

{T.met} of {T.total} measured targets met in this run.
"""
dest = E.get("LAT_REPORT", "bench/LATENCY.md")
with open(dest, "w") as f:
    f.write(doc)
print("\n".join(c1_rows + [""] + rate_rows + [""] + idle_rows + [""] + two_rows + [""] + targets))
print(f"{T.met} of {T.total} latency targets met; wrote {dest}")

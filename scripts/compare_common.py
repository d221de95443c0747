"""Helpers shared by the compare.sh report writers (compare_report.py,
compare_latency_report.py, compare_tls_report.py): medians that skip missing runs,
number formatting, and reading a run's output and `.meta` key=value file."""

import statistics

NAN = float("nan")


def med(xs):
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else NAN


def ratio(a, b):
    return a / b if a == a and b == b and b else NAN


def fmt(f, x):
    return "n/a" if x != x else f.format(x)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def meta(base):
    m = {}
    for line in (read(base + ".meta") or "").splitlines():
        k, _, v = line.partition("=")
        try:
            m[k] = float(v)
        except ValueError:
            pass
    return m


def over_rounds(rounds, fn, key, *args):
    """Median over rounds 1..=rounds of `fn(*args, round)[key]`, skipping rounds
    whose run is missing (`fn` returned None)."""
    return med([x[key] for x in (fn(*args, rnd) for rnd in range(1, rounds + 1)) if x])

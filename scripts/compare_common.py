"""Helpers shared by the compare.sh report writers (compare_report.py,
compare_latency_report.py, compare_tls_report.py): medians that skip missing runs,
number formatting, reading a run's output and `.meta` key=value file, and the
targets table with its met / measured count."""

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


class Targets:
    """A report's targets table: its rows (header first) and how many of the
    measured targets were met."""

    def __init__(self, header):
        self.rows = list(header)
        self.met = 0
        self.total = 0

    def add(self, cells, good):
        """Append a row of `cells` (strings) and its verdict; `good` None means the
        target was not measured and does not count."""
        if good is None:
            verdict = "not measured"
        else:
            self.total += 1
            self.met += bool(good)
            verdict = "met" if good else "**NOT met**"
        self.rows.append("| " + " | ".join(cells + [verdict]) + " |")

#!/usr/bin/env bash
# Report the longest functions in src/ (binaries included) and fail when one is
# longer than a limit.
#
#   scripts/fn-lengths.sh [--max N] [--top N] [PATH...]
#
# Prints `LINES path:line name`, longest first (the top 15 by default), then
# every function over --max (default 80) lines; exits 1 if there is any.
# PATHs are files or directories, relative to the repository root (default: src).
#
# A function's length runs from the line holding `fn` to the line of its closing
# brace, both included: attributes and doc comments are not counted, closures and
# nested items count toward the enclosing function (a nested `fn` is also listed
# on its own). Any `fn name` with a body counts: free functions, methods,
# `async`/`const`/`unsafe`/`pub(crate)` ones, trait default methods. Braces in
# comments and in string, raw-string and char literals are ignored
# (scripts/rust_source.py).
#
# Tests count too: a `#[test]` function or a helper in a `#[cfg(test)]` module is
# code in src/ that someone has to read, and the limit (issue 11) is "no function
# in src/ over 80 lines".
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "$@" <<'PY'
import argparse
import re
import sys

sys.path.insert(0, "scripts")
from rust_source import blank, line_of, line_starts, rust_files

FN = re.compile(r"\bfn\s+(?:r#)?([A-Za-z_]\w*)")


def functions(path):
    """(lines, line, name) for every function with a body in `path`."""
    with open(path, encoding="utf-8") as f:
        text = blank(f.read())
    starts = line_starts(text)
    for m in FN.finditer(text):
        body = body_span(text, m.end())
        if body:
            first = line_of(starts, m.start())
            last = line_of(starts, body[1])
            yield last - first + 1, first, m.group(1)


def body_span(text, i):
    """Offsets of the `{` and `}` of the body after a signature starting at `i`,
    or None for a declaration without a body (`fn f();` in a trait)."""
    nest = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in "([":
            nest += 1
        elif c in ")]":
            nest -= 1
        elif nest == 0 and c == ";":
            return None
        elif nest == 0 and c == "{":
            break
        i += 1
    else:
        return None
    open_at, depth = i, 0
    while i < n:
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return open_at, i
        i += 1
    return None


def main():
    ap = argparse.ArgumentParser(prog="scripts/fn-lengths.sh")
    ap.add_argument("--max", type=int, default=80, help="longest allowed (default 80)")
    ap.add_argument("--top", type=int, default=15, help="how many to list (default 15)")
    ap.add_argument("paths", nargs="*", default=["src"])
    args = ap.parse_args()

    found = [
        (lines, path, line, name)
        for path in rust_files(args.paths)
        for lines, line, name in functions(path)
    ]
    found.sort(key=lambda f: (-f[0], f[1], f[2]))
    for lines, path, line, name in found[: args.top]:
        print(f"{lines:5} {path}:{line} {name}")
    over = [f for f in found if f[0] > args.max]
    if over:
        print(f"\n{len(over)} function(s) over {args.max} lines:", file=sys.stderr)
        for lines, path, line, name in over:
            print(f"{lines:5} {path}:{line} {name}", file=sys.stderr)
        sys.exit(1)


main()
PY

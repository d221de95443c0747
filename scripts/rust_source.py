"""Rust source helpers shared by scripts/fn-lengths.sh and scripts/check-layers.sh.

`blank(text)` returns `text` with every comment and every string, byte-string,
raw-string (`r#"..."#`) and char literal (`'{'`, `'\\''`) replaced by spaces.
Newlines are kept, so offsets and line numbers still match the file. Lifetimes
and labels (`'a`) are left alone. This is a lexer, not a parser: it is enough to
count braces and find `fn` and `use` in rustfmt-formatted code.
"""

import bisect
import os
import re

_RAW = re.compile(r'r(#*)"')
_CHAR = re.compile(r"'(?:[^\\'\n]|\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F_]{1,6}\}|.))'")


def _ident(c):
    return c.isalnum() or c == "_"


def blank(src):
    out = list(src)
    n = len(src)

    def wipe(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    i = 0
    while i < n:
        c = src[i]
        if c == "/" and src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
        elif c == "/" and src.startswith("/*", i):
            depth, j = 0, i
            while j < n:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                    if depth == 0:
                        break
                else:
                    j += 1
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            j = min(j + 1, n)
        elif c == "r" and _RAW.match(src, i) and _raw_prefix_ok(src, i):
            m = _RAW.match(src, i)
            close = '"' + m.group(1)
            j = src.find(close, m.end())
            j = n if j < 0 else j + len(close)
        elif c == "'" and _CHAR.match(src, i):
            j = _CHAR.match(src, i).end()
        else:
            i += 1
            continue
        wipe(i, j)
        i = j
    return "".join(out)


def _raw_prefix_ok(src, i):
    """`r` starts a raw string only as a token start, or after a `b`/`c` prefix."""
    if i == 0 or not _ident(src[i - 1]):
        return True
    return src[i - 1] in "bc" and (i == 1 or not _ident(src[i - 2]))


def rust_files(roots):
    """Every `.rs` file under `roots` (files or directories), sorted."""
    found = []
    for root in roots:
        if os.path.isfile(root):
            found.append(root)
            continue
        for dirpath, _dirs, files in os.walk(root):
            found.extend(os.path.join(dirpath, f) for f in files if f.endswith(".rs"))
    return sorted(found)


def line_starts(text):
    """Offsets of each line's first character, for `line_of`."""
    starts = [0]
    starts.extend(m.end() for m in re.finditer("\n", text))
    return starts


def line_of(starts, offset):
    """1-based line number of `offset`."""
    return bisect.bisect_right(starts, offset)

#!/usr/bin/env bash
# Check the crate's module dependencies against the layer order stated in
# src/lib.rs (`# Layout`), and look for import cycles inside each module.
#
#   scripts/check-layers.sh
#
# Reads every `use` tree and every path in code (`crate::…`, `super::…`,
# `self::…`, a child module's `name::…`, and `sluice::…` in the binaries) in
# src/**/*.rs, test modules included: test code is compiled with the module and
# should not reach upward either. Comments and string literals are ignored
# (scripts/rust_source.py).
#
# (a) Layers: the numbered list in lib.rs's `# Layout` names each layer's modules
#     in backticks, lowest first; `bin/*` stands for the binaries. A module may use
#     only modules on earlier lines, and itself. A module missing from the list is
#     an error too.
# (b) Cycles: files of one module directory (its mod.rs or `name.rs` plus the files
#     beside it; each binary's files) must not import each other in a cycle. A
#     `pub use` re-export is not counted as its file's own dependency, and a path
#     through it is followed to the file that defines the item.
#
# Prints each violation and exits 1 if there is any.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "$@" <<'PY'
import os
import re
import sys

sys.path.insert(0, "scripts")
from rust_source import blank, line_of, line_starts, rust_files

USE = re.compile(r"(?<![\w$])(pub(?:\s*\([^)]*\))?\s+)?use\s+([^;]*);")
PATH = re.compile(r"(?<![\w$:])((?:[A-Za-z_]\w*::)+)([A-Za-z_]\w*)?")
INLINE_MOD = re.compile(r"(?<![\w$])mod\s+([A-Za-z_]\w*)\s*\{")
ITEM = re.compile(r"\b(?:struct|enum|fn|const|static|type|trait|union|mod|macro_rules!)\s+([A-Za-z_]\w*)")
TOKENS = re.compile(r"[A-Za-z_]\w*|::|[{},*]")


class File:
    def __init__(self, path, crate, modpath, group):
        self.path, self.crate, self.mod, self.group = path, crate, modpath, group
        with open(path, encoding="utf-8") as f:
            self.text = blank(f.read())
        self.starts = line_starts(self.text)
        self.inline = []  # (start, end, name) of `mod name { … }` blocks
        for m in INLINE_MOD.finditer(self.text):
            end = matching_brace(self.text, m.end() - 1)
            self.inline.append((m.start(), end, m.group(1)))
        self.items = set(ITEM.findall(self.text))
        self.uses = []  # (offset, is_pub, [segments])
        for m in USE.finditer(self.text):
            for segs in use_tree(m.group(2)):
                self.uses.append((m.start(), bool(m.group(1)), segs))

    def scope(self, offset):
        """Module path at `offset`, inline `mod` blocks included."""
        return self.mod + [n for s, e, n in self.inline if s < offset < e]

    def line(self, offset):
        return line_of(self.starts, offset)


def matching_brace(text, i):
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(text)


def use_tree(tree):
    """Expand `a::{b, c::d as e, self}` into [[a, b], [a, c, d], [a]]."""
    toks = TOKENS.findall(tree)
    out = []

    def walk(i, prefix):
        segs = list(prefix)
        while i < len(toks):
            t = toks[i]
            if t == "{":
                i += 1
                while i < len(toks) and toks[i] != "}":
                    i = walk(i, segs)
                    if i < len(toks) and toks[i] == ",":
                        i += 1
                return i + 1
            if t == "*":
                out.append(segs + ["*"])
                return i + 1
            if t in ",}":
                break
            if t == "as":
                i += 2
                continue
            if t != "::" and not (t == "self" and segs):
                segs.append(t)
            i += 1
        if segs != list(prefix) or (prefix and toks[i - 1] == "self"):
            out.append(segs)
        return i

    walk(0, [])
    return out


def load_files():
    files = []
    for path in rust_files(["src"]):
        rel = os.path.relpath(path, "src").replace(os.sep, "/")
        parts = rel[:-3].split("/")
        if parts[0] == "bin":
            crate = "bin/" + parts[1]
            parts = parts[2:]
            if parts in ([], ["main"]):
                parts = []
            group = "src/bin/" + rel.split("/")[1]
        else:
            crate = "lib"
            if parts == ["lib"]:
                continue  # only `pub mod` lines and the docs
        if parts and parts[-1] == "mod":
            parts = parts[:-1]
        if crate == "lib":
            root = parts if parts and os.path.isdir(os.path.join("src", *parts)) else parts[:-1]
            group = "src/" + "/".join(root) if root else "src"
        files.append(File(path, crate, parts, group))
    return files


class Crates:
    def __init__(self, files):
        self.modules = {}  # (crate, module path) -> File
        for f in files:
            self.modules[(f.crate, tuple(f.mod))] = f
            for s, _e, _n in f.inline:
                self.modules[(f.crate, tuple(f.scope(s + 1)))] = f

    def is_module(self, crate, path):
        return (crate, tuple(path)) in self.modules

    def absolute(self, f, offset, segs):
        """(crate, absolute path) named by `segs` at `offset` in `f`, or None."""
        here = f.scope(offset)
        head = segs[0]
        if head == "crate":
            return f.crate, segs[1:]
        if head == "sluice" and f.crate != "lib":
            return "lib", segs[1:]
        if head in ("self", "super"):
            base = here
            rest = segs
            if head == "self":
                rest = segs[1:]
            while rest and rest[0] == "super":
                base, rest = base[:-1], rest[1:]
            return f.crate, base + rest
        if self.is_module(f.crate, here + [head]):
            return f.crate, here + segs
        return None

    def file_of(self, crate, path, depth=0):
        """The file defining `path`'s module, or its item if re-exported."""
        for cut in range(len(path), -1, -1):
            f = self.modules.get((crate, tuple(path[:cut])))
            if f is None:
                continue
            rest = path[cut:]
            if rest and rest[0] != "*" and depth < 8:
                via = self.reexport(f, rest[0], depth)
                if via is not None:
                    return via
            return f
        return None

    def reexport(self, f, name, depth):
        for offset, is_pub, segs in f.uses:
            if not is_pub:
                continue
            target = self.absolute(f, offset, segs)
            if target is None:
                continue
            crate, path = target
            if path and path[-1] == name:
                return self.file_of(crate, path, depth + 1)
            if path and path[-1] == "*":
                g = self.file_of(crate, path[:-1], depth + 1)
                if g is not None and g is not f and name in g.items:
                    return self.file_of(crate, path[:-1] + [name], depth + 1)
        return None


def references(f, crates):
    """(offset, is_pub_use, crate, absolute path) for each path `f` names."""
    spans = []
    for m in USE.finditer(f.text):
        spans.append((m.start(), m.end()))
    for offset, is_pub, segs in f.uses:
        target = crates.absolute(f, offset, segs)
        if target:
            yield offset, is_pub, target[0], target[1]
    for m in PATH.finditer(f.text):
        if any(s <= m.start() < e for s, e in spans):
            continue
        segs = m.group(1).split("::")[:-1] + ([m.group(2)] if m.group(2) else [])
        target = crates.absolute(f, m.start(), segs)
        if target:
            yield m.start(), False, target[0], target[1]


def read_layers():
    """{module: line number} from the numbered list in lib.rs's `# Layout`."""
    layers = {}
    inside = False
    with open("src/lib.rs", encoding="utf-8") as lib:
        for text in lib:
            if not text.startswith("//!"):
                continue
            doc = text[3:].strip()
            if doc.startswith("#"):
                inside = doc == "# Layout"
                continue
            m = re.match(r"(\d+)\.\s", doc)
            if inside and m:
                for name in re.findall(r"`([^`]+)`", doc):
                    layers[name] = int(m.group(1))
    return layers


def check_layers(files, crates, layers):
    problems = []
    for f in files:
        src = f.mod[0] if f.crate == "lib" else "bin/*"
        if src not in layers:
            problems.append(f"{f.path}: module `{src}` is not in lib.rs's layer list")
            continue
        seen = set()
        for offset, _pub, crate, path in references(f, crates):
            if crate != "lib" or not path or path[0] == "*":
                continue
            dst = path[0]
            if dst == src or (f.line(offset), dst) in seen:
                continue
            seen.add((f.line(offset), dst))
            if dst not in layers:
                problems.append(f"{f.path}:{f.line(offset)}: uses `{dst}`, which is not in lib.rs's layer list")
            elif layers[dst] >= layers[src]:
                problems.append(
                    f"{f.path}:{f.line(offset)}: `{src}` (layer {layers[src]}) uses "
                    f"`{dst}` (layer {layers[dst]})"
                )
    return problems


def check_cycles(files, crates):
    edges = {}  # file -> {file: first line}
    for f in files:
        out = edges.setdefault(f, {})
        for offset, is_pub, crate, path in references(f, crates):
            if is_pub:
                continue
            g = crates.file_of(crate, path)
            if g is not None and g is not f and g.group == f.group and g not in out:
                out[g] = f.line(offset)
    problems = []
    for scc in strongly_connected(files, edges):
        if len(scc) < 2:
            continue
        names = ", ".join(sorted(g.path for g in scc))
        problems.append(f"import cycle in {scc[0].group}/: {names}")
        for g in sorted(scc, key=lambda g: g.path):
            for h, line in sorted(edges[g].items(), key=lambda e: e[1]):
                if h in scc:
                    problems.append(f"    {g.path}:{line} uses {h.path}")
    return problems


def strongly_connected(nodes, edges):
    """Tarjan's algorithm, iterative."""
    index, low, stack, on, out = {}, {}, [], set(), []
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(edges[w])))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                scc = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    scc.append(w)
                    if w is v:
                        break
                out.append(scc)
    return out


def main():
    layers = read_layers()
    if not layers:
        sys.exit("check-layers: no numbered layer list under `# Layout` in src/lib.rs")
    files = load_files()
    crates = Crates(files)
    problems = check_layers(files, crates, layers) + check_cycles(files, crates)
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print(f"check-layers: {len(files)} files, no cycles, layer order respected")


main()
PY

#!/usr/bin/env python3
"""Checks the source layout issue 26 asks for:

1. no import cycle between the modules of `hemtid-core` (each file is a
   module; `a` depends on `b` when its code names `crate::b`, `super::b`
   or `self::b` paths resolving to `b` or inside it), and
2. no source file over LIMIT lines outside tests (files named `*_tests.rs`
   or `tests.rs`, the folders `tests/` and `benches/`, `#[cfg(test)]`
   modules inside a file and the generated `schema.rs` are left out).

A parent module declaring its children (`mod x;`) and re-exporting their
items (`pub use x::Y;`) does not depend on them; its code using them does,
and so does a child naming its parent's items. Test modules
(`#[cfg(test)]` files) are left out. Prints the cycles and long files;
exits 1 if there is a cycle, or with `--sizes` (as CI runs it) a long file. `--report` prints the graph's edges.

Run: python3 .ci/layout.py [--sizes] [--report]
"""

import os
import re
import sys
from collections import defaultdict

LIMIT = 600
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CORE = os.path.join(ROOT, "core", "src")


def module_of(path):
    """`core/src/db/visit.rs` -> ('db', 'visit'); mod.rs and lib.rs name their folder."""
    rel = os.path.relpath(path, CORE)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    return tuple(rel)


def is_test(path):
    name = os.path.basename(path)
    return name.endswith("_tests.rs") or name in ("tests.rs", "testing.rs")


def strip(text):
    """The code without comments, string and char literals (paths in docs
    and SQL text are not dependencies)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif (m := re.match(r'b?r(#*)"', text[i:])) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = '"' + m.group(1)
            j = text.find(end, i + m.end())
            out.append('""')
            i = n if j < 0 else j + len(end)
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            out.append('""')
            i += 1
        elif c == "'" and (m := re.match(r"'(\\(x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'])'", text[i:])):
            out.append("' '")
            i += m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def without_test_modules(text):
    """Drops inline `#[cfg(test)] mod x { ... }` blocks."""
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(#\[[^\]]*\]\s*)*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i : m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def main():
    modules = {}
    for dirpath, _, files in os.walk(CORE):
        for f in files:
            if f.endswith(".rs"):
                p = os.path.join(dirpath, f)
                if not is_test(p):
                    modules[module_of(p)] = p
    known = set(modules)

    def resolve(parts):
        """The longest known module a path's segments name."""
        for n in range(len(parts), -1, -1):
            if tuple(parts[:n]) in known:
                return tuple(parts[:n])
        return ()

    edges = defaultdict(set)
    path_re = re.compile(r"\b(crate|super|self)((?:::\w+)+)")
    brace_re = re.compile(r"\b(crate|super|self)((?:::\w+)*)::\{([^;]*?)\}\s*;", re.S)
    for mod, p in modules.items():
        text = without_test_modules(strip(open(p, encoding="utf-8").read()))
        # A parent declaring its children and re-exporting their items is
        # how Rust lays out modules, not a dependency; its code using them is.
        children = {k[-1] for k in modules if len(k) == len(mod) + 1 and k[: len(mod)] == mod}
        reexported = []

        def drop_reexport(m):
            child, items = m.group(1), m.group(2)
            if child not in children:
                return m.group(0)
            reexported.append((child, re.findall(r"\w+", items)))
            return ""

        text = re.sub(
            r"(?m)^\s*pub(?:\([^)]*\))?\s+use\s+(?:self::)?(\w+)::([^;]*);", drop_reexport, text
        )
        # A file that is itself a folder's mod.rs resolves `super` from the folder.
        base = list(mod)
        paths = []
        for m in path_re.finditer(text):
            paths.append((m.group(1), [s for s in m.group(2).split("::") if s]))
        for m in brace_re.finditer(text):
            head = [s for s in m.group(2).split("::") if s]
            for item in re.split(r",", m.group(3)):
                first = re.findall(r"\w+", item)
                if first:
                    paths.append((m.group(1), head + [first[0]]))
        text = re.sub(r"(?m)^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*;", "", text)
        # Paths relative to this module: its children by name.
        for child in children:
            if re.search(r"(?<![:\w])" + child + r"::", text):
                paths.append(("self", [child]))
        # A re-exported item the module's own code uses.
        for child, names in reexported:
            if any(re.search(r"(?<![:\w])" + n + r"\b", text) for n in names if n not in ("self", "crate")):
                paths.append(("self", [child]))
        for kind, segs in paths:
            if kind == "crate":
                start = []
            elif kind == "self":
                start = base[:]
            else:
                start = base[:-1]
                while segs and segs[0] == "super":
                    start, segs = start[:-1], segs[1:]
            target = resolve(start + segs)
            if target == mod or target == ():
                continue
            edges[mod].add(target)

    # Cycles: strongly connected components of more than one module.
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(known):
        if v not in index:
            visit(v)

    name = lambda m: "::".join(m) or "crate"
    if "--report" in sys.argv:
        for a in sorted(edges):
            print(f"{name(a)} -> {', '.join(sorted(name(b) for b in edges[a]))}")
    failed = False
    for comp in sccs:
        failed = True
        inside = set(comp)
        print(f"import cycle in hemtid-core: {', '.join(name(m) for m in comp)}")
        for a in comp:
            for b in sorted(edges[a] & inside):
                print(f"    {name(a)} -> {name(b)}")

    long = []
    for top in ("core", "api", "gateway", "src"):
        for dirpath, dirs, files in os.walk(os.path.join(ROOT, top)):
            dirs[:] = [d for d in dirs if d not in ("tests", "target")]
            for f in files:
                p = os.path.join(dirpath, f)
                if not f.endswith(".rs") or is_test(p) or f == "schema.rs":
                    continue
                text = open(p, encoding="utf-8").read()
                n = without_test_modules(text).count("\n")
                if n > LIMIT:
                    long.append((n, os.path.relpath(p, ROOT)))
    for n, p in sorted(long, reverse=True):
        failed = failed or "--sizes" in sys.argv
        print(f"{p}: {n} lines (at most {LIMIT} outside tests)")
    print(
        f"{len(known)} modules of hemtid-core, {sum(len(v) for v in edges.values())} dependencies, "
        f"{len(sccs)} cycles; {len(long)} files over {LIMIT} lines"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

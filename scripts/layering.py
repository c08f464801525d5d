#!/usr/bin/env python3
"""Check the layering of src/: import cycles between files, files directly in src/, file sizes.

Usage: python3 scripts/layering.py [--graph]

Every path a file names (`use crate::a::b::{C, d::E}`, `crate::a::f()`, `super::x::Y`,
`self::y::Z`) is resolved to the deepest file that holds it (src/a/b.rs, src/a/b/mod.rs,
src/a.rs or src/a/mod.rs); that is an edge from the naming file to that file. `mod x;`
declarations are containment, not imports, and are not edges. Comments and string literals are
stripped first. The strongly connected components of that graph are the import cycles.

Exit code 0 when the house rules hold (docs/ARCHITECTURE.md):
  - every import between top-level modules points down LAYERS (or stays in its layer), and
    the top-level modules import each other in no cycle;
  - clap is named only in src/main.rs, src/cli.rs, src/cli/ and src/config/;
  - no import cycle spanning more than two files;
  - at most 10 .rs files directly in src/;
  - no file under src/ over 900 lines;
  - src/main.rs under 80 lines.
Exit code 1 otherwise, with one line per broken rule.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"

# The layering rule (docs/ARCHITECTURE.md): a module may import from its own layer's modules
# and from the layers below it, never from a layer above. `serve` (the embedded target) is
# used by commands only and uses no stage.
LAYERS = [
    ["main"],
    ["cmd"],
    ["lib"],
    ["serve"],
    ["output", "export"],
    ["report"],
    ["engine"],
    ["collector"],
    ["config", "cli"],
    ["stats"],
    ["traffic", "stream", "sample", "redact", "parse", "error"],
]
CLAP_ALLOWED = ("src/main.rs", "src/cli.rs", "src/cli/", "src/config/")

MAX_CYCLE_FILES = 2
MAX_TOP_LEVEL_FILES = 10
MAX_FILE_LINES = 900
MAX_MAIN_LINES = 80


def strip_comments_and_strings(text: str) -> str:
    """Remove // and /* */ comments and string/char literals (raw strings included)."""
    out = []
    i, n = 0, len(text)
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
        elif c == "r" and re.match(r'r#*"', text[i:]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            hashes = m.group(1)
            end = text.find('"' + hashes, i + len(m.group(0)))
            i = n if end < 0 else end + 1 + len(hashes)
            out.append('""')
        elif c == "b" and text.startswith('b"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            i += 1
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'":
            # A char literal ('a', '\n', '\u{..}') or a lifetime ('a): only skip the former.
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'", text[i:])
            if m:
                i += len(m.group(0))
                out.append("' '")
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def module_path(file: Path) -> list[str]:
    """src/engine/user.rs -> ["engine", "user"]; src/engine/mod.rs -> ["engine"]."""
    rel = file.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib", "main") and len(parts) >= 1:
        parts = parts[:-1]
    return parts


def file_for(parts: list[str]) -> Path | None:
    """The deepest file holding the module path `parts` (crate-relative)."""
    for k in range(len(parts), -1, -1):
        prefix = parts[:k]
        if not prefix:
            return SRC / "lib.rs"
        base = SRC.joinpath(*prefix)
        for cand in (base.with_suffix(".rs"), base / "mod.rs"):
            if cand.is_file():
                return cand
    return None


def expand_use_tree(tree: str) -> list[str]:
    """`a::{b, c::{d, e}}` -> ["a::b", "a::c::d", "a::c::e"] (aliases and globs kept as leaves)."""
    tree = re.sub(r"\s+as\s+[A-Za-z_][A-Za-z0-9_]*", "", tree)
    tree = re.sub(r"\s+", "", tree)
    m = re.match(r"^(.*?)\{(.*)\}$", tree)
    if not m:
        return [tree]
    prefix, inner = m.group(1), m.group(2)
    items, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    if cur:
        items.append(cur)
    out = []
    for item in items:
        for sub in expand_use_tree(item):
            out.append(prefix + sub if sub not in ("self",) else prefix.rstrip(":"))
    return out


PATH_RE = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_RE = re.compile(r"\buse\s+([A-Za-z_][^;]*);", re.S)
MOD_RE = re.compile(r"\bmod\s+([a-z_][a-z0-9_]*)\s*;")
ROOT_PATH_RE = re.compile(r"\b([a-z_][a-z0-9_]*)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")


def resolve(file: Path, path: str) -> Path | None:
    segs = [s for s in path.split("::") if s]
    here = module_path(file)
    # A file that is not mod.rs/lib.rs is the module itself; `super` is its parent.
    if segs[0] == "crate":
        base = []
    elif segs[0] == "self":
        base = here
    else:  # super (possibly repeated)
        base = here
        while segs and segs[0] == "super":
            base = base[:-1]
            segs = segs[1:]
        segs = ["super"] + segs  # keep the shape: drop the marker below
    rest = [s for s in segs[1:] if s != "*"]
    return file_for(base + rest)


def edges_of(file: Path) -> set[Path]:
    text = strip_comments_and_strings(file.read_text())
    # Inline `mod tests { use super::*; }` refers to this very file.
    targets: set[Path] = set()
    paths: list[str] = []
    # Child modules declared here (`mod x;`) and module names brought in by `use` act as
    # path roots too: `x::f()` is `self::x::f()`, and after `use crate::engine;` (or
    # `use crate::engine::{self}`) `engine::user::User` is `crate::engine::user::User`.
    roots = {m.group(1): "self::" + m.group(1) for m in MOD_RE.finditer(text)}
    for m in USE_RE.finditer(text):
        tree = m.group(1).strip()
        if tree.split("::")[0] in roots:
            first = tree.split("::")[0]
            tree = roots[first] + tree[len(first):]
        elif not re.match(r"(crate|super|self)::", tree):
            continue  # an external crate
        for p in expand_use_tree(tree):
            paths.append(p)
            last = p.rsplit("::", 1)[-1]
            if re.fullmatch(r"[a-z_][a-z0-9_]*", last):
                roots.setdefault(last, p)
    body = USE_RE.sub(" ", text)
    for m in PATH_RE.finditer(body):
        paths.append(m.group(1) + m.group(2))
    for m in ROOT_PATH_RE.finditer(body):
        if m.group(1) in roots and (m.start() == 0 or body[m.start() - 1] != ":"):
            paths.append(roots[m.group(1)] + m.group(2))
    for p in paths:
        p = p.rstrip(":")
        if p in ("self", "super", "crate"):
            continue
        if p == "super::*":
            continue  # `use super::*` in an inline `mod tests` is this very file
        t = resolve(file, p)
        if t is not None and t != file:
            targets.add(t)
    return targets


def tarjan(graph: dict[Path, set[Path]]) -> list[list[Path]]:
    sys.setrecursionlimit(10000)
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v: Path) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
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
            out.append(comp)

    for v in graph:
        if v not in index:
            visit(v)
    return out


def main() -> int:
    files = sorted(p for p in SRC.rglob("*.rs"))
    graph = {f: edges_of(f) for f in files}
    rel = lambda p: str(p.relative_to(ROOT))  # noqa: E731
    if "--graph" in sys.argv:
        for f in files:
            print(rel(f), "->", " ".join(sorted(rel(t) for t in graph[f])))
    problems = []
    cycles = sorted((c for c in tarjan(graph) if len(c) > 1), key=len, reverse=True)
    for c in cycles:
        names = ", ".join(sorted(rel(p) for p in c))
        print(f"cycle of {len(c)} files: {names}")
        if len(c) > MAX_CYCLE_FILES:
            problems.append(f"an import cycle spans {len(c)} files (at most {MAX_CYCLE_FILES})")
    layer_of = {m: i for i, layer in enumerate(LAYERS) for m in layer}
    top_module = lambda p: str(p.relative_to(SRC)).split("/")[0].removesuffix(".rs")  # noqa: E731
    module_edges: dict[str, set[str]] = {}
    for f, targets in graph.items():
        a = top_module(f)
        if a not in layer_of:
            problems.append(f"{rel(f)}: top-level module '{a}' is in no layer of LAYERS")
            continue
        for t in targets:
            b = top_module(t)
            if a == b or b not in layer_of:
                continue
            module_edges.setdefault(a, set()).add(b)
            if layer_of[b] < layer_of[a]:
                problems.append(f"{rel(f)} imports {rel(t)}: '{a}' may not import '{b}', a layer above it")
    module_cycles = [c for c in tarjan({m: module_edges.get(m, set()) for m in layer_of}) if len(c) > 1]
    for c in module_cycles:
        problems.append("top-level modules import each other: " + ", ".join(sorted(c)))
    print("layers (each imports only from its own layer and those below):")
    for i, layer in enumerate(LAYERS):
        uses = sorted({b for m in layer for b in module_edges.get(m, ())})
        print(f"  {i + 1:2}. {', '.join(layer):32} -> {', '.join(uses) or '(nothing)'}")
    for f in files:
        r = rel(f)
        if not r.startswith(CLAP_ALLOWED) and re.search(r"\bclap::", strip_comments_and_strings(f.read_text())):
            problems.append(f"{r} names clap (only {', '.join(CLAP_ALLOWED)} may)")
    top = sorted(p.name for p in SRC.glob("*.rs"))
    print(f"{len(top)} .rs files directly in src/: {' '.join(top)}")
    if len(top) > MAX_TOP_LEVEL_FILES:
        problems.append(f"{len(top)} .rs files directly in src/ (at most {MAX_TOP_LEVEL_FILES})")
    sizes = sorted(((sum(1 for _ in open(f)), f) for f in files), reverse=True)
    print("largest files: " + ", ".join(f"{rel(f)} {n}" for n, f in sizes[:5]))
    for n, f in sizes:
        if n > MAX_FILE_LINES:
            problems.append(f"{rel(f)} has {n} lines (at most {MAX_FILE_LINES})")
    main_lines = sum(1 for _ in open(SRC / "main.rs"))
    print(f"src/main.rs: {main_lines} lines")
    if main_lines >= MAX_MAIN_LINES:
        problems.append(f"src/main.rs has {main_lines} lines (under {MAX_MAIN_LINES})")
    print(f"{len(files)} files, {sum(len(v) for v in graph.values())} file-to-file imports")
    for p in problems:
        print(f"FAIL: {p}")
    if not problems:
        print("ok: layers respected, clap at the edge, no cycle over two files, src/ top level, "
              "file sizes and main.rs within limits")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

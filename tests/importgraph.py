"""The import graph of a package from its source (type-only imports included), for tests
that hold the structure: no circle of files, and named layers that never import upward."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def modules(package: str) -> dict[str, Path]:
    """Dotted module name -> source file, for every module of `package`."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(package: str) -> dict[str, set[str]]:
    """Module -> every dotted name it imports (relative imports resolved), at run time or
    for typing alone: `from a import b` gives `a.b` and `a`, whatever `b` is."""
    found: dict[str, set[str]] = {}
    for name, path in modules(package).items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = found[name] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([node.module] if node.module else []))
                targets.update(f"{base}.{a.name}" for a in node.names)
                targets.add(base)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
    return found


def graph(package: str) -> dict[str, set[str]]:
    """Module -> the modules of `package` it imports (at run time or for typing alone),
    for every module of `package`. `from a import b` counts `a.b` if it is a module, and
    `a` too (its `__init__` runs first) unless `a` is a package the importer is in."""
    mods = modules(package)
    edges: dict[str, set[str]] = {name: set() for name in mods}
    for name, targets in imports(package).items():
        for target in targets:
            while target and target not in mods:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                edges[name].add(target)
    return edges


def circles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """Every circle of files in `edges`: the strongly connected components of more than
    one module (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def cycles(package: str) -> list[list[str]]:
    """Every circle of files in `package`."""
    return circles(graph(package))

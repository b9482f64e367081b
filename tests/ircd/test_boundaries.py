"""Rules of the package as a whole: import direction, no module-level mutable state, no exit().

The import graph is read from the source (type-only imports under `if TYPE_CHECKING:`
included): no circle of files anywhere, and nothing below the server imports it.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

import ircd

PACKAGE = Path(ircd.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))
MUTABLE_CALLS = {
    "dict",
    "list",
    "set",
    "defaultdict",
    "deque",
    "bytearray",
    "OrderedDict",
    "Counter",
}


#: The modules above the server: they may import it (everything else is below it).
ABOVE_SERVER = frozenset({"ircd", "ircd.__main__", "ircd.net", "ircd.connection", "ircd.inprocess"})
#: Imports that close a circle and stay, each with its reason (docs/ARCHITECTURE.md too).
ALLOWED_UPWARD = {
    ("ircd.client", "ircd.channel"): "a client lists its channels, a channel its members "
    "(two data types naming each other; type-only)",
    ("ircd.client", "ircd.replies"): "a client holds the reply buffer of its deferred command "
    "(type-only)",
}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the ircd modules it imports, at run time or for types only.

    `from a import b` names the module `a.b` when there is one, else `a` (as grimp
    and pydeps read it); relative imports are resolved.
    """
    modules = {_module_name(path): path for path in SOURCES}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(_tree(path)):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*up, base] if base else up)
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def circles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_reader_sees_type_only_imports_and_circles() -> None:
    graph = import_graph()
    assert "ircd.commands" in graph["ircd.server"]  # a run-time import
    assert "ircd.context" in graph["ircd.commands.message"]  # under `if TYPE_CHECKING:`
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_circle_of_files() -> None:
    graph = import_graph()
    for (source, target), reason in ALLOWED_UPWARD.items():
        assert target in graph[source], f"stale allow-list entry {source} -> {target}: {reason}"
        graph[source].discard(target)
    assert circles(graph) == []


def test_nothing_below_the_server_imports_it() -> None:
    graph = import_graph()
    importers = {name for name, targets in graph.items() if "ircd.server" in targets}
    assert importers <= ABOVE_SERVER, sorted(importers - ABOVE_SERVER)


def test_only_the_wiring_sees_the_handlers() -> None:
    # Below the handlers (services, leaves) nothing imports them: what the core needs
    # of a command family lives in a module of its own (caps, welcome, notify, ...).
    graph = import_graph()
    allowed = {"ircd.intake", "ircd.server"}
    for name, targets in graph.items():
        if name.startswith("ircd.commands") or name in allowed:
            continue
        handlers = sorted(t for t in targets if t.startswith("ircd.commands"))
        assert not handlers, f"{name} imports {handlers}"


def test_handlers_see_the_context_only() -> None:
    # Handlers are typed against `ircd.context.Context`; the wiring is above them.
    graph = import_graph()
    wiring = {"ircd.server", "ircd.intake", "ircd.net", "ircd.connection", "ircd.inprocess", "ircd"}
    for name, targets in graph.items():
        if name.startswith("ircd.commands"):
            assert not targets & wiring, f"{name} imports {sorted(targets & wiring)}"


def test_ircd_never_imports_gateway_or_radio() -> None:
    for path in SOURCES:
        for node in ast.walk(_tree(path)):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in {"gateway", "radio"}, f"{path}: imports {name}"


def test_no_module_level_mutable_state() -> None:
    for path in SOURCES:
        for node in _tree(path).body:
            value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
            if value is None:
                continue
            mutable = isinstance(
                value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)
            )
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
                mutable = mutable or value.func.id in MUTABLE_CALLS
            assert not mutable, f"{path}:{node.lineno}: module-level mutable value"


def test_no_exit_outside_main() -> None:
    for path in SOURCES:
        if path.name == "__main__.py":
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                assert name not in {"exit", "_exit", "quit"}, f"{path}:{node.lineno}: {name}()"


def test_single_broad_except() -> None:
    broad = []
    for path in SOURCES:
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.ExceptHandler):
                continue
            if node.type is None or (
                isinstance(node.type, ast.Name) and node.type.id in {"Exception", "BaseException"}
            ):
                broad.append((path.name, node.lineno))
    # Two boundaries: per command in intake.py (logs, answers 400, the connection stays)
    # and per connection in connection.py (logs and closes that connection), nothing else.
    assert sorted(name for name, _ in broad) == ["connection.py", "intake.py"], broad


def test_limits_table_names_real_bounds() -> None:
    # Every bound in the table of ircd/__init__.py exists: a Limits field, a config key
    # or a module constant.
    import dataclasses
    import importlib
    import re

    from ircd.config import IrcConfig, Limits

    names = re.findall(r"``([a-z_.A-Z0-9]+)``", ircd.__doc__ or "")
    assert len(names) > 15
    for name in names:
        owner, _, attr = name.rpartition(".")
        if owner == "limits":
            assert attr in {f.name for f in dataclasses.fields(Limits)}, name
        elif not owner:
            assert attr in {f.name for f in dataclasses.fields(IrcConfig)}, name
        else:
            assert hasattr(importlib.import_module(f"ircd.{owner}"), attr), name

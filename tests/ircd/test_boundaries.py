"""Rules of the package as a whole: import direction, no module-level mutable state, no exit().

The import graph is read from the source by tests/importgraph.py (type-only imports
under `if TYPE_CHECKING:` included): no circle of files anywhere, and nothing below the
server imports it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import ircd
from tests import importgraph

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
    ("ircd.client", "ircd.listing"): "a client holds the LIST going out to it (type-only)",
}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_the_graph_reader_sees_type_only_imports_and_circles() -> None:
    graph = importgraph.graph("ircd")
    assert "ircd.commands" in graph["ircd.server"]  # a run-time import
    assert "ircd.context" in graph["ircd.commands.message"]  # under `if TYPE_CHECKING:`
    assert importgraph.circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c"]
    ]
    assert importgraph.circles({"a": {"b"}, "b": set()}) == []


def test_no_circle_of_files() -> None:
    graph = importgraph.graph("ircd")
    for (source, target), reason in ALLOWED_UPWARD.items():
        assert target in graph[source], f"stale allow-list entry {source} -> {target}: {reason}"
        graph[source].discard(target)
    assert importgraph.circles(graph) == []


def test_nothing_below_the_server_imports_it() -> None:
    graph = importgraph.graph("ircd")
    importers = {name for name, targets in graph.items() if "ircd.server" in targets}
    assert importers <= ABOVE_SERVER, sorted(importers - ABOVE_SERVER)


def test_only_the_wiring_sees_the_handlers() -> None:
    # Below the handlers (services, leaves) nothing imports them: what the core needs
    # of a command family lives in a module of its own (caps, welcome, notify, ...).
    graph = importgraph.graph("ircd")
    allowed = {"ircd.intake", "ircd.server"}
    for name, targets in graph.items():
        if name.startswith("ircd.commands") or name in allowed:
            continue
        handlers = sorted(t for t in targets if t.startswith("ircd.commands"))
        assert not handlers, f"{name} imports {handlers}"


def test_handlers_see_the_context_only() -> None:
    # Handlers are typed against `ircd.context.Context`; the wiring is above them.
    graph = importgraph.graph("ircd")
    wiring = {"ircd.server", "ircd.intake", "ircd.net", "ircd.connection", "ircd.inprocess", "ircd"}
    for name, targets in graph.items():
        if name.startswith("ircd.commands"):
            assert not targets & wiring, f"{name} imports {sorted(targets & wiring)}"


def test_ircd_never_imports_gateway_or_radio() -> None:
    for module, names in importgraph.imports("ircd").items():
        for name in names:
            assert name.split(".")[0] not in {"gateway", "radio"}, f"{module}: imports {name}"


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

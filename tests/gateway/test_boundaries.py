"""The gateway's structure: no circle of files, the session core below everything else."""

from __future__ import annotations

from tests.importgraph import cycles, graph


def test_no_circle_of_files_in_gateway_or_radio() -> None:
    assert cycles("gateway") == []
    assert cycles("radio") == []


def test_the_session_core_imports_nothing_of_the_gateway_but_callsigns() -> None:
    for module, imported in graph("gateway").items():
        if module.startswith("gateway.session."):
            outside = {m for m in imported if not m.startswith("gateway.session")}
            assert outside <= {"gateway.callsign"}, (module, outside)


def test_nothing_imports_the_top() -> None:
    """`app.py` and `cli/` wire things together; only the command line imports `app`."""
    for module, imported in graph("gateway").items():
        if not module.startswith(("gateway.cli", "gateway.__main__")):
            assert not {m for m in imported if m == "gateway.app" or m.startswith("gateway.cli")}, (
                module
            )

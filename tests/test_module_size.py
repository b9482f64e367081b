"""Small modules (issue 23): no module of the program is over 600 lines.

A module that grows past it is split by what it does (see docs/ARCHITECTURE.md), not
let grow: a new feature lands beside the code it extends, in a module of its own.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 600


def test_no_module_is_over_600_lines() -> None:
    modules = [p for pkg in ("gateway", "ircd", "radio") for p in (ROOT / pkg).rglob("*.py")]
    assert len(modules) > 100  # the packages were found
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
             for p in modules}  # fmt: skip
    assert {path: n for path, n in sizes.items() if n > MAX_LINES} == {}

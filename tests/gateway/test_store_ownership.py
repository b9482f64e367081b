"""Each table of the store is created and queried by one module only.

The owner of a table is the module whose `SCHEMA` creates it (`gateway/store.py`'s
`SCHEMAS`); every SQL string in `gateway/` (read from each module's source, f-strings
included) may name only its own module's tables.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from gateway.config import Config
from gateway.store import SCHEMAS, Store
from tests.importgraph import modules

_CREATE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)")
#: Where SQL names a table (an index's table after ON, PRAGMA table_info's argument).
_NAMED = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN|TABLE|EXISTS|ON)\s+(\w+)|table_info\((\w+)\)")
_SQL = re.compile(r"^\s*(?:--.*\n\s*)*(?:SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|PRAGMA)\b")


def owners() -> dict[str, str]:
    """Table -> the module whose DDL creates it."""
    found: dict[str, str] = {}
    for schema in SCHEMAS:
        for table in _CREATE.findall(schema.ddl):
            assert table not in found, f"{table} created by {found[table]} and {schema.owner}"
            found[table] = schema.owner
    return found


def sql_strings(source: str) -> list[str]:
    """The string literals of `source` that are SQL (an f-string's holes read as `?`)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            parts = [v.value if isinstance(v, ast.Constant) else "?" for v in node.values]
            text = "".join(str(p) for p in parts)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if _SQL.match(text):
            out.append(text)
    return out


def foreign_tables(module: str, source: str, owner_of: dict[str, str]) -> set[str]:
    """Tables of other modules that `module`'s SQL names."""
    named = set()
    for text in sql_strings(source):
        for a, b in _NAMED.findall(text):
            named.add(a or b)
    return {t for t in named if t in owner_of and owner_of[t] != module}


def test_every_table_has_one_owner(tmp_path: Path) -> None:
    store = Store.open(Config(data_dir=tmp_path / "data"))
    try:
        rows = store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = {str(r[0]) for r in rows} - {"sqlite_sequence"}
    finally:
        store.close()
    assert set(owners()) == tables
    assert len(tables) >= 17
    assert owners()["settings"] == "gateway.settingstore"
    assert owners()["mailbox"] == "gateway.chatstore"


def test_no_module_formats_sql_over_a_table_it_does_not_own() -> None:
    owner_of = owners()
    crossings = {}
    for module, path in modules("gateway").items():
        foreign = foreign_tables(module, Path(path).read_text(encoding="utf-8"), owner_of)
        if foreign:
            crossings[module] = foreign
    assert crossings == {}


def test_the_check_finds_a_crossing() -> None:
    """The check itself: SQL over another module's table, plain or formatted, is found."""
    owner_of = owners()
    source = (
        'db.execute("DELETE FROM settings WHERE key = ?", (k,))\n'
        'db.execute(f"SELECT count(*) FROM {t} JOIN users u ON u.callsign = x")\n'
        '"""A docstring that mentions users FROM the text is not SQL."""\n'
    )
    assert foreign_tables("gateway.auth.admin", source, owner_of) == {"settings", "users"}
    assert foreign_tables("gateway.settingstore", source, owner_of) == {"users"}

"""The `settings` table: values changed at run time, kept across restarts.

The transmitter switches, operator locks (`auth/admin.py`, `lock:<CALLSIGN>`) and the
`gateway status` snapshot (`health.py`), each under its own key.
"""

from __future__ import annotations

import sqlite3

from gateway.db import Db, Schema

SCHEMA = Schema(
    __name__, "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
)


def get_setting(store: Db, key: str) -> str | None:
    return read_setting(store.db, key)


def read_setting(conn: sqlite3.Connection, key: str) -> str | None:
    """One value over any connection (`gateway status` reads the store read-only)."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row else None


def set_setting(store: Db, key: str, value: str) -> None:
    store.db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, value))


def delete_setting(store: Db, key: str) -> bool:
    cur = store.db.execute("DELETE FROM settings WHERE key = ?", (key,))
    return cur.rowcount > 0


def with_prefix(store: Db, prefix: str) -> list[tuple[str, str]]:
    """(key, value) of the settings whose key starts with `prefix` (no `%` or `_` in it)."""
    rows = store.db.execute("SELECT key, value FROM settings WHERE key LIKE ?", (prefix + "%",))
    return [(str(k), str(v)) for k, v in rows.fetchall()]


def delete_settings(store: Db, keys: list[str]) -> None:
    store.db.executemany("DELETE FROM settings WHERE key = ?", [(k,) for k in keys])

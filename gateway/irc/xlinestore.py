"""The `xlines` table: the embedded IRC server's K/G/Z-lines, kept across restarts."""

from __future__ import annotations

from gateway.db import Db, Schema

SCHEMA = Schema(
    __name__,
    """
CREATE TABLE IF NOT EXISTS xlines (
    kind   TEXT NOT NULL,
    mask   TEXT NOT NULL,
    reason TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at REAL NOT NULL,
    expires REAL,
    PRIMARY KEY (kind, mask)
);
""",
)


def xlines(store: Db) -> list[tuple[str, str, str, str, float, float | None]]:
    return list(
        store.db.execute(
            "SELECT kind, mask, reason, set_by, set_at, expires FROM xlines ORDER BY set_at"
        )
    )


def put_xline(
    store: Db, kind: str, mask: str, reason: str, set_by: str, set_at: float, expires: float | None
) -> None:
    with store.transaction():
        store.db.execute(
            "INSERT OR REPLACE INTO xlines VALUES (?, ?, ?, ?, ?, ?)",
            (kind, mask, reason, set_by, set_at, expires),
        )


def delete_xline(store: Db, kind: str, mask: str) -> bool:
    """Forget a line; False if there was none."""
    with store.transaction():
        cursor = store.db.execute("DELETE FROM xlines WHERE kind = ? AND mask = ?", (kind, mask))
    return cursor.rowcount > 0

"""The audit trail: who did what, from where, when, and the result.

Every operator action on IRC (`RADIO ...`, KILL, K/G/Z-lines set and removed, REHASH
with its outcome, DIE), every enrollment, revocation, unlock, credential, ban removal
and transmitter switch from the console, and a radio user's `/NOTME` is one row in the
store. Rows older than
`MAX_AGE` go at each prune, and there are never more than `MAX_ROWS`, so the table
stays bounded whatever an operator does. Listed by `gateway audit [--since]` and by
`RADIO AUDIT`.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.db import Db, Schema

MAX_AGE = 365 * 86400.0
MAX_ROWS = 100_000
MAX_FIELD = 300

SCHEMA = Schema(
    __name__,
    """
CREATE TABLE IF NOT EXISTS audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     REAL NOT NULL,
    who    TEXT NOT NULL,
    source TEXT NOT NULL,
    action TEXT NOT NULL,
    result TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
""",
)


@dataclass(frozen=True, slots=True)
class Entry:
    at: float
    who: str  # "irc:<nick> (oper <name>)" or "console:<user>"
    source: str  # the address or terminal it came from
    action: str
    result: str


def record(store: Db, entry: Entry) -> None:
    fields = [str(f)[:MAX_FIELD] for f in (entry.who, entry.source, entry.action, entry.result)]
    with store.transaction():
        store.db.execute(
            "INSERT INTO audit (at, who, source, action, result) VALUES (?, ?, ?, ?, ?)",
            (entry.at, *fields),
        )
        store.db.execute(
            "DELETE FROM audit WHERE id <= (SELECT max(id) FROM audit) - ?", (MAX_ROWS,)
        )


def since(store: Db, start: float, limit: int = 1000) -> list[Entry]:
    """Entries at or after `start`, oldest first (the newest `limit` of them)."""
    rows = store.db.execute(
        "SELECT at, who, source, action, result FROM audit WHERE at >= ? ORDER BY id DESC LIMIT ?",
        (start, limit),
    ).fetchall()
    return [Entry(*row) for row in reversed(rows)]


def prune(store: Db, now: float) -> None:
    with store.transaction():
        store.db.execute("DELETE FROM audit WHERE at < ?", (now - MAX_AGE,))

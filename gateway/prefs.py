"""A radio user's own settings, kept across logins: /STAMP, /ALERT, /HISTORY, /SHOWNAMES.

The `user_prefs` table: one row per base callsign and setting; only the keys below are
stored, with values the session core has already bounded, and a revoked callsign's rows
go with it (`Store.delete_user`). Used by the bridge (`bridge/hub.py`,
`bridge/session.py`); below the store, as `chatstore.py` is.
"""

from __future__ import annotations

from gateway.db import Db, Schema

#: The settings a user may keep (`gateway/session/chatcommands.py` sets them).
KEYS = frozenset({"stamp", "alert", "history", "shownames"})

SCHEMA = Schema(
    __name__,
    """
CREATE TABLE IF NOT EXISTS user_prefs (
    callsign TEXT NOT NULL,             -- base callsign
    key      TEXT NOT NULL,
    value    INTEGER NOT NULL,
    PRIMARY KEY (callsign, key)
);
""",
)


def load(store: Db, callsign: str) -> dict[str, int]:
    rows = store.db.execute(
        "SELECT key, value FROM user_prefs WHERE callsign = ?", (callsign,)
    ).fetchall()
    return {str(key): int(value) for key, value in rows if key in KEYS}


def save(store: Db, callsign: str, key: str, value: int) -> None:
    if key not in KEYS:
        raise ValueError(f"not a user setting: {key}")
    with store.transaction():
        store.db.execute(
            "INSERT OR REPLACE INTO user_prefs VALUES (?, ?, ?)", (callsign, key, value)
        )


def forget(store: Db, callsign: str) -> None:
    """A revoked callsign (`Store.delete_user`, inside its transaction)."""
    store.db.execute("DELETE FROM user_prefs WHERE callsign = ?", (callsign,))

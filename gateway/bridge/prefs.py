"""A radio user's own settings, kept across logins: /STAMP, /ALERT, /HISTORY.

One row per base callsign and setting; only the keys below are stored, with values the
session core has already bounded, and a revoked callsign's rows go with it
(`Store.delete_user`).
"""

from __future__ import annotations

from gateway.store import Store

#: The settings a user may keep (`gateway/session/chatcommands.py` sets them).
KEYS = frozenset({"stamp", "alert", "history"})


def load(store: Store, callsign: str) -> dict[str, int]:
    rows = store.db.execute(
        "SELECT key, value FROM user_prefs WHERE callsign = ?", (callsign,)
    ).fetchall()
    return {str(key): int(value) for key, value in rows if key in KEYS}


def save(store: Store, callsign: str, key: str, value: int) -> None:
    if key not in KEYS:
        raise ValueError(f"not a user setting: {key}")
    with store.transaction():
        store.db.execute(
            "INSERT OR REPLACE INTO user_prefs VALUES (?, ?, ?)", (callsign, key, value)
        )

"""What the owner of a callsign is told at the next login from home.

Two events are kept for the owner: a good login from a source the callsign had never
logged in from, and a code refused off the air while the callsign was logging in on
the air (a code heard on air and tried elsewhere). The owner reads them at the next
radio login from a familiar source, where a thief who logged in elsewhere cannot read
them first. At most `KEEP` per callsign, the latest; the text names where (never a
code) and is 7-bit, for the air.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gateway.auth import audit, penaltystore, users
from gateway.db import Db, Schema

#: Notes kept per callsign and kind (a burst of tried codes does not push out a login
#: from a new place); older than MAX_AGE they go.
KEEP = 4
MAX_AGE = 90 * 86400.0
#: Said after the notes: one command undoes what a thief could have gained.
NOT_ME_HINT = "Not you? /NO"
#: Kinds of note.
NEW_SOURCE = "new"
TRIED_OFF_AIR = "tried"

SCHEMA = Schema(
    __name__,
    """
-- For the owner's next login from home (gateway/auth/loginnotes.py).
CREATE TABLE IF NOT EXISTS login_notes (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    callsign TEXT NOT NULL,
    at       REAL NOT NULL,
    kind     TEXT NOT NULL,            -- 'new' or 'tried'
    source   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_notes_callsign ON login_notes (callsign, id);
""",
)


@dataclass(frozen=True, slots=True)
class Note:
    at: float
    kind: str
    source: str

    @property
    def text(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(self.at))
        where = describe(self.source)
        if self.kind == NEW_SOURCE:
            return f"New login as you with a code {where} at {when}."
        return f"A code for you was tried {where} at {when}, while you logged in on air; refused."


def add(store: Db, callsign: str, kind: str, source: str, now: float) -> None:
    """Keep one note; past KEEP for the callsign the oldest go."""
    store.db.execute(
        "INSERT INTO login_notes (callsign, at, kind, source) VALUES (?, ?, ?, ?)",
        (callsign, now, kind, source),
    )
    store.db.execute(
        "DELETE FROM login_notes WHERE callsign = ? AND kind = ? AND id NOT IN ("
        " SELECT id FROM login_notes WHERE callsign = ? AND kind = ? ORDER BY id DESC LIMIT ?)",
        (callsign, kind, callsign, kind, KEEP),
    )


def prune(store: Db, now: float) -> None:
    store.db.execute("DELETE FROM login_notes WHERE at < ?", (now - MAX_AGE,))


def pending(store: Db, callsign: str) -> list[Note]:
    rows = store.db.execute(
        "SELECT at, kind, source FROM login_notes WHERE callsign = ? ORDER BY id", (callsign,)
    )
    return [Note(float(at), str(kind), str(source)) for at, kind, source in rows]


def take(store: Db, callsign: str) -> list[Note]:
    """The callsign's notes, removed: each is told once."""
    with store.transaction():
        notes = pending(store, callsign)
        store.db.execute("DELETE FROM login_notes WHERE callsign = ?", (callsign,))
    return notes


def not_me(store: Db, callsign: str, now: float, here: str) -> int:
    """The owner, logged in from `here`, says a login it was told of was not its own:
    codes stop logging in on IRC (the store watch then ends those logins,
    `credentials.login_state`), and every other source is forgotten, earned or not, so
    none of a thief's keeps or earns a place (the owner's other homes earn theirs
    again). Returns how many were forgotten; the audit trail keeps it."""
    with store.transaction():
        users.set_irc_codes(store, callsign, False)
        forgotten = penaltystore.forget_all_but(store, callsign, here)
    audit.record(
        store,
        audit.Entry(now, f"radio:{callsign}", "on air", f"notme {callsign}",
                    f"codes off IRC, {forgotten} source(s) forgotten"),
    )  # fmt: skip
    return forgotten


def forget(store: Db, callsign: str) -> None:
    """A revoked callsign (`Store.delete_user`, inside its transaction)."""
    store.db.execute("DELETE FROM login_notes WHERE callsign = ?", (callsign,))


def describe(source: str) -> str:
    """A source as a person reads it: `from IRC at 192.0.2.7`, `via node bpq`."""
    kind, _, rest = source.partition(":")
    if kind == "irc":
        addr = rest.rpartition(":ip:")[2]
        return f"from IRC at {addr}" if addr else "from IRC"
    if kind == "telnet":
        label, _, tail = rest.partition(":")
        how, _, what = tail.partition(":")
        return f"via node {label}" if how == "call" else f"from {what} (telnet {label})"
    if kind == "ax25":
        port, _, tail = rest.partition(":")
        path = tail.partition(":call:")[0]
        return f"on radio port {port}" + ("" if path in ("", "direct") else f" via {path}")
    return f"from {source}"

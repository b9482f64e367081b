"""MQTT's durable side in the store: events the broker has not acknowledged, sessions open.

The MQTT link (mqtt.py) keeps its queue in memory and mirrors it here, in batches on the
store's thread, so that events survive a gateway restart (or a crash) while the broker
is away and go out at the next connection: at least once (an event acknowledged just
before a crash, its deletion not yet written, goes out again). Bounded like the queue:
past `bound` rows the oldest go, and the count of those dropped is kept with them (and
the logins of the day, for Home Assistant's count).

A radio session started and not ended has a row too: what is left at the next start is
a session a crash (kill -9, power) ended, and the link publishes its `session_end` then.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.db import Db, Schema

#: Open sessions kept at most (a session's row lives as long as the session; this only
#: bounds a store that collected the leftovers of crashes with MQTT turned off since).
SESSIONS_MAX = 1000
#: What an op does: keep an event, forget a sent one, open or close a session.
EVENT, SENT, OPEN, CLOSE = "event", "sent", "open", "close"

SCHEMA = Schema(
    __name__,
    """
-- Gateway events the MQTT broker has not yet acknowledged (gateway/events/outbox.py).
CREATE TABLE IF NOT EXISTS mqtt_outbox (
    id      INTEGER PRIMARY KEY,       -- the link's sequence: the order they go out in
    kind    TEXT NOT NULL,
    payload TEXT NOT NULL              -- the event's JSON, as published
);
-- Radio sessions started and not ended: at a start, those a crash ended.
CREATE TABLE IF NOT EXISTS mqtt_open_sessions (
    id       INTEGER PRIMARY KEY,
    callsign TEXT NOT NULL,
    fields   TEXT NOT NULL             -- the session_start's fields (JSON)
);
-- The link's counters that outlive it: events dropped and not yet reported, logins today.
CREATE TABLE IF NOT EXISTS mqtt_counts (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
""",
)


@dataclass(frozen=True, slots=True)
class Op:
    """One change, applied in order: `what` is EVENT (id, kind, text: the JSON), SENT
    (id), OPEN (id, kind: the callsign, text: its fields) or CLOSE (kind: the callsign)."""

    what: str
    id: int = 0
    kind: str = ""
    text: str = ""


@dataclass(frozen=True, slots=True)
class Kept:
    """What a start finds: events to publish, sessions a crash ended, the dropped count."""

    events: list[tuple[int, str, str]]
    sessions: list[tuple[int, str]]  # (id, the session_start's payload as JSON)
    counts: dict[str, int]  # `dropped` includes the events past `bound`
    last_id: int


def write(store: Db, ops: list[Op], bound: int, counts: dict[str, int]) -> None:
    """Apply `ops` in one transaction; keep the newest `bound` events and the `counts`
    (a few fixed names: `dropped`, and the logins of the day)."""
    db = store.db
    with store.transaction():
        for op in ops:
            if op.what == EVENT:
                db.execute(
                    "INSERT OR REPLACE INTO mqtt_outbox (id, kind, payload) VALUES (?, ?, ?)",
                    (op.id, op.kind, op.text),
                )
            elif op.what == SENT:
                db.execute("DELETE FROM mqtt_outbox WHERE id = ?", (op.id,))
            elif op.what == OPEN:
                db.execute(
                    "INSERT OR REPLACE INTO mqtt_open_sessions (id, callsign, fields)"
                    " VALUES (?, ?, ?)",
                    (op.id, op.kind, op.text),
                )
            elif op.what == CLOSE:  # the oldest: a session taken over ends after the new one starts
                db.execute(
                    "DELETE FROM mqtt_open_sessions WHERE id = (SELECT min(id) FROM"
                    " mqtt_open_sessions WHERE callsign = ?)",
                    (op.kind,),
                )
        # Below the `bound`-th newest id (none: fewer rows, and `id < NULL` keeps all);
        # the key's index walks `bound` rows, not the table.
        db.execute(
            "DELETE FROM mqtt_outbox WHERE id < (SELECT id FROM mqtt_outbox"
            " ORDER BY id DESC LIMIT 1 OFFSET ?)",
            (bound - 1,),
        )
        db.execute(
            "DELETE FROM mqtt_open_sessions WHERE id < (SELECT id FROM mqtt_open_sessions"
            " ORDER BY id DESC LIMIT 1 OFFSET ?)",
            (SESSIONS_MAX - 1,),
        )
        db.executemany(
            "INSERT OR REPLACE INTO mqtt_counts (key, value) VALUES (?, ?)", counts.items()
        )


def load(store: Db, bound: int) -> Kept:
    """What the last run left: the newest `bound` events, the open sessions, the count."""
    db = store.db
    events = db.execute(
        "SELECT id, kind, payload FROM (SELECT id, kind, payload FROM mqtt_outbox"
        " ORDER BY id DESC LIMIT ?) ORDER BY id",
        (bound,),
    ).fetchall()
    sessions = db.execute("SELECT id, fields FROM mqtt_open_sessions ORDER BY id").fetchall()
    counts = {str(k): int(v) for k, v in db.execute("SELECT key, value FROM mqtt_counts")}
    outbox_max, outbox_count = db.execute(
        "SELECT coalesce(max(id), 0), count(*) FROM mqtt_outbox"
    ).fetchone()
    (sessions_max,) = db.execute("SELECT coalesce(max(id), 0) FROM mqtt_open_sessions").fetchone()
    counts["dropped"] = counts.get("dropped", 0) + max(0, int(outbox_count) - bound)
    return Kept(
        events=[(int(i), str(k), str(p)) for i, k, p in events],
        sessions=[(int(i), str(f)) for i, f in sessions],
        counts=counts,
        last_id=max(int(outbox_max), int(sessions_max)),
    )
